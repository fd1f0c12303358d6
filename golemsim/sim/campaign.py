"""Seed campaigns: one experiment file run under many seeds in parallel on Dask.

    golemsim sim campaign experiments/checkout-crash.yaml --seeds 1-1000 --workers 2

Each seed is one run of the durable workers (no lambda baseline) with its oplogs in memory; the
seeds differ in what they draw (random faults, clients' keys and timings, services' failures). A
seed whose run is invalid gets a results folder (``seed-N/`` in the campaign's folder, the same
files as ``golemsim sim run`` writes, less the oplog database) and a replay command that runs it
again exactly. The campaign's summary (``campaign.json`` and ``campaign.md``) says, for each
checker, how many seeds were valid and which were not; it is ordered by seed, so the same seeds
give the same summary whatever order the runs finish in.

Dask (``pip install 'golemsim[campaign]'``) is imported only here, and only when a campaign runs.
By default a ``distributed.LocalCluster`` of worker processes with one thread each runs the seeds;
``scheduler`` connects to an existing Dask cluster instead, whose workers then need golemsim
installed and the experiment's files (and the campaign folder) at the same paths.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import BadRequest
from .one_cpu import pin_to_cpu, usable_cpus

if TYPE_CHECKING:
    from ..core.templates import TemplateRegistry
    from .experiment import Experiment

EXTRA_HINT = "pip install 'golemsim[campaign]'"
MAX_SEEDS = 10_000_000


class DaskMissing(BadRequest):
    """Dask (the ``campaign`` extra) is not installed."""


def parse_seeds(text: str) -> list[int]:
    """``1-1000``, ``7``, or a comma-separated list of both (``1-10,42,100-120``): the seeds in
    increasing order, each once. Raises BadRequest naming what is wrong."""
    seeds: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if match is None:
            raise BadRequest(
                f"--seeds: expected seeds as FIRST-LAST, N or a comma-separated list of them (e.g. 1-1000), "
                f"got {part or text!r}"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise BadRequest(f"--seeds: the range {part} is empty (its last seed comes before its first)")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise BadRequest(f"--seeds: more than {MAX_SEEDS:,} seeds")
        seeds.update(range(first, last + 1))
    return sorted(seeds)


def describe_seeds(seeds: Sequence[int]) -> str:
    """Seeds as ranges: [1, 2, 3, 7] -> "1-3, 7"."""
    parts: list[str] = []
    ordered = sorted(seeds)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


@dataclass(frozen=True)
class SeedOutcome:
    """What one seed's run said."""

    seed: int
    valid: bool
    checkers: tuple[tuple[str, bool], ...]
    """Each checker's name and verdict, in the order they ran."""
    faults: int
    """Faults that started."""
    trace_digest: str
    folder: str = ""
    """The results folder written for an invalid seed."""
    error: str = ""
    """An exception that stopped the run (the seed then counts as invalid)."""
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    """CPU time of the worker process during the run (all its threads)."""

    @property
    def invalid(self) -> list[str]:
        return [name for name, valid in self.checkers if not valid] + (["run-failed"] if self.error else [])

    def to_json(self) -> dict[str, Any]:
        """Deterministic: the wall and CPU times are left out."""
        doc: dict[str, Any] = {
            "seed": self.seed,
            "valid": self.valid,
            "invalid": self.invalid,
            "faults": self.faults,
            "trace_sha256": self.trace_digest,
        }
        if self.folder:
            doc["results"] = self.folder
        if self.error:
            doc["error"] = self.error
        return doc


