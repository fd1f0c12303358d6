"""Experiment files: one YAML file says which app runs on which cluster, under which faults.

    name: checkout under node crashes
    app: checkout                 # a shipped app: counter | checkout | shopping-cart | auction | bank
    seed: 1
    cluster: {nodes: 3, shards: 12}
    workload: {mode: closed, clients: 8, operations: 300, keys: 50, distribution: zipf}
    faults:
      - {at: 5, kind: crash, target: node-2, duration: 3}
    random_faults: {rates: {crash: 2}, mean_duration: 3}
    lambda_baseline: true

``app`` may instead name an app's files (``golemsim.sim.user_app``): a shipped name is short for
exactly that form (``golemsim.sim.shipped_apps``), so the runner only ever runs files.

Every mistake is reported with its line and field (ExperimentError, a BadRequest).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import BadRequest
from ..core.policy import SnapshotPolicy
from ..yaml_reader import DefinitionError, Problem, Reader, compose
from .clients import ClientSettings
from .nemesis import FAULT_KINDS, Fault, RandomFaults
from .network import NetworkSettings
from .services import ServiceSettings
from .shipped_apps import shipped_app
from .storage import StorageSettings
from .user_app import AppFiles, load_invariant, load_workload, parse_reference
from .world import ClusterSettings

ExperimentError = DefinitionError
"""An experiment file with mistakes: ``problems`` lists each with its line and field."""


@dataclass(frozen=True)
class KeySettings:
    keys: int = 50
    distribution: str = "uniform"
    zipf_s: float = 1.1


@dataclass(frozen=True)
class Experiment:
    name: str
    app: str
    """The shipped app's name, or the template names of an app named by its files."""
    files: AppFiles
    """The app's templates, API definition, workload and invariants."""
    seed: int = 1
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    clients: ClientSettings = field(default_factory=ClientSettings)
    keys: KeySettings = field(default_factory=KeySettings)
    faults: tuple[Fault, ...] = ()
    random_faults: RandomFaults | None = None
    lambda_baseline: bool = False
    max_duration: float = 600.0
    """Simulated seconds after which the clients are stopped, finished or not."""
    check_limit: int = 200
    """At most this many workers get the final-state check (a seeded sample beyond it): each
    check rebuilds the worker in the cluster and replays it once more, serially."""
    store: str = "sqlite"
    """Where the oplogs are kept: sqlite (a file in the results folder) or memory."""
    source: str = ""


TOP = (
    "name",
    "app",
    "seed",
    "cluster",
    "network",
    "storage",
    "services",
    "workload",
    "faults",
    "random_faults",
    "lambda_baseline",
    "max_duration",
    "check_limit",
    "store",
    "description",
)
WORKLOAD_KEYS = ("keys", "distribution", "zipf_s")
AT_LEAST_ONE = ("nodes", "shards", "max_live_per_node", "clients", "operations", "keys")


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise BadRequest(f"cannot read experiment file {path}: {error.strerror}") from None
    return parse_experiment(text, source=str(path))


