"""Running a simulation with views watching it, in the cell (``run_live``) or on a background
thread (``start_live``), so that the kernel stays free while it runs.

    cluster, progress = ClusterView(), RecoveryProgress()
    display(cluster, progress)
    result = run_live(load_experiment("experiments/checkout-crash.yaml"), cluster, progress)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..sim.experiment import Experiment, load_experiment
from ..sim.observe import Observer
from ..sim.runner import Progress, RunResult, run_experiment


class LiveRun:
    """A simulation running on a background thread; its views update as it goes."""

    def __init__(self, target: Callable[[], RunResult]) -> None:
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), name="golemsim-live-run", daemon=True)
        self._thread.start()

    def _run(self, target: Callable[[], RunResult]) -> None:
        try:
            self.result = target()
        except BaseException as error:  # kept for wait(), which raises it where it can be seen
            self.error = error

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> RunResult:
        """The run's result, once it is over (raises what the run raised)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the run is still going after {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def as_experiment(experiment: Experiment | str | Path) -> Experiment:
    """An experiment object as it is, or the experiment file at that path (shipped app or your own)."""
    return experiment if isinstance(experiment, Experiment) else load_experiment(experiment)


def run_live(
    experiment: Experiment | str | Path,
    *views: Observer,
    seed: int | None = None,
    out: Path | None = None,
    variant: str = "workers",
    progress: Progress | None = None,
) -> RunResult:
    """Run ``experiment`` (an Experiment or an experiment file's path) in this cell with
    ``views`` watching; they update while it runs."""
    return run_experiment(
        as_experiment(experiment), seed=seed, out=out, variant=variant, progress=progress, observers=views
    )


def start_live(
    experiment: Experiment | str | Path,
    *views: Observer,
    seed: int | None = None,
    out: Path | None = None,
    variant: str = "workers",
    progress: Progress | None = None,
) -> LiveRun:
    """Start ``experiment`` on a background thread with ``views`` watching, and return at once:
    the kernel stays free (other cells run, buttons answer) while the views update."""
    loaded = as_experiment(experiment)  # a mistake in the file shows here, not on the thread
    return LiveRun(lambda: run_live(loaded, *views, seed=seed, out=out, variant=variant, progress=progress))
