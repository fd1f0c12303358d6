"""The ``golemsim`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .core import Executor, GolemError, InvocationFailed, WorkerId, build_template
from .core.errors import BadRequest
from .gateway.nodes import DefinitionError
from .shop import ShopServices

DEFAULT_DB = "golem.db"


def _parse_arg(text: str) -> Any:
    """A CLI argument is JSON when it parses as JSON, else a plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_build(args: argparse.Namespace) -> int:
    built = build_template(args.folder, force=args.force)
    state = "cached" if built.cached else "built"
    print(f"{built.name} v{built.version}: {state} {built.wasm_path}")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    with Executor.open(args.db, resume=False) as ex:
        info = ex.deploy(args.source, name=args.name, version=args.version, replace=args.replace)
    print(f"deployed {info.name} v{info.version} ({info.size / 1e6:.1f} MB, sha256 {info.component_hash[:12]})")
    for signature in info.functions:
        print(f"  {signature}")
    return 0


def default_services(db: str | Path) -> ShopServices:
    """The CLI's external world: the shop's services on a ledger next to the database
    (other service names are echoed by the same ledger)."""
    if str(db) == ":memory:":
        return ShopServices(":memory:")
    path = Path(db)
    return ShopServices(path.with_name(path.name + "-services.db"))


def cmd_invoke(args: argparse.Namespace) -> int:
    worker = WorkerId.parse(args.worker)
    values = json.loads(args.json_args) if args.json_args is not None else [_parse_arg(a) for a in args.args]
    if not isinstance(values, list):
        raise BadRequest("--json-args must be a JSON array")
    with Executor.open(args.db, services=default_services(args.db)) as ex:
        result = ex.invoke(worker.template, worker.name, args.function, values, idempotency_key=args.key)
    print(json.dumps(result))
    return 0


def cmd_oplog(args: argparse.Namespace) -> int:
    with Executor.open(args.db, resume=False, exclusive=False) as ex:
        entries = ex.oplog(args.worker, start=args.start)
    for index, entry in entries:
        if args.json:
            print(json.dumps({"index": index, "kind": entry.kind, **entry.__dict__}))
        else:
            print(f"{index:>6}  {entry.kind:<22} {entry.describe()}")
    return 0


def cmd_workers(args: argparse.Namespace) -> int:
    with Executor.open(args.db, resume=False, exclusive=False) as ex:
        infos = ex.workers()
    if args.json:
        rows = [
            {
                "worker": str(i.worker_id),
                "template_version": i.template_version,
                "status": i.status.value,
                "oplog_length": i.oplog_length,
                "error": i.error,
            }
            for i in infos
        ]
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'WORKER':<32} {'TEMPLATE':<16} {'VERSION':>7} {'STATUS':<10} {'OPLOG':>7}")
    for i in infos:
        print(
            f"{i.worker_id!s:<32} {i.worker_id.template:<16} {i.template_version:>7} "
            f"{i.status.value:<10} {i.oplog_length:>7}"
        )
        if i.error:
            print(f"  error: {i.error}")
    return 0


def cmd_templates(args: argparse.Namespace) -> int:
    with Executor.open(args.db, resume=False, exclusive=False) as ex:
        for info in ex.list_templates():
            print(f"{info.name} v{info.version}  {info.size / 1e6:.1f} MB  sha256 {info.component_hash[:12]}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .gateway import serve

    logging.getLogger("golemsim.gateway").setLevel(logging.INFO)  # one line a request on stderr
    return serve(
        args.api, args.db, host=args.host, port=args.port, services=args.services, suspend_after=args.suspend_after
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_crash_demo

    report = run_crash_demo(Path(args.out), invocations=args.invocations, seed=args.seed)
    print(report.text())
    return 0 if report.valid else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="golemsim", description="Durable WebAssembly workers with an oplog.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the executor does")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build a template folder into a component (cached by source hash)")
    p.add_argument("folder")
    p.add_argument("--force", action="store_true", help="rebuild even if the sources did not change")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser("deploy", help="deploy a template folder or .wasm file")
    p.add_argument("source")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--name", help="template name (default: from golemsim.toml or the file name)")
    p.add_argument("--version", type=int, help="deploy as this version (default: next one if the code changed)")
    p.add_argument("--replace", action="store_true", help="overwrite an existing version's code (workers may diverge)")
    p.set_defaults(run=cmd_deploy)

    p = sub.add_parser("invoke", help="invoke a function on a worker; prints the result as JSON")
    p.add_argument("worker", help="TEMPLATE/NAME, for example counter/c1")
    p.add_argument("function")
    p.add_argument("args", nargs="*", help="arguments: JSON values, or plain strings")
    p.add_argument("--json-args", help="all arguments as one JSON array instead")
    p.add_argument("--key", help="idempotency key (a repeat returns the first result)")
    p.add_argument("--db", default=DEFAULT_DB)
    p.set_defaults(run=cmd_invoke)

    p = sub.add_parser("oplog", help="print a worker's oplog, one entry a line")
    p.add_argument("worker")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    p.add_argument("--from", dest="start", type=int, default=1, help="first index to print")
    p.set_defaults(run=cmd_oplog)

    p = sub.add_parser("workers", help="list workers with template, status and oplog length")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_workers)

    p = sub.add_parser("templates", help="list deployed templates")
    p.add_argument("--db", default=DEFAULT_DB)
    p.set_defaults(run=cmd_templates)

    p = sub.add_parser("serve", help="serve an API definition over HTTP; prints the URL it listens on")
    p.add_argument("--api", required=True, help="the API definition file (YAML), e.g. templates/shop.api.yaml")
    p.add_argument("--db", default=DEFAULT_DB)
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
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("demo", help="crash an executor with SIGKILL again and again; check nothing is lost")
    p.add_argument("--out", default="results/crash-demo", help="folder for the database and the report")
    p.add_argument("--invocations", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=cmd_demo)
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
    except KeyboardInterrupt:
        return 130