def parse_experiment(text: str, *, source: str = "<experiment>") -> Experiment:
    root = compose(text, source)
    reader = Reader()
    if root is None:
        raise ExperimentError(source, [Problem(0, "", "the file is empty")])
    top = reader.mapping(root, "", required=("name", "app"), optional=TOP[2:])
    if top is None:
        raise ExperimentError(source, reader.problems)
    name = reader.string(top["name"], "name") if "name" in top else None
    app: str | None = None
    app_files = None
    if isinstance(top.get("app"), yaml.MappingNode):
        app_files = _app_files(reader, top["app"], Path(source).parent)
        app = ", ".join(app_files.templates) if app_files is not None else None
    elif "app" in top:
        app = reader.string(top["app"], "app")
        if app is not None:
            try:
                app_files = shipped_app(app)
            except BadRequest as error:
                reader.report(top["app"], "app", str(error))
    values: dict[str, Any] = {}
    for key, kind in (("seed", int), ("check_limit", int), ("max_duration", float), ("lambda_baseline", bool)):
        if key in top:
            values[key] = _scalar(reader, top[key], key, kind)
    if "store" in top:
        values["store"] = reader.string(top["store"], "store")
        if values["store"] not in ("sqlite", "memory"):
            reader.report(top["store"], "store", "expected sqlite or memory")
    network = _settings(reader, top.get("network"), "network", NetworkSettings)
    storage = _settings(reader, top.get("storage"), "storage", StorageSettings)
    services = _settings(reader, top.get("services"), "services", ServiceSettings)
    cluster_node = top.get("cluster")
    snapshots = None
    if isinstance(cluster_node, yaml.MappingNode):
        kept = []
        for key_node, value_node in cluster_node.value:
            if reader.constant(key_node) == "snapshots":
                snapshots = _snapshot_policy(reader, value_node)
            else:
                kept.append((key_node, value_node))
        cluster_node = yaml.MappingNode(cluster_node.tag, kept, cluster_node.start_mark, cluster_node.end_mark)
    cluster = _settings(reader, cluster_node, "cluster", ClusterSettings, skip=("limits", "retry", "snapshots"))
    cluster = dataclasses.replace(cluster, network=network, storage=storage, services=services, snapshots=snapshots)
    workload_node = top.get("workload")
    keys_node, client_node = _split(workload_node, WORKLOAD_KEYS)
    clients = _settings(reader, client_node, "workload", ClientSettings, extra=WORKLOAD_KEYS)
    keys = _settings(reader, keys_node, "workload", KeySettings)
    if clients.mode not in ("open", "closed") and client_node is not None:
        reader.report(client_node, "workload.mode", "expected open or closed")
    if keys.distribution not in ("uniform", "zipf") and keys_node is not None:
        reader.report(keys_node, "workload.distribution", "expected uniform or zipf")
    faults = _faults(reader, top.get("faults"))
    random_faults = None
    if "random_faults" in top:
        random_faults = _random_faults(reader, top["random_faults"])
    if values.get("lambda_baseline") and app_files is not None and "checkout" not in app_files.templates:
        problem = "the lambda baseline exists for the checkout template only (POST /checkout)"
        reader.report(top["lambda_baseline"], "lambda_baseline", problem)
    if reader.problems:
        raise ExperimentError(source, reader.problems)
    assert name is not None and app is not None and app_files is not None
    return Experiment(
        name,
        app,
        app_files,
        cluster=cluster,
        clients=clients,
        keys=keys,
        faults=tuple(faults),
        random_faults=random_faults,
        source=source,
        **values,
    )


APP_KEYS = ("templates", "api", "workload", "invariants")


def _app_files(reader: Reader, node: yaml.Node, base: Path) -> AppFiles | None:
    """A user's app: every path relative to the experiment file; the workload and invariants
    are imported now, so that a mistake in them is listed with the file's other mistakes."""
    top = reader.mapping(node, "app", required=("templates", "api", "workload"), optional=("invariants",))
    if top is None:
        return None
    before = len(reader.problems)
    templates: dict[str, Path] = {}
    table = reader.mapping(top["templates"], "app.templates", open_keys=True) if "templates" in top else None
    for template, folder_node in (table or {}).items():
        folder = reader.string(folder_node, f"app.templates.{template}")
        if folder is not None:
            path = (base / folder).resolve()
            if not path.exists():
                reader.report(folder_node, f"app.templates.{template}", f"no template folder or .wasm file at {path}")
            templates[template] = path
    api = None
    api_text = reader.string(top["api"], "app.api") if "api" in top else None
    if api_text is not None:
        api = (base / api_text).resolve()
        if not api.is_file():
            reader.report(top["api"], "app.api", f"no API definition file at {api}")
    workload = None
    text = reader.string(top["workload"], "app.workload") if "workload" in top else None
    if text is not None:
        try:
            workload = parse_reference(text, base)
            load_workload(workload)
        except BadRequest as error:
            reader.report(top["workload"], "app.workload", str(error))
    invariants = []
    items = (reader.sequence(top["invariants"], "app.invariants") or []) if "invariants" in top else []
    for i, item in enumerate(items):
        text = reader.string(item, f"app.invariants[{i}]")
        if text is None:
            continue
        try:
            reference = parse_reference(text, base)
            load_invariant(reference)
            invariants.append(reference)
        except BadRequest as error:
            reader.report(item, f"app.invariants[{i}]", str(error))
    if len(reader.problems) > before or api is None or workload is None:
        return None
    return AppFiles(templates, api, workload, tuple(invariants))


def _split(node: yaml.Node | None, keys: tuple[str, ...]) -> tuple[yaml.Node | None, yaml.Node | None]:
    """A mapping node split in two: the entries whose key is in ``keys``, and the others."""
    if not isinstance(node, yaml.MappingNode):
        return None, node
    inside = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value in keys]
    outside = [(k, v) for k, v in node.value if not (isinstance(k, yaml.ScalarNode) and k.value in keys)]

    def make(pairs: list[tuple[Any, Any]]) -> yaml.Node:
        return yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark)

    return make(inside), make(outside)


def _scalar(reader: Reader, node: yaml.Node, path: str, kind: type) -> Any:
    value: Any = reader.constant(node)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (kind is bool and not isinstance(value, bool)) or (kind is not bool and isinstance(value, bool)):
        reader.report(node, path, f"expected {kind.__name__}, got {value!r}")
        return None
    if not isinstance(value, kind):
        reader.report(node, path, f"expected {kind.__name__}, got {value!r}")
        return None
    if isinstance(value, int | float) and value < 0:
        reader.report(node, path, "must not be negative")
        return None
    return value


