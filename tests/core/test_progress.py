"""Long steps: a logger line outside a kernel; in a real Jupyter kernel, a widget bar that ends saying how the step
went and leaves no text output behind (a notebook's text outputs must not depend on whether the caches were warm)."""

from __future__ import annotations

import logging
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from golemsim.core.progress import long_step
from golemsim.kernel_progress import WIDGET_VIEW, in_kernel

STEPS = [
    "import time\n"
    "from golemsim.core.progress import long_step\n"
    "from golemsim.kernel_progress import in_kernel\n"
    "print(in_kernel())\n"
    "with long_step('sleeping a while', (1, 2)):\n"
    "    time.sleep(1.2)",
    "try:\n"
    "    with long_step('failing at once', (1, 2)):\n"
    "        raise ValueError('boom')\n"
    "except ValueError:\n"
    "    print('raised')",
]


def test_outside_a_kernel_a_long_step_is_one_logger_line(caplog: pytest.LogCaptureFixture) -> None:
    assert not in_kernel()
    with caplog.at_level(logging.INFO, logger="golemsim.progress"), long_step("building template x", (10, 25)):
        pass
    assert [r.getMessage() for r in caplog.records] == ["building template x (10-25 s; cached afterwards) ..."]


def _widget_states(notebook: Any) -> list[dict[str, Any]]:
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [model["state"] for model in state.values()]


@pytest.mark.slow  # a real kernel or subprocesses: kept out of the quick loop
def test_in_a_kernel_a_long_step_is_a_widget_bar_and_no_text() -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in STEPS])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()

    for cell, printed in zip(notebook.cells, ["True\n", "raised\n"], strict=True):
        streams = [o for o in cell.outputs if o.output_type == "stream"]
        displays = [o for o in cell.outputs if o.output_type == "display_data"]
        assert [o.text for o in streams] == [printed], cell.outputs
        assert [set(o.data) for o in displays] == [{WIDGET_VIEW}], "one bar, shown as a widget only (no text/plain)"
    states = _widget_states(notebook)
    labels = [s["value"] for s in states if s.get("_model_name") == "LabelModel"]
    bars = [(s["value"], s["bar_style"]) for s in states if s.get("_model_name") == "FloatProgressModel"]
    assert len(labels) == 2 and labels[0].startswith("sleeping a while: done in 1.")
    assert labels[1].startswith("failing at once: failed in 0.")
    assert sorted(bars) == [(1.0, "danger"), (1.0, "success")]
