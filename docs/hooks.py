"""MkDocs hooks of the docs site (mkdocs.yml names this file under `hooks:`).

- The tutorial notebooks stay where they are, in notebooks/ at the repository root: `on_files` adds every
  notebooks/*.ipynb to the site's files (as notebooks/<name>.ipynb, so the page is notebooks/<name>/), before
  mkdocs-jupyter's own `on_files` wraps them as pages. Nothing is copied or linked into docs/.
- Every page starts with a "launch on Binder" link: a notebook opens itself in JupyterLab on Binder, any
  other page opens the repository's root in JupyterLab.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

# The repository is assumed to live at github.com/golemsim/golemsim, as the README's Binder badge does.
BINDER = "https://mybinder.org/v2/gh/golemsim/golemsim/HEAD"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def repo_root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def notebooks(config: Any) -> list[Path]:
    """The tutorials: notebooks/*.ipynb (not notebooks/solutions/ nor the reader's notebooks/my-worker/)."""
    return sorted((repo_root(config) / "notebooks").glob("*.ipynb"))


@event_priority(100)  # before mkdocs-jupyter (priority 0), which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    root = repo_root(config)
    for notebook in notebooks(config):
        uri = notebook.relative_to(root).as_posix()
        if files.get_file_from_path(uri) is None:
            files.append(File(uri, str(root), config["site_dir"], config["use_directory_urls"]))
    return files


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
