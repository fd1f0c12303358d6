"""The simulation's modules import each other without a cycle, counting imports made only for
type checking (``if TYPE_CHECKING:``) and imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import golemsim.sim

SIM = Path(golemsim.sim.__file__).parent
PACKAGE = "golemsim.sim"


def sim_imports(path: Path, modules: set[str]) -> set[str]:
    """The golemsim.sim modules that the module at ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = f"{PACKAGE}.{node.module}" if node.module else PACKAGE
            elif node.level == 0 and node.module:
                base = node.module
            else:
                continue  # above the package: not a sim module
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]  # from . import x: x is a module
        else:
            continue
        found.update(name.removeprefix(f"{PACKAGE}.") for name in names if name.removeprefix(f"{PACKAGE}.") in modules)
    return found - {path.stem}


def import_graph() -> dict[str, set[str]]:
    """Each sim module (its package __init__ left out: it only re-exports) to the sim modules it imports."""
    paths = {p.stem: p for p in sorted(SIM.glob("*.py")) if p.stem != "__init__"}
    return {name: sim_imports(path, set(paths)) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            cycle = visit(imported)
            if cycle is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle is not None:
            return cycle
    return None


def test_the_graph_sees_type_checking_imports() -> None:
    graph = import_graph()
    assert "baton" in graph["sim_environment"]
    assert len(graph) > 20


def test_sim_imports_have_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "golemsim.sim imports in a circle: " + " -> ".join(cycle or [])


def test_find_cycle_reports_the_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_shared_world_imports_only_modules_that_import_no_other() -> None:
    graph = import_graph()
    above = {module: sorted(graph[module]) for module in graph["world"] if graph[module]}
    assert not above, f"golemsim.sim.world imports modules that import others: {above}"
