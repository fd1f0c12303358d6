"""The notebook widgets, rendered for real: JupyterLab in headless Chromium (Debian's, driven by
Playwright), a tutorial notebook run from the Run menu, and clicks whose answers are computed in the
kernel (a click sets the ``selected`` traitlet, the kernel sets ``detail``, the page shows it).

Needs /usr/bin/chromium (``.ci/setup.sh`` installs it when it can): without it the test skips, except
under CI (CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright
from support import ROOT, copy_repository

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]
NOTEBOOK = "02-durable-checkout.ipynb"
RUN_TIMEOUT_MS = 120_000
"""How long the notebook may take to show its widgets after Run All Cells."""
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
FALLBACKS = ("OplogView(", "ClusterView(", "Error displaying widget")
"""Text an output shows when a widget did not render: its repr, or JupyterLab's error."""


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium package (bash .ci/setup.sh does, as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the browser test")
    pytest.skip(reason)


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def open(self, page: Page, notebook: str) -> None:
        page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_lab(root: Path, scratch: Path) -> tuple[subprocess.Popen[bytes], Lab]:
    """JupyterLab serving ``root`` with its own config, runtime, settings and workspace folders."""
    settings = scratch / "lab-settings"
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {
        "JUPYTER_CONFIG_DIR": str(scratch / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "jupyter-runtime"),
        "JUPYTER_DATA_DIR": str(scratch / "jupyter-data"),  # no kernelspecs of the user's: the lab's python
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "lab-workspaces"),
        "GOLEMSIM_TEMPLATES": str(ROOT / "templates"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    log = scratch / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", token, root, log)
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2) as answer:
                if answer.status == 200:
                    return process, lab
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_lab(process)
            raise AssertionError(f"JupyterLab did not start (exit {process.returncode}):\n{lab.log_tail()}")
        time.sleep(0.3)


def stop_lab(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    need_chromium()
    notebooks = copy_repository(tmp_path / "repo") / "notebooks"  # beside ../experiments, as in a clone
    if not (notebooks / NOTEBOOK).is_file():
        pytest.skip(f"notebooks/{NOTEBOOK} does not exist yet")
    process, running = start_lab(notebooks, tmp_path)
    try:
        yield running
    finally:
        stop_lab(process)


KERNEL_READY = """() => document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']") !== null
    && [...document.querySelectorAll(".jp-StatusBar-TextItem")]
        .some((item) => / [|] Idle$/.test(item.textContent) && !item.textContent.startsWith("No Kernel"))"""
"""The notebook's kernel is connected and idle. The execution indicator alone says idle while the status bar
still says "No Kernel | Initializing", and a Run All then opens JupyterLab's "Select Kernel" dialog."""


def run_all_cells(page: Page) -> None:
    """Wait for the kernel, then Run → Run All Cells."""
    page.wait_for_function(KERNEL_READY, timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def wait_until_run(page: Page, timeout_ms: int) -> None:
    """Wait until no cell is running or queued (prompts ``[*]``) and the kernel is idle."""
    page.wait_for_function(
        """() => document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']") !== null
              && ![...document.querySelectorAll(".jp-InputPrompt")].some((p) => p.textContent.includes("*"))""",
        timeout=timeout_ms,
    )


def error_outputs(page: Page) -> str:
    texts = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    return "\n".join(texts)[-3000:]


def check_widgets(page: Page, lab: Lab, notebook: str) -> None:
    """Run ``notebook`` in the lab and check its oplog and cluster views (rendered, and answering clicks)."""
    lab.open(page, notebook)
    run_all_cells(page)
    page.wait_for_selector(".golemsim-oplog .golemsim-oplog-entry", timeout=RUN_TIMEOUT_MS)
    wait_until_run(page, 2 * RUN_TIMEOUT_MS)

    shown = page.locator(".jp-OutputArea-output").all_inner_texts()
    fallbacks = [text[:300] for text in shown if any(f in text for f in FALLBACKS)]
    assert not fallbacks, f"outputs show a text fallback instead of the widget: {fallbacks}"

    oplog = page.locator(".golemsim-oplog").first
    entries = oplog.locator(".golemsim-oplog-entry")
    assert entries.count() >= 3, f"the oplog view draws {entries.count()} entries"
    third = entries.nth(2)
    index = third.get_attribute("data-index")
    third.click()
    # The detail is computed in the kernel from the `selected` traitlet the click set.
    expect(oplog.locator(".golemsim-oplog-detail")).to_have_text(re.compile(rf"^#{index} "), timeout=30_000)

    # The oplog marks where a crash cut the log, the entries replay took over and the first new one.
    marks = [entries.nth(n).get_attribute("data-marks") or "" for n in range(entries.count())]
    assert any("replayed" in m for m in marks) and any("resumed" in m for m in marks), marks
    assert oplog.locator(".golemsim-oplog-cut").count() >= 1, marks

    cluster = page.locator(".golemsim-cluster").first
    nodes = cluster.locator(".golemsim-node")
    expect(nodes.first).to_be_visible()
    # The run was valid: no worker is shown in a bad state at its end; the legend says what states mean.
    workers = cluster.locator(".golemsim-worker")
    statuses = {workers.nth(n).get_attribute("data-status") for n in range(workers.count())}
    assert statuses == {"idle"}, statuses
    legend = cluster.locator(".golemsim-legend-item").all_inner_texts()
    assert {"suspended", "recovering", "moving"} <= {text.strip().split()[-1] for text in legend}, legend
    detail = cluster.locator(".golemsim-cluster-detail")
    before = detail.inner_text()
    names = [nodes.nth(n).get_attribute("data-name") or "" for n in range(nodes.count())]
    name = next((name for name in names if name and name not in before), None)
    assert name is not None, f"every node {names} is already in the cluster detail {before!r}"
    cluster.locator(f".golemsim-node[data-name='{name}']").click()
    expect(detail).to_contain_text(name, timeout=30_000)


def browse(lab: Lab, notebook: str, screenshot: Path) -> None:
    """Open ``notebook`` in headless Chromium and check its widgets; on failure save a screenshot."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                check_widgets(page, lab, notebook)
            except (AssertionError, PlaywrightError) as failure:
                try:
                    page.screenshot(path=str(screenshot), full_page=True)
                except PlaywrightError as error:
                    screenshot = Path(f"(none: {error})")
                raise AssertionError(
                    f"{failure}\nscreenshot: {screenshot}\nerror outputs:\n{error_outputs(page)}\n"
                    f"lab log:\n{lab.log_tail()}"
                ) from failure
        finally:
            browser.close()


@pytest.mark.slow
def test_the_oplog_and_cluster_views_render_and_answer_clicks(lab: Lab, tmp_path: Path) -> None:
    browse(lab, NOTEBOOK, tmp_path / "failure.png")
