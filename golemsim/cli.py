"""The ``golemsim`` command line.

Exit codes: 0 done; 1 the operation ran and failed (a failed invocation or update, a promise
completed before); 2 a bad request (bad arguments, unknown worker, a database in use);
3 accepted but not finished (durably pending: an interrupted worker, or ``--timeout``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .core import Engine, Executor, GolemError, InvocationFailed, WorkerId, build_template
from .core.errors import BadRequest, DatabaseLocked
from .core.history import History, analyze
from .core.oplog.describe import describe_entry
from .core.policy import RetryPolicy, SnapshotPolicy
from .core.postgres import is_postgres_url, redacted
from .core.promises import promise_owner
from .core.services import ServiceRegistry, services_path
from .core.warm import warm_template
from .gateway.definition import PROMISES_PATH
from .shop import ShopServices
from .text_table import table_lines
from .yaml_reader import DefinitionError

DEFAULT_DB = "golem.db"
EXIT_FAILED = 1
EXIT_BAD_REQUEST = 2
EXIT_PENDING = 3

EXCLUSIVE_NOTE = (
    "Commands that change a database (deploy, invoke, promise complete, interrupt, resume, restart, delete, "
    "update) open it exclusively, as an executor: they cannot run while `golemsim serve` or another executor "
    "has it open (complete promises over HTTP then: POST " + PROMISES_PATH + "). oplog, workers, templates and "
    "promise list only read, and can."
)


def parse_json(text: str, what: str, *, else_string: bool = False) -> Any:
    """``text`` as JSON; when it is not JSON, ``text`` itself (``else_string``) or BadRequest naming ``what``."""
    try:
        return json.loads(text)
    except ValueError:
        if else_string:
            return text
        bare_word = not text.lstrip().startswith(("[", "{", '"'))  # most likely a string without its quotes
        hint = f" (a string needs quotes: '\"{text}\"')" if bare_word else ""
        raise BadRequest(f"{what} must be JSON, got {text!r}{hint}") from None


def open_to_change(db: str | Path, *, services: ServiceRegistry | None = None, resume: bool = False) -> Executor:
    """Open the database exclusively (as an executor) for a command that writes to it.

    Without ``resume``, workers are not recovered wholesale: only the worker a command touches
    goes on with its unfinished invocations (the executor does that when it loads it), and
    ``close`` waits for them.
    """
    try:
        return Executor.open(db, services=services, resume=resume)
    except DatabaseLocked as error:
        raise DatabaseLocked(
            f"{error}; this command changes the database, so it needs it alone: stop `golemsim serve` (or the "
            f"other executor) first, or complete promises over HTTP with POST {PROMISES_PATH}"
        ) from None


def open_to_read(db: str | Path) -> Executor:
    """Open the database read-only for a command that only looks (oplog, workers, templates, promise
    list): a missing file or one that is not a golemsim database is a bad request naming it, and
    nothing is created or changed (a results folder's database stays as the run left it; an empty
    PostgreSQL database gets no tables)."""
    return Executor.open(db, resume=False, exclusive=False, read_only=True)


def shown(db: str | Path) -> str:
    """The database as messages name it: a PostgreSQL URL without its password."""
    return redacted(str(db)) if is_postgres_url(db) else str(db)


def _history(ex: Executor, worker: WorkerId) -> History:
    """The worker's history read from its oplog (BadRequest if it has none)."""
    entries = ex.oplog(worker)
    if not entries:
        raise BadRequest(f"worker {worker} does not exist")
    return analyze(entries)


def cmd_build(args: argparse.Namespace) -> int:
    built = build_template(args.folder, force=args.force)
    state = "prebuilt" if built.prebuilt else "cached" if built.cached else "built"
    print(f"{built.name} v{built.version}: {state} {built.wasm_path}")
    return 0


def cmd_warm(args: argparse.Namespace) -> int:
    folders = [Path(folder) for folder in args.folders]
    engine = Engine()
    for n, folder in enumerate(folders, 1):
        print(f"[{n}/{len(folders)}] {folder}: building and compiling ...", flush=True)
        warmed = warm_template(folder, engine=engine)
        built = "prebuilt" if warmed.built.prebuilt else "cached" if warmed.built.cached else "built"
        compiled = "compiled" if warmed.compiled else "cached"
        print(
            f"[{n}/{len(folders)}] {warmed.built.name} v{warmed.built.version}: {built} "
            f"({warmed.build_seconds:.1f} s), {compiled} ({warmed.compile_seconds:.1f} s)",
            flush=True,
        )
    print(f"{len(folders)} templates warm in {engine.cache_dir}")
    return 0