def _settings(
    reader: Reader,
    node: yaml.Node | None,
    path: str,
    cls: type[Any],
    *,
    skip: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> Any:
    """A settings dataclass from a mapping: known fields only, each of the field's type."""
    if node is None:
        return cls()
    hints = typing.get_type_hints(cls)
    names = tuple(
        f.name for f in dataclasses.fields(cls) if f.name not in skip and hints[f.name] in (int, float, bool, str)
    )
    values = reader.mapping(node, path, optional=names + extra)
    if values is None:
        return cls()
    chosen = {}
    for key, value_node in values.items():
        if key in extra:
            continue
        value = _scalar(reader, value_node, f"{path}.{key}", hints[key])
        if value is not None and key in AT_LEAST_ONE and value < 1:
            reader.report(value_node, f"{path}.{key}", "must be at least 1")
        elif value is not None:
            chosen[key] = value
    try:
        return cls(**chosen)
    except (TypeError, ValueError) as error:
        reader.report(node, path, str(error))
        return cls()


def _snapshot_policy(reader: Reader, node: yaml.Node) -> SnapshotPolicy | None:
    table = reader.constant(node)
    if not isinstance(table, dict):
        reader.report(node, "cluster.snapshots", "expected a mapping")
        return None
    try:
        return SnapshotPolicy.from_dict(table, "cluster.snapshots")
    except BadRequest as error:
        reader.report(node, "cluster.snapshots", str(error))
        return None


def _faults(reader: Reader, node: yaml.Node | None) -> list[Fault]:
    if node is None:
        return []
    items = reader.sequence(node, "faults")
    faults = []
    for i, item in enumerate(items or []):
        where = f"faults[{i}]"
        values = reader.mapping(
            item,
            where,
            required=("at", "kind"),
            optional=("target", "duration", "groups", "rate", "factor", "mode", "source"),
        )
        if values is None:
            continue
        kind = reader.string(values["kind"], f"{where}.kind") if "kind" in values else None
        if kind is not None and kind not in FAULT_KINDS:
            reader.report(
                values["kind"], f"{where}.kind", f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})"
            )
            continue
        chosen: dict[str, Any] = {"kind": kind}
        for key, typ in (("at", float), ("duration", float), ("rate", float), ("factor", float)):
            if key in values:
                chosen[key] = _scalar(reader, values[key], f"{where}.{key}", typ)
        for key in ("target", "mode", "source"):
            if key in values:
                chosen[key] = reader.string(values[key], f"{where}.{key}")
        if "groups" in values:
            groups = reader.constant(values["groups"])
            if not (isinstance(groups, list) and len(groups) == 2 and all(isinstance(g, list) and g for g in groups)):
                reader.report(values["groups"], f"{where}.groups", "expected two lists of endpoint names")
            else:
                chosen["groups"] = tuple(tuple(str(n) for n in g) for g in groups)
        if kind == "partition" and "groups" not in chosen:
            reader.report(item, f"{where}.groups", "a partition needs two groups of endpoints")
        if kind == "template-update" and not (chosen.get("target") and chosen.get("source")):
            reader.report(item, where, "a template-update needs target (the template) and source (its new folder)")
        if kind == "upgrade" and chosen.get("mode", "drain") not in ("drain", "hard"):
            reader.report(values["mode"], f"{where}.mode", "expected drain or hard")
        if kind == "template-update" and chosen.get("mode", "auto") not in ("auto", "snapshot"):
            reader.report(values["mode"], f"{where}.mode", "expected auto or snapshot")
        if None not in chosen.values():
            faults.append(Fault(**chosen))
    return faults


def _random_faults(reader: Reader, node: yaml.Node) -> RandomFaults | None:
    values = reader.mapping(node, "random_faults", required=("rates",), optional=("start", "end", "mean_duration"))
    if values is None or "rates" not in values:
        return None
    rates = reader.constant(values["rates"])
    from .nemesis import RANDOM_KINDS

    if not isinstance(rates, dict) or not all(
        k in RANDOM_KINDS and isinstance(v, int | float) and v >= 0 for k, v in rates.items()
    ):
        reader.report(
            values["rates"], "random_faults.rates", f"expected faults per minute by kind ({', '.join(RANDOM_KINDS)})"
        )
        return None
    chosen: dict[str, Any] = {"rates": {str(k): float(v) for k, v in rates.items()}}
    for key in ("start", "end", "mean_duration"):
        if key in values:
            chosen[key] = _scalar(reader, values[key], f"random_faults.{key}", float)
    if None in chosen.values():
        return None
    return RandomFaults(**chosen)
