"""Without an extra, golemsim says which extra to install instead of failing with a bare
ModuleNotFoundError, and what needs no extra works: ``from golemsim import *``, and
``golemsim sim run`` (which then skips its plots and says so).

Each case runs in a real subprocess in which the extra's libraries cannot be imported: a
meta-path finder put first on ``sys.meta_path`` raises ModuleNotFoundError for them. That
finder is a fake of something outside golemsim's boundary (which libraries the environment
has installed); everything of golemsim's runs as it is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WIDGETS_EXTRA = ("ipywidgets", "anywidget", "networkx", "matplotlib")


def without(blocked: tuple[str, ...], code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where the top-level modules ``blocked`` are not installed."""
    prelude = f"""
import sys


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {set(blocked)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.mark.slow  # a real kernel or subprocesses: kept out of the quick loop
@pytest.mark.parametrize("missing", ["ipywidgets", "anywidget", "networkx"])
def test_a_widget_without_the_widgets_extra_names_the_extra(missing: str) -> None:
    for name in ("ClusterView", "OplogView", "ExperimentPanel", "run_live"):
        done = without((missing,), f"from golemsim import {name}")
        assert done.returncode == 1
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("ModuleNotFoundError: golemsim's Jupyter widgets need the widgets extra"), last
        assert f"({missing} is not installed)" in last and "pip install 'golemsim[widgets]'" in last
    done = without((missing,), "import golemsim.widgets")
    assert "pip install 'golemsim[widgets]'" in done.stderr.strip().splitlines()[-1]


def test_star_import_works_without_any_extra() -> None:
    done = without(
        WIDGETS_EXTRA,
        "from golemsim import *\n"
        "import sys\n"
        "print(Executor.__name__, WorkerId.__name__, run_experiment.__name__, 'ClusterView' in dir())\n"
        "print(sorted(m for m in sys.modules if m.partition('.')[0] in {'ipywidgets', 'anywidget', 'matplotlib'}))",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Executor WorkerId run_experiment False", "[]"]


TINY = """\
name: tiny counters
app: counter
store: memory
cluster: {nodes: 3, shards: 6}
workload: {mode: closed, clients: 4, operations: 30, keys: 6}
"""


@pytest.mark.slow
def test_sim_run_without_matplotlib_says_the_plots_were_skipped(tmp_path: Path, counter_wasm: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    done = without(
        ("matplotlib",),
        "import sys\nfrom golemsim.cli import main\nsys.exit(main(['sim', 'run', 'tiny.yaml', '--out', 'out']))",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "**VALID**" in done.stdout and "Traceback" not in done.stderr
    assert "plots skipped: matplotlib is not installed; to draw them: pip install 'golemsim[plots]'" in done.stdout
    assert (tmp_path / "out" / "report.md").is_file() and not (tmp_path / "out" / "plots").exists()
