"""MkDocs hooks of the docs site (mkdocs.yml names this file under `hooks:`).

- The tutorial notebooks stay where they are, in notebooks/ at the repository root: `on_files` adds every
  notebooks/*.ipynb to the site's files (as notebooks/<name>.ipynb, so the page is notebooks/<name>/), before
  mkdocs-jupyter's own `on_files` wraps them as pages. They are rendered with their committed outputs, never run.
- A widget's output is rendered by its committed fallback (the PNG, HTML or text that golemsim's widgets put in
  their display bundle): a static page has no kernel to draw the live view. So mkdocs-jupyter reads a copy of
  each notebook, in a temporary folder, with the widget views taken out of the outputs that have a fallback;
  the notebooks themselves are not touched.
- Every page starts with a "launch on Binder" link: a notebook opens itself in JupyterLab on Binder, any
  other page opens the repository's root in JupyterLab.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

# The repository is assumed to live at github.com/golemsim/golemsim, as the README's Binder badge does.
BINDER = "https://mybinder.org/v2/gh/golemsim/golemsim/HEAD"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

_copies: list[Path] = []  # the temporary folders of this process's builds (one per build under `mkdocs serve`)


def repo_root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def notebooks(config: Any) -> list[Path]:
    """The tutorials: notebooks/*.ipynb (not notebooks/solutions/ nor the reader's notebooks/my-worker/)."""
    return sorted((repo_root(config) / "notebooks").glob("*.ipynb"))


def static_outputs(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook with each widget output shown by its fallback (another MIME type of the same output)."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
    notebook.get("metadata", {}).pop("widgets", None)  # the saved widget state: no views left to draw
    return notebook


def _remove_copies() -> None:
    while _copies:
        shutil.rmtree(_copies.pop(), ignore_errors=True)


@event_priority(100)  # before mkdocs-jupyter (priority 0), which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    _remove_copies()
    copies = Path(tempfile.mkdtemp(prefix="golemsim-docs-notebooks-"))
    _copies.append(copies)
    root = repo_root(config)
    for notebook in notebooks(config):
        uri = notebook.relative_to(root).as_posix()
        if files.get_file_from_path(uri) is not None:
            continue
        copy = copies / uri
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(json.dumps(static_outputs(json.loads(notebook.read_text(encoding="utf-8")))), encoding="utf-8")
        files.append(File(uri, str(copies), config["site_dir"], config["use_directory_urls"]))
    return files


def on_post_build(config: Any) -> None:
    _remove_copies()


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    for notebook in notebooks(config):  # `mkdocs serve` rebuilds when a notebook changes, too
        server.watch(str(notebook))
    return server


def binder_url(page: Page) -> str:
    if page.file.src_uri.startswith("notebooks/") and page.file.src_uri.endswith(".ipynb"):
        return f"{BINDER}?urlpath=lab/tree/{page.file.src_uri}"
    return f"{BINDER}?urlpath=lab"


def on_page_content(html: str, page: Page, config: Any, files: Files) -> str:
    url = escape(binder_url(page), quote=True)
    what = "this notebook" if page.file.src_uri.endswith(".ipynb") else "the repository in JupyterLab"
    link = (
        f'<p class="binder-link"><a href="{url}" title="Launch {what} on Binder">'
        f'<img src="{BINDER_BADGE}" alt="Launch on Binder"></a></p>\n'
    )
    return link + html