RETRY_FLAGS = {
    "max_attempts": ("--retry-max-attempts", "N", int, "attempts in all, the first included (default 5)"),
    "initial_delay": ("--retry-initial-delay", "SECONDS", float, "wait after the first failed attempt (default 0.05)"),
    "multiplier": ("--retry-multiplier", "X", float, "each wait is the one before times X (default 2)"),
    "max_delay": ("--retry-max-delay", "SECONDS", float, "the longest wait (default 2)"),
}
SNAPSHOT_FLAGS = {
    "every_invocations": ("--snapshot-every", "N", int, "snapshot a worker after every N invocations"),
    "max_oplog_entries": (
        "--snapshot-max-oplog-entries",
        "N",
        int,
        "snapshot once the oplog holds more than N entries",
    ),
    "compaction": (
        "--snapshot-compaction",
        "MODE",
        str,
        "archive (default), drop or keep the entries a snapshot covers",
    ),
}


def _policy_flags(args: argparse.Namespace, flags: dict[str, tuple[str, str, type, str]]) -> dict[str, object]:
    """The settings of ``flags`` given on the command line, by policy field."""
    return {field: getattr(args, field) for field in flags if getattr(args, field) is not None}


def _named(table: dict[str, object], flags: dict[str, tuple[str, str, type, str]]) -> str:
    return " ".join(f"{flags[field][0]} {value}" for field, value in table.items())


def cmd_deploy(args: argparse.Namespace) -> int:
    retry_table, snapshot_table = _policy_flags(args, RETRY_FLAGS), _policy_flags(args, SNAPSHOT_FLAGS)
    retry = RetryPolicy.from_dict(retry_table, _named(retry_table, RETRY_FLAGS)) if retry_table else None
    snapshot = None
    if snapshot_table:
        if snapshot_table.keys() == {"compaction"}:
            raise BadRequest("--snapshot-compaction needs --snapshot-every N or --snapshot-max-oplog-entries N")
        snapshot = SnapshotPolicy.from_dict(snapshot_table, _named(snapshot_table, SNAPSHOT_FLAGS))
    with open_to_change(args.db) as ex:
        info = ex.deploy(
            args.source, name=args.name, version=args.version, replace=args.replace, retry=retry, snapshot=snapshot
        )
        compiled = ex.templates.get(info.name, info.version)
    print(f"deployed {info.name} v{info.version} ({info.size / 1e6:.1f} MB, sha256 {info.component_hash[:12]})")
    for signature in info.functions:
        print(f"  {signature}")
    for kind, policy in (("retry", compiled.retry), ("snapshot", compiled.snapshot)):
        if policy is not None:
            print(f"  {kind}: " + ", ".join(f"{k}={v}" for k, v in policy.to_dict().items()))
    return 0


def default_services(db: str | Path) -> ShopServices:
    """The CLI's external world: the shop's services on a ledger next to the database, or in it
    for a PostgreSQL URL (other service names are echoed by the same ledger)."""
    return ShopServices(services_path(db))