@dataclass
class Campaign:
    """A campaign's outcome: one SeedOutcome per seed, ordered by seed."""

    name: str
    experiment: str
    """The experiment file as it was named (the replay commands use it)."""
    out: Path
    outcomes: list[SeedOutcome]
    cluster: str
    """Where the seeds ran: "local, 2 workers" or the scheduler's address."""
    wall_seconds: float = 0.0
    written: list[Path] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return all(o.valid for o in self.outcomes)

    @property
    def failing(self) -> list[SeedOutcome]:
        return [o for o in self.outcomes if not o.valid]

    @property
    def seeds_per_hour(self) -> float:
        return 3600 * len(self.outcomes) / self.wall_seconds if self.wall_seconds else 0.0

    def checker_table(self) -> dict[str, tuple[int, list[int]]]:
        """Each checker: how many seeds it found valid, and the seeds it found invalid."""
        table: dict[str, tuple[int, list[int]]] = {}
        for outcome in self.outcomes:
            for name, valid in outcome.checkers:
                count, seeds = table.get(name, (0, []))
                table[name] = (count + 1, seeds) if valid else (count, [*seeds, outcome.seed])
            if outcome.error:
                count, seeds = table.get("run-failed", (0, []))
                table["run-failed"] = (count, [*seeds, outcome.seed])
        return table

    def replay_command(self, outcome: SeedOutcome) -> str:
        folder = outcome.folder or str(self.out / f"seed-{outcome.seed}")
        return f"golemsim sim run {shlex.quote(self.experiment)} --seed {outcome.seed} --out {shlex.quote(folder)}"

    def to_json(self) -> dict[str, Any]:
        table = self.checker_table()
        return {
            "experiment": self.name,
            "source": self.experiment,
            "seeds": describe_seeds([o.seed for o in self.outcomes]),
            "runs": len(self.outcomes),
            "valid_runs": sum(o.valid for o in self.outcomes),
            "checkers": {name: {"valid": n, "invalid_seeds": seeds} for name, (n, seeds) in table.items()},
            "failing": [{**o.to_json(), "replay": self.replay_command(o)} for o in self.failing],
            "outcomes": [o.to_json() for o in self.outcomes],
        }

    def markdown(self) -> str:
        """The summary as Markdown: the checkers' table, then each failing seed with its replay
        command (deterministic: no wall-clock figures)."""
        n = len(self.outcomes)
        lines = [
            f"# Campaign: {self.name}",
            "",
            f"`{self.experiment}`, seeds {describe_seeds([o.seed for o in self.outcomes])}: "
            f"**{n - len(self.failing)} of {n} valid**.",
            "",
            "| checker | valid seeds | invalid seeds |",
            "| --- | ---: | --- |",
        ]
        for name, (count, seeds) in self.checker_table().items():
            lines.append(f"| {name} | {count} | {len(seeds)}{_listed(seeds)} |")
        if self.failing:
            lines += ["", "## Failing seeds", ""]
            for outcome in self.failing:
                what = outcome.error or ", ".join(outcome.invalid)
                lines += [
                    f"- seed {outcome.seed} ({outcome.faults} faults): {what}",
                    f"  - replay: `{self.replay_command(outcome)}`",
                ]
                if outcome.folder:
                    lines.append(f"  - results: `{outcome.folder}/`")
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        """What the command line prints: the Markdown summary and the campaign's wall time."""
        rate = f", {self.seeds_per_hour:,.0f} seeds/hour" if self.wall_seconds else ""
        return f"{self.markdown()}\n{len(self.outcomes)} runs on {self.cluster}: wall {self.wall_seconds:.1f} s{rate}"


def _listed(seeds: list[int], most: int = 10) -> str:
    if not seeds:
        return ""
    shown = ", ".join(str(s) for s in seeds[:most])
    return f" ({shown}{', ...' if len(seeds) > most else ''})"


# -- on a Dask worker ---------------------------------------------------------------------------

_LOADED: dict[str, tuple[Experiment, TemplateRegistry | None]] = {}
"""Per worker process: the experiment and its deployed templates, by the file's path and content and
its templates' source hashes (a long-lived Dask cluster may serve campaigns of edited files)."""
KEEP_LOADED = 4
"""Experiments a worker process keeps loaded (the least recently used is dropped)."""


def reusable_registry(experiment: Experiment) -> bool:
    """Whether one registry can serve every run: not when a template-update fault deploys a new
    version into it (a later run would then start with that version)."""
    return not any(fault.kind == "template-update" for fault in experiment.faults)


def load_for_runs(path: str, text: str, templates: str = "") -> tuple[Experiment, TemplateRegistry | None]:
    """The experiment file parsed, and its templates deployed once (None when each run needs a
    registry of its own), cached in this process by the file's path and content and ``templates``
    (their source hashes, ``templates_fingerprint``)."""
    from .experiment import parse_experiment
    from .runner import experiment_templates

    key = hashlib.sha256("\0".join((path, text, templates)).encode()).hexdigest()
    loaded = _LOADED.pop(key, None)
    if loaded is None:
        experiment = parse_experiment(text, source=path)
        registry = None
        if reusable_registry(experiment):
            registry = experiment_templates(experiment)
        loaded = (experiment, registry)
    _LOADED[key] = loaded  # the most recently used last
    while len(_LOADED) > KEEP_LOADED:
        del _LOADED[next(iter(_LOADED))]
    return loaded


def templates_fingerprint(experiment: Experiment) -> str:
    """The experiment's templates by name and source hash (each built first when needed)."""
    from ..core.build import build_template

    builds = {name: build_template(folder) for name, folder in experiment.files.templates.items()}
    return ";".join(f"{name}={built.source_hash}" for name, built in sorted(builds.items()))


def run_seed(path: str, text: str, seed: int, out: str, templates: str = "") -> SeedOutcome:
    """One seed's run (on a Dask worker): oplogs in memory, and for an invalid run its results
    folder ``out/seed-N``. An exception in the run is an invalid outcome naming it."""
    from .results import write_results
    from .runner import experiment_templates, run_experiment

    started, cpu = time.monotonic(), time.process_time()
    experiment, registry = load_for_runs(path, text, templates)
    own = registry is None
    if registry is None:
        registry = experiment_templates(experiment)
    try:
        result = run_experiment(experiment, seed=seed, registry=registry)
    except Exception as error:  # one seed's failure is reported with it; the campaign goes on
        return SeedOutcome(seed, False, (), 0, "", error=f"{type(error).__name__}: {error}")
    finally:
        if own:
            registry.engine.stop()
    folder = ""
    if not result.valid:
        folder = str(Path(out) / f"seed-{seed}")
        write_results(Path(folder), result)
    checkers = tuple((v.name, v.valid) for v in result.verdicts)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    return SeedOutcome(seed, result.valid, checkers, len(result.faults), result.trace_digest, folder, "", wall, cpu)


