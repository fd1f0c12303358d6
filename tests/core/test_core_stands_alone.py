"""The core stands alone: golemsim.core imports neither SimPy nor a widget or plotting library,
at import time or inside a function (read from its sources), and importing golemsim loads none."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import golemsim.core

FORBIDDEN = ("simpy", "ipywidgets", "anywidget", "IPython", "matplotlib", "networkx", "traitlets")


def _imported(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_core_module_imports_simpy_or_a_widget_library() -> None:
    core = Path(golemsim.core.__file__).parent
    found = {
        str(path.relative_to(core)): sorted(_imported(path) & set(FORBIDDEN)) for path in sorted(core.rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_importing_golemsim_loads_none_of_them() -> None:
    code = "import sys, golemsim; print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))"
    run = subprocess.run([sys.executable, "-c", code, *FORBIDDEN], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