def cmd_invoke(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    if args.json_args is not None:
        values = parse_json(args.json_args, "--json-args")
    else:  # each argument is JSON when it parses as JSON, else a plain string
        values = [parse_json(arg, "an argument", else_string=True) for arg in args.args]
    if not isinstance(values, list):
        raise BadRequest("--json-args must be a JSON array")
    with open_to_change(args.db, services=default_services(args.db), resume=True) as ex:
        entries = ex.oplog(worker)
        interrupted = bool(entries) and analyze(entries).interrupted
        if args.timeout is None and not interrupted:
            result = ex.invoke(worker.template, worker.name, args.function, values, idempotency_key=args.key)
            print(json.dumps(result))
            return 0
        key = args.key or f"cli-{time.time_ns()}"  # named, so that the caller can ask for the result later
        future = ex.submit(worker.template, worker.name, args.function, values, idempotency_key=key)
        try:
            result = future.result(0 if interrupted else args.timeout)
        except TimeoutError:
            why = f"worker {worker} is interrupted" if interrupted else f"no result within {args.timeout:g} s"
            after = f"`golemsim resume {worker}`" if interrupted else "the database is opened again"
            print(
                f"{why}: the invocation is durably pending and goes on after {after}; "
                f"invoke it again with --key {key} for its result",
                file=sys.stderr,
            )
            return EXIT_PENDING
    print(json.dumps(result))
    return 0


def cmd_oplog(args: argparse.Namespace) -> int:
    with open_to_read(args.db) as ex:
        entries = ex.oplog(args.worker, start=args.start)
    for index, entry in entries:
        if args.json:
            print(json.dumps({"index": index, "kind": entry.kind, **entry.__dict__}))
        else:
            print(f"{index:>6}  {entry.kind:<22} {describe_entry(entry)}")
    return 0


def cmd_workers(args: argparse.Namespace) -> int:
    with open_to_read(args.db) as ex:
        infos = ex.workers()
    if args.json:
        rows = [
            {
                "worker": str(i.worker_id),
                "template_version": i.template_version,
                "status": i.status.value,
                "oplog_length": i.oplog_length,
                "error": i.error,
                "update": i.update,
            }
            for i in infos
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not infos:
        print(f"no workers in {shown(args.db)}")
        return 0
    cells = [(i.worker_id, i.worker_id.template, i.template_version, i.status.value, i.oplog_length) for i in infos]
    lines = table_lines(("WORKER", "TEMPLATE", "VERSION", "STATUS", "OPLOG"), cells, right=(2, 4))
    print(lines[0])
    for i, line in zip(infos, lines[1:], strict=True):
        print(line)
        if i.error:
            print(f"  error: {i.error}")
        if i.update:
            print(f"  {i.update}")
    return 0


# -- promises and operator controls ------------------------------------------------------------


def cmd_promise_complete(args: argparse.Namespace) -> int:
    value = parse_json(args.value, "VALUE")
    owner = promise_owner(args.promise_id)
    with open_to_change(args.db, services=default_services(args.db)) as ex:
        if ex.complete_promise(args.promise_id, value):
            print(f"completed {args.promise_id}", flush=True)  # the awaiting invocation goes on before we exit
            return 0
        _, standing = ex.promises(owner).get(args.promise_id, (True, None))
    print(
        f"{args.promise_id} was completed before, with {json.dumps(standing)}; the first value stands "
        f"and {json.dumps(value)} was not used",
        file=sys.stderr,
    )
    return EXIT_FAILED


def cmd_promise_list(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    with open_to_read(args.db) as ex:
        promises = _history(ex, worker).promises
    if args.json:
        rows = [{"id": key, "completed": done, "value": value} for key, (done, value) in promises.items()]
        print(json.dumps(rows, indent=2))
        return 0
    if not promises:
        print(f"worker {worker} has no promises")
        return 0
    cells = [
        (key, "completed", json.dumps(value)) if done else (key, "pending", "")
        for key, (done, value) in promises.items()
    ]
    print("\n".join(table_lines(("PROMISE", "STATE", "VALUE"), cells)))
    return 0


def cmd_interrupt(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    with open_to_change(args.db, services=default_services(args.db)) as ex:
        already = _history(ex, worker).interrupted
        ex.interrupt(worker)
    if already:
        print(f"{worker} was interrupted already")
    else:
        print(f"interrupted {worker}: nothing runs on it until `golemsim resume {worker}`")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    with open_to_change(args.db, services=default_services(args.db)) as ex:
        resumed = ex.resume(worker)
        if resumed:  # its unfinished invocations run now, until they finish or wait again
            print(f"resumed {worker}", flush=True)
    if not resumed:
        print(f"{worker} was not interrupted; nothing to resume")
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    with open_to_change(args.db, services=default_services(args.db)) as ex:
        started = time.perf_counter()
        replayed = ex.restart_worker(worker)
        millis = (time.perf_counter() - started) * 1000
        info = ex.recovery_info(worker)
    source = f"the snapshot at entry {info.snapshot_index} and " if info is not None and info.mode == "snapshot" else ""
    print(f"restarted {worker} from {source}its oplog: replayed {replayed} invocation(s) in {millis:.0f} ms")
    if info is not None and info.fallback:
        print(f"  the stored snapshot was not used: {info.fallback}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    if not args.yes:
        print(
            f"error: not deleting {worker} without --yes: its oplog, snapshots and state are removed for good",
            file=sys.stderr,
        )
        return EXIT_BAD_REQUEST
    with open_to_change(args.db, services=default_services(args.db)) as ex:
        length = len(ex.oplog(worker))
        if length == 0:
            raise BadRequest(f"worker {worker} does not exist")
        ex.delete_worker(worker)
    print(f"deleted {worker} ({length} oplog entries)")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    with open_to_change(args.db, services=default_services(args.db)) as ex:
        history = _history(ex, worker)
        blocked = history.interrupted or (history.in_flight is not None and history.in_flight.waiting_on is not None)
        quiet = None if args.verbose else logging.getLogger("golemsim.executor")
        if quiet is not None:  # the executor logs a failed update; here the outcome is printed below
            quiet.setLevel(logging.ERROR)
        try:  # an interrupted or waiting worker takes the update after what it waits for: do not wait here
            outcome = ex.update_worker(worker, args.to, mode=args.mode, timeout=0 if blocked else args.timeout)
        except TimeoutError:
            why = f"{worker} is interrupted" if history.interrupted else f"{worker} is busy or waiting"
            print(
                f"update of {worker} to v{args.to} ({args.mode}) is pending: {why}; it is done in queue order, "
                "after the invocations before it (`golemsim workers` shows when)",
                file=sys.stderr,
            )
            return EXIT_PENDING
    if outcome.succeeded:
        print(f"updated {worker} to v{outcome.version} ({outcome.mode})")
        return 0
    print(
        f"error: update of {worker} to v{args.to} ({outcome.mode}) failed: {outcome.reason}; "
        f"it goes on running v{outcome.version}",
        file=sys.stderr,
    )
    return EXIT_FAILED


def cmd_templates(args: argparse.Namespace) -> int:
    with open_to_read(args.db) as ex:
        infos = ex.list_templates()
    if not infos:
        print(f"no templates deployed in {shown(args.db)}")
        return 0
    rows = [(i.name, i.version, f"{i.size / 1e6:.1f} MB", i.component_hash[:12]) for i in infos]
    print("\n".join(table_lines(("TEMPLATE", "VERSION", "SIZE", "SHA256"), rows, right=(1, 2))))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .gateway import serve

    logging.getLogger("golemsim.gateway").setLevel(logging.INFO)  # one line a request on stderr
    logging.getLogger("golemsim.scaleout").setLevel(logging.INFO)  # shards taken and given up
    timeout = args.request_timeout if args.request_timeout > 0 else None
    return serve(
        args.api,
        args.db,
        host=args.host,
        port=args.port,
        services=args.services,
        suspend_after=args.suspend_after,
        request_timeout=timeout,
        shards=args.shards,
        lease_seconds=args.lease_seconds,
        advertise=args.advertise,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_crash_demo

    report = run_crash_demo(Path(args.out), invocations=args.invocations, seed=args.seed)
    print(report.text())
    return 0 if report.valid else 1


def cmd_sim_run(args: argparse.Namespace) -> int:
    from .sim.command import run_from_cli

    return run_from_cli(args.experiment, seed=args.seed, out=args.out, baseline=not args.no_baseline)


def cmd_sim_campaign(args: argparse.Namespace) -> int:
    from .sim.command import campaign_from_cli

    return campaign_from_cli(
        args.experiment, seeds=args.seeds, workers=args.workers, scheduler=args.scheduler, out=args.out
    )


def cmd_sim_shrink(args: argparse.Namespace) -> int:
    from .sim.command import shrink_from_cli

    return shrink_from_cli(args.results, max_runs=args.max_runs, checkers=args.checker)


def cmd_wit(args: argparse.Namespace) -> int:
    from .core.host_wit import HOST_PACKAGE, host_wit_text, write_host_wit

    if args.print:
        sys.stdout.write(host_wit_text())
        return 0
    written = write_host_wit(Path(args.dir))
    if written.changed:
        print(f"wrote {written.path} ({HOST_PACKAGE})")
        print("  use it in a world: include golemsim:host/imports@0.1.0; (or import golemsim:host/durable@0.1.0;)")
    else:
        print(f"{written.path} is up to date ({HOST_PACKAGE})")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import template_name, write_scaffold

    folder = write_scaffold(args.name, Path(args.dir), force=args.force)
    template = template_name(args.name)
    print(f"wrote {folder}/ (template {template}: wallets that pay each other; see {folder / 'README.md'})")
    print(f"  run it under a node crash:  golemsim sim run {folder / 'experiment.yaml'}")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    from .locations import copy_examples

    for folder in copy_examples(Path(args.dir), force=args.force):
        print(f"wrote {folder}/")
    experiment = Path(args.dir) / "experiments" / "checkout-crash.yaml"
    print(f"  run one:  golemsim sim run {experiment}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from .schemas import schema

    print(json.dumps(schema(args.kind), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="golemsim", description="Durable WebAssembly workers with an oplog.", epilog=EXCLUSIVE_NOTE
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the executor does")
    parser.add_argument("--version", action="version", version=f"golemsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    database = argparse.ArgumentParser(add_help=False)  # the --db of every command that opens one
    database.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"the executor's database: a SQLite file, or a postgresql://USER[:PASSWORD]@HOST[:PORT]/NAME URL "
        f"(default: {DEFAULT_DB})",
    )

    p = sub.add_parser(
        "build",
        help="build a template folder into a component (cached by source hash); "
        "a folder naming a prebuilt component (component = ...) is only checked",
    )
    p.add_argument("folder")
    p.add_argument("--force", action="store_true", help="rebuild even if the sources did not change")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser(
        "warm",
        help="build template folders and compile their components, so that later runs find both in the cache",
        description="Build each template folder into a component (cached by source hash) and compile it with "
        "wasmtime into the cache of compiled code ($GOLEMSIM_CACHE_DIR, else ~/.cache/golemsim), where notebooks' "
        "kernels and other golemsim processes read it: their first deploy then compiles nothing.",
    )
    p.add_argument("folders", nargs="+", metavar="FOLDER", help="a template folder (holding golemsim.toml)")
    p.set_defaults(run=cmd_warm)

    p = sub.add_parser(
        "deploy",
        parents=[database],
        help="deploy a template folder or .wasm file",
        description="Deploy a template folder (built first unless it names a prebuilt component) or a .wasm file. "
        "The --retry-* flags make the template's retry policy for transient service failures, the --snapshot-* "
        "flags its snapshot policy; settings left out take their defaults, and the flags replace a folder's "
        "[retry] or [snapshot] table.",
    )
    p.add_argument("source", help="a template folder (with golemsim.toml) or a .wasm component")
    p.add_argument("--name", help="template name (default: from golemsim.toml or the file name)")
    p.add_argument("--version", type=int, help="deploy as this version (default: next one if the code changed)")
    p.add_argument("--replace", action="store_true", help="overwrite an existing version's code (workers may diverge)")
    for title, flags in (("retry policy", RETRY_FLAGS), ("snapshot policy", SNAPSHOT_FLAGS)):
        group = p.add_argument_group(title)
        for field, (flag, metavar, kind, text) in flags.items():
            group.add_argument(flag, dest=field, metavar=metavar, type=kind, help=text)
    p.set_defaults(run=cmd_deploy)

    p = sub.add_parser("invoke", parents=[database], help="invoke a function on a worker; prints the result as JSON")
    p.add_argument("worker", help="TEMPLATE/NAME, for example counter/c1")
    p.add_argument("function")
    p.add_argument("args", nargs="*", help="arguments: JSON values, or plain strings")
    p.add_argument("--json-args", help="all arguments as one JSON array instead")
    p.add_argument("--key", help="idempotency key (a repeat returns the first result)")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop waiting for the result (exit 3); the invocation stays durably pending and goes on later",
    )
    p.set_defaults(run=cmd_invoke)

    p = sub.add_parser("oplog", parents=[database], help="print a worker's oplog, one entry a line")
    p.add_argument("worker")
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    p.add_argument("--from", dest="start", type=int, default=1, help="first index to print")
    p.set_defaults(run=cmd_oplog)

    p = sub.add_parser("workers", parents=[database], help="list workers with template, status and oplog length")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_workers)

    p = sub.add_parser("templates", parents=[database], help="list deployed templates")
    p.set_defaults(run=cmd_templates)

    p = sub.add_parser("promise", help="complete or list workers' promises")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser(
        "complete",
        parents=[database],
        help="complete a promise; exit 0, or 1 if it was completed before (the first value stands)",
        epilog=EXCLUSIVE_NOTE,
    )
    q.add_argument("promise_id", metavar="PROMISE_ID", help="TEMPLATE/NAME/promise-..., as the worker returned it")
    q.add_argument("value", metavar="VALUE_JSON", help="the value as JSON, e.g. '{\"approved\": true}' or '\"yes\"'")
    q.set_defaults(run=cmd_promise_complete)
    q = actions.add_parser(
        "list", parents=[database], help="a worker's promises: pending, or completed with their value"
    )
    q.add_argument("worker", help="TEMPLATE/NAME")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=cmd_promise_list)

    controls = (
        ("interrupt", cmd_interrupt, "stop a worker: nothing runs on it (durably) until resume"),
        ("resume", cmd_resume, "let an interrupted worker go on; its unfinished invocations run before this exits"),
        ("restart", cmd_restart, "simulate a crash: drop the worker's instance and rebuild it from its oplog"),
        ("delete", cmd_delete, "delete a worker with its oplog, for good (needs --yes)"),
    )
    for name, run, help_text in controls:
        p = sub.add_parser(name, parents=[database], help=help_text, epilog=EXCLUSIVE_NOTE)
        p.add_argument("worker", help="TEMPLATE/NAME")
        if name == "delete":
            p.add_argument("--yes", action="store_true", help="really delete it")
        p.set_defaults(run=run)

    p = sub.add_parser(
        "update",
        parents=[database],
        help="move a worker to another version of its template; exit 1 if the update fails",
        epilog=EXCLUSIVE_NOTE,
    )
    p.add_argument("worker", help="TEMPLATE/NAME")
    p.add_argument("--to", type=int, required=True, metavar="VERSION", help="the template version to run")
    p.add_argument(
        "--mode",
        choices=("auto", "snapshot"),
        default="auto",
        help="auto: replay its history on the new version (fails if the new code diverges); "
        "snapshot: move its saved state (default: auto)",
    )
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop waiting (exit 3); the update stays durably pending"
    )
    p.set_defaults(run=cmd_update)

    p = sub.add_parser(
        "serve", parents=[database], help="serve an API definition over HTTP; prints the URL it listens on"
    )
    p.add_argument("--api", required=True, help="the API definition file (YAML), e.g. templates/shop.api.yaml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument("--services", help="module:callable making the external services (default: the definition's)")
    p.add_argument(
        "--suspend-after",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="a durable sleep longer than this suspends its worker instead of holding a thread (default 1)",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="answer 504 'pending' (with the idempotency key to ask again with) when an invocation has not "
        "finished by then; it runs on (default 30; 0 waits for ever)",
    )
    several = p.add_argument_group(
        "several processes over one PostgreSQL database (--db postgresql://...)",
        "start `serve` as often as you like, on one machine or many: the processes split the workers' shards "
        "by leases in the database and forward each request to the worker's owner",
    )
    several.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="how many shards the workers are split into (set by the first "
        "process on a database, fixed after; default 16)",
    )
    several.add_argument(
        "--lease-seconds",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="a process silent this long loses its shards to the others (default 5)",
    )
    several.add_argument(
        "--advertise",
        metavar="URL",
        help="the URL the other processes reach this one at (default: the one it "
        "listens on; set it when listening on 0.0.0.0)",
    )
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("sim", help="run simulation experiments on a virtual cluster")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser(
        "run", help="run an experiment file; exit 0 when valid, 1 when a checker says invalid, 2 on a bad file"
    )
    q.add_argument("experiment", help="the experiment file (YAML), e.g. experiments/checkout-crash.yaml")
    q.add_argument("--seed", type=int, help="the seed (default: the file's); the same seed gives the same trace")
    q.add_argument("--out", help="results folder (default: results/<file name>-seed<N>)")
    q.add_argument("--no-baseline", action="store_true", help="skip the lambda baseline even if the file asks for it")
    q.set_defaults(run=cmd_sim_run)
    q = actions.add_parser(
        "campaign",
        help="run an experiment file under many seeds in parallel on Dask (pip install 'golemsim[campaign]'); "
        "exit 0 when every seed is valid, 1 when one is not",
        description="Run the experiment once per seed (durable workers only, oplogs in memory) on a local Dask "
        "cluster, or on an existing one with --scheduler. Prints, per checker, the valid and invalid seeds, and for "
        "each failing seed its results folder and the command that replays it; writes campaign.json and "
        "campaign.md. Exit 2 for a bad file or --seeds, or without Dask.",
    )
    q.add_argument("experiment", help="the experiment file (YAML)")
    q.add_argument("--seeds", required=True, help="FIRST-LAST, N, or a comma-separated list of both: 1-1000, 1-10,42")
    q.add_argument("--workers", type=int, help="worker processes of the local Dask cluster (default: CPU count)")
    q.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing Dask cluster's scheduler (tcp://host:8786) instead of a local cluster; its workers need "
        "golemsim, and the experiment's files and the campaign folder at the same paths",
    )
    q.add_argument("--out", help="the campaign's folder (default: results/campaign-<file name>)")
    q.set_defaults(run=cmd_sim_campaign)
    q = actions.add_parser(
        "shrink",
        help="reduce a failing run's fault plan to a small scripted plan that still fails; writes shrunk.yaml",
        description="Read a failing run's results folder (from sim run or a campaign), turn the faults it applied "
        "into a scripted plan, and while the failure persists drop faults (delta debugging), shorten them and move "
        "them later. Writes RESULTS_DIR/shrunk.yaml, which replays the counter-example. Exit 0 when written, 1 when "
        "the scripted plan did not fail again, 2 for a missing or valid results folder.",
    )
    q.add_argument("results", metavar="RESULTS_DIR", help="the results folder of an invalid run")
    q.add_argument("--max-runs", type=int, default=40, help="at most this many simulation runs (default 40)")
    q.add_argument(
        "--checker",
        action="append",
        metavar="NAME",
        help="the failure to keep: this checker invalid (repeatable; default: any checker that was invalid)",
    )
    q.set_defaults(run=cmd_sim_shrink)

    p = sub.add_parser("demo", help="crash an executor with SIGKILL again and again; check nothing is lost")
    p.add_argument("--out", default="results/crash-demo", help="folder for the database and the report")
    p.add_argument("--invocations", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser(
        "wit",
        help="write golemsim's host WIT (golemsim:host@0.1.0) into DIR/wit/deps/golemsim-host/, "
        "for a component built by another toolchain",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("dir", metavar="DIR", nargs="?", help="the component's folder (wit/ is made if missing)")
    where.add_argument("--print", action="store_true", help="write the WIT to stdout instead")
    p.set_defaults(run=cmd_wit)

    p = sub.add_parser(
        "new",
        help="write a folder that runs under faults as it is: a template, its API definition, a workload, "
        "an invariant and an experiment file",
        description="Write PARENT/NAME/ (./NAME by default): a template of your own (wallets paying each other "
        "with worker-to-worker calls), its API definition, workload.py, invariants.py, experiment.yaml and a "
        "README. `golemsim sim run PARENT/NAME/experiment.yaml` runs it. Exit 2 for a bad name or a folder that "
        "is not empty.",
    )
    p.add_argument("name", metavar="NAME", help="the folder's name; the template's is NAME in lower case, '_' as '-'")
    p.add_argument("--dir", default=".", metavar="PARENT", help="where the folder goes (default: the current one)")
    p.add_argument("--force", action="store_true", help="write into an existing, non-empty folder (over its files)")
    p.set_defaults(run=cmd_new)

    p = sub.add_parser(
        "examples",
        help="copy the shipped templates, API definitions and experiments into DIR, to run and edit them",
        description="Write DIR/templates/ (the shipped templates' sources and their API definitions) and "
        "DIR/experiments/ (the shipped experiment files, which name ../templates/...). "
        "`golemsim sim run DIR/experiments/checkout-crash.yaml` runs one. Exit 2 for a folder that is not empty.",
    )
    p.add_argument("dir", metavar="DIR", help="where the copies go (made if missing)")
    p.add_argument("--force", action="store_true", help="write into an existing, non-empty folder (over its files)")
    p.set_defaults(run=cmd_examples)

    p = sub.add_parser("schema", help="print the JSON Schema of experiment files or API definitions")
    p.add_argument("kind", choices=("experiment", "api"), help="experiment: experiment files; api: API definitions")
    p.set_defaults(run=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    logging.getLogger("golemsim.progress").setLevel(logging.INFO)  # long steps say so on stderr
    try:
        return int(args.run(args))
    except InvocationFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except DefinitionError as error:  # one "file:line: field: message" line per mistake
        print(error, file=sys.stderr)
        return 2
    except (GolemError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # PostgreSQL's errors (psycopg is optional, so not imported here)
        if not type(error).__module__.startswith("psycopg"):
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: the database failed: {first_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