# -- on the client ------------------------------------------------------------------------------

CampaignProgress = Callable[[int, int, int], None]
"""Told (runs done, runs in all, invalid so far) as seeds finish."""


def run_campaign(
    path: str | Path,
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: CampaignProgress | None = None,
) -> Campaign:
    """Run the experiment file once per seed on Dask and write the campaign's summary.

    The file is read and checked here first (BadRequest or ExperimentError for a bad one) and its
    templates built, so that the workers only load them. DaskMissing when Dask is not installed."""
    from .experiment import parse_experiment
    from .runner import experiment_templates

    if not seeds:
        raise BadRequest("a campaign needs at least one seed")
    if workers is not None and workers < 1:
        raise BadRequest(f"--workers must be at least 1, got {workers}")
    if workers is not None and scheduler is not None:
        raise BadRequest("--workers sizes a local cluster; with --scheduler the cluster has its own workers")
    distributed = _import_dask()
    named = str(path)
    source = Path(path)
    try:
        text = source.read_text()
    except OSError as error:
        raise BadRequest(f"cannot read experiment file {source}: {error.strerror}") from None
    experiment = parse_experiment(text, source=named)
    experiment_templates(experiment)  # built and compiled before workers load
    templates = templates_fingerprint(experiment)
    folder = Path(out) if out is not None else Path("results") / f"campaign-{source.stem}"
    folder.mkdir(parents=True, exist_ok=True)
    absolute = str(source.resolve())
    started = time.monotonic()
    outcomes: dict[int, SeedOutcome] = {}
    with _dask_client(distributed, workers, scheduler) as (client, where):
        target = str(folder.resolve())
        futures = {client.submit(run_seed, absolute, text, seed, target, templates, pure=False): seed for seed in seeds}
        invalid = 0
        for future in distributed.as_completed(futures):
            seed = futures[future]
            try:
                outcome: SeedOutcome = future.result()
            except Exception as error:  # a worker died under the run (Dask gave up on it), or the task failed
                outcome = SeedOutcome(seed, False, (), 0, "", error=f"{type(error).__name__}: {error}")
            outcomes[seed] = _relative(outcome, folder)
            invalid += not outcome.valid
            if progress is not None:
                progress(len(outcomes), len(futures), invalid)
    campaign = Campaign(
        experiment.name,
        named,
        folder,
        [outcomes[s] for s in sorted(outcomes)],
        where,
        time.monotonic() - started,
    )
    summary = folder / "campaign.json"
    summary.write_text(json.dumps(campaign.to_json(), indent=2) + "\n")
    table = folder / "campaign.md"
    table.write_text(campaign.markdown())
    campaign.written = [summary, table]
    return campaign


def _relative(outcome: SeedOutcome, folder: Path) -> SeedOutcome:
    """The outcome with its results folder named as the campaign's folder was (not absolute)."""
    if not outcome.folder:
        return outcome
    from dataclasses import replace

    return replace(outcome, folder=str(folder / Path(outcome.folder).name))


def _import_dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise DaskMissing(f"golemsim sim campaign runs seeds on Dask, which is not installed: {EXTRA_HINT}") from None
    return distributed


@contextmanager
def _dask_client(distributed: Any, workers: int | None, scheduler: str | None) -> Iterator[tuple[Any, str]]:
    """A Dask client: to ``scheduler``, or to a new local cluster of ``workers`` processes with
    one thread each (Dask's own logs quieted to errors while it runs)."""
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout="10s")
            except OSError as error:
                raise BadRequest(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
            with client:
                yield client, f"the Dask cluster at {scheduler}"
            return
        count = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # its HTTP server on a free port, never a clash on 8787
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        )
        with cluster, distributed.Client(cluster) as client:
            if 1 < count <= len(usable_cpus()):
                client.run(pin_to_one_cpu)
            yield client, f"a local Dask cluster of {count} worker process{'es' if count > 1 else ''}"
    finally:
        quiet.setLevel(level)


def pin_to_one_cpu(dask_worker: Any) -> int | None:
    """Pin a local Dask worker process to one CPU of its own, the worker's number modulo the CPUs
    (golemsim.sim.one_cpu says why a run wants one core). Returns the CPU (None where the OS
    cannot pin)."""
    cpus = usable_cpus()
    try:
        return pin_to_cpu(cpus[int(dask_worker.name) % len(cpus)]) if cpus else None
    except (TypeError, ValueError):
        return None
