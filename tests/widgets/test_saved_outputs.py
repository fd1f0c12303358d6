"""A notebook saved after a run shows each view's final state where the view was displayed, for
viewers without widgets (GitHub, a docs site), and still passes nbval: a real kernel runs a notebook
(nbclient) that displays the views before a run and after it; then nbval runs the saved notebook.

Views displayed before the run keep the text they were displayed with (nbval applies no display
updates, so it compares that text) and get a PNG of their final state when the run ends (nbval
never compares PNG); a view displayed after its run has its final text and HTML.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

SETUP = '''
from golemsim.sim import parse_experiment
from golemsim.widgets import ClusterView, OplogView, RecoveryProgress, run_live, start_live

EXPERIMENT = """
name: checkouts with a crash
app: checkout
store: memory
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05}
workload: {mode: open, rate: 30, operations: 60, keys: 60, timeout: 5, retries: 0}
faults:
  - {at: 0.8, kind: crash, target: node-1, duration: 1}
"""
cluster, progress, oplog = ClusterView(), RecoveryProgress(), OplogView()
display(cluster, progress, oplog)
'''
RUN = "result = run_live(parse_experiment(EXPERIMENT), cluster, progress, oplog, seed=2)\nprint(result.valid)"
TEXTS = "for view in (cluster, progress, oplog):\n    print(view.to_text())\n    print('----')"
AFTER = "oplog"
WIDGET = "application/vnd.jupyter.widget-view+json"


RUN_ON_A_THREAD = (
    "live = start_live(parse_experiment(EXPERIMENT), cluster, progress, oplog, seed=2)\n"
    "result = live.wait(timeout=300)\nprint(result.valid)"
)


@pytest.mark.slow  # a real kernel or subprocesses: kept out of the quick loop
@pytest.mark.parametrize("run", [RUN, RUN_ON_A_THREAD], ids=["in-the-cell", "on-a-thread"])
def test_views_displayed_before_a_run_are_saved_with_a_picture_of_their_final_state(tmp_path: Path, run: str) -> None:
    """In the cell (run_live) or on a background thread (start_live: the picture is sent from it)."""
    cells = [nbformat.v4.new_code_cell(c) for c in (SETUP, run, TEXTS, AFTER)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)

    displayed, ran, texts, after = (cell.outputs for cell in notebook.cells)
    assert [o.output_type for o in ran] == ["stream"] and ran[0].text == "True\n"
    assert [o.output_type for o in displayed] == ["display_data"] * 3
    for output in displayed:
        assert WIDGET in output.data, "the live widget is still there"
        picture = base64.b64decode(output.data["image/png"])
        assert picture.startswith(b"\x89PNG") and output.metadata["image/png"]["width"] > 100
        assert "text/html" not in output.data, "GitHub and docs sites show the picture, not an HTML of before"
    cluster, progress, oplog = (o.data["text/plain"] for o in displayed)
    assert cluster.startswith("Cluster at t=0 s: 0 nodes") and progress.startswith("No worker has been rebuilt")
    assert oplog == "Oplog of (no worker yet): 0 entries", "the text is the one displayed (nbval compares it)"

    [shown] = after
    final_oplog = texts[0].text.split("----\n")[2]
    assert shown.data["text/plain"] + "\n" == final_oplog and "crash cut after #" in final_oplog
    assert "replay took over" in shown.data["text/html"] and WIDGET in shown.data

    nbval = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env"]
    run = subprocess.run([*nbval, saved.name], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
