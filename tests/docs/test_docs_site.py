"""The docs site (mkdocs.yml, docs/): every tutorial notebook is in its navigation, the README stays short and
points to it, and `mkdocs build --strict` builds it from the repository with every notebook rendered with its
committed outputs, a "launch on Binder" link on every page and previous/next links between pages.

The build takes about 15 s (mkdocs-jupyter converts eight notebooks), so it is marked slow; the navigation and
README checks are quick. A missing mkdocs skips the build, but fails it under CI (CI=true), where .ci/setup.sh
installs the `docs` extra."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DOCS = ROOT / "docs"
BINDER = "https://mybinder.org/v2/gh/golemsim/golemsim/HEAD?urlpath=lab"


def nav_entries(nav: object) -> list[str]:
    """Every file named in mkdocs.yml's nav, in order (sections flattened)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [entry for item in nav for entry in nav_entries(item)]
    if isinstance(nav, dict):
        return [entry for value in nav.values() for entry in nav_entries(value)]
    raise AssertionError(f"unexpected nav item {nav!r}")


def config() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_notebook_is_in_the_nav() -> None:
    assert len(NOTEBOOKS) >= 8
    nav = nav_entries(config()["nav"])
    missing = [nb.name for nb in NOTEBOOKS if f"notebooks/{nb.name}" not in nav]
    assert not missing, f"add these notebooks to mkdocs.yml's nav (under Tutorials): {missing}"


def test_every_nav_entry_exists_and_every_page_is_in_the_nav() -> None:
    nav = nav_entries(config()["nav"])
    assert nav[0] == "index.md"
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    for entry in nav:
        where = ROOT / entry if entry.startswith("notebooks/") else DOCS / entry
        assert where.is_file(), f"mkdocs.yml's nav names {entry}, which does not exist"
    pages = {page.relative_to(DOCS).as_posix() for page in DOCS.rglob("*.md")}
    assert pages <= set(nav), f"docs pages missing from the nav: {sorted(pages - set(nav))}"


def test_the_build_fetches_nothing_and_renders_without_running() -> None:
    loaded = config()
    theme = loaded["theme"]
    assert isinstance(theme, dict) and theme["font"] is False, "Material's Google fonts are fetched at build time"
    assert "navigation.footer" in theme["features"]
    plugins = loaded["plugins"]
    assert isinstance(plugins, list)
    names = [next(iter(p)) if isinstance(p, dict) else p for p in plugins]
    assert "social" not in names and "privacy" not in names, "these plugins download at build time"
    jupyter = next(p["mkdocs-jupyter"] for p in plugins if isinstance(p, dict) and "mkdocs-jupyter" in p)
    assert jupyter["execute"] is False


def test_the_readme_is_short_and_points_to_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines()
    assert len(lines) <= 170, f"the README has {len(lines)} lines: move reference material into docs/"
    assert "bash .ci/main.sh" in readme and "bash .ci/test.sh" in readme
    assert "(docs/index.md)" in readme
    assert "mkdocs build --strict" in readme
    assert "mybinder.org/v2/gh/golemsim/golemsim/HEAD" in readme
    # Every docs page the README links to exists.
    for target in re.findall(r"\]\((docs/[^)#\s]+)", readme):
        assert (ROOT / target).is_file(), f"the README links to {target}, which does not exist"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocs_jupyter") is None:
        reason = "mkdocs and mkdocs-jupyter are missing: `pip install -e '.[docs]'` (bash .ci/setup.sh does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must build the docs")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out), "-f", str(ROOT / "mkdocs.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    assert "WARNING" not in build.stderr, build.stderr
    return out


def page_html(site: Path, src: str) -> str:
    """The built HTML of a nav entry (use_directory_urls: docs/tour.md is tour/index.html)."""
    stem = src.removesuffix(".md").removesuffix(".ipynb")
    path = site / "index.html" if stem == "index" else site / stem / "index.html"
    assert path.is_file(), f"{src} was not built to {path.relative_to(site)}"
    return path.read_text()


@pytest.mark.slow
def test_the_site_has_an_index_and_a_page_per_notebook_with_its_outputs(site: Path) -> None:
    index = (site / "index.html").read_text()
    for notebook in NOTEBOOKS:
        # The index links to every tutorial (through the navigation).
        assert f'href="notebooks/{notebook.stem}/"' in index, notebook.name
        html = page_html(site, f"notebooks/{notebook.name}")
        assert "jp-OutputArea-output" in html, f"{notebook.name} was rendered without its outputs"
        committed = notebook.read_text()
        if '"image/png"' in committed:
            assert '<img alt="No description has been provided for this image"' in html or (
                'src="data:image/png;base64,' in html
            ), f"{notebook.name}'s plots are missing"
    # Rendered, not executed: no notebook became a failed run, and nothing was written beside them.
    assert not (ROOT / ".cache" / "mkdocs-jupyter").exists()


@pytest.mark.slow
def test_every_page_has_a_binder_link_and_previous_next_links(site: Path) -> None:
    nav = nav_entries(config()["nav"])
    for number, entry in enumerate(nav):
        html = page_html(site, entry)
        if entry.startswith("notebooks/"):
            assert f'href="{BINDER}/tree/{entry}"' in html, f"{entry} has no Binder link to itself"
        else:
            assert f'href="{BINDER}"' in html, f"{entry} has no Binder link"
        has_previous = "md-footer__link--prev" in html
        has_next = "md-footer__link--next" in html
        assert has_previous == (number > 0), f"{entry}: previous link"
        assert has_next == (number < len(nav) - 1), f"{entry}: next link"
