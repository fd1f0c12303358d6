"""``golemsim serve``: a thin HTTP layer (stdlib ThreadingHTTPServer) over Gateway.handle."""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from ..core.errors import BadRequest
from ..core.postgres import is_postgres_url
from ..core.services import LedgerRegistry, ServiceRegistry, services_path
from .check import check_against_templates
from .definition import ApiDefinition, load_api_definition
from .gateway import REQUEST_TIMEOUT_SECONDS, ExecutorBackend, Gateway, Request, Response, error_response

if TYPE_CHECKING:
    from ..core.executor import Executor

log = logging.getLogger("golemsim.gateway")

MAX_BODY_BYTES = 8 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    server_version = "golemsim"
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    disable_nagle_algorithm = True  # else a kept-alive answer's body waits for the ACK of its headers (~40 ms)
    timeout = 60
    """An idle kept-alive connection is closed after this many seconds."""

    def _dispatch(self) -> None:
        started = time.perf_counter()
        with self.server.tracking():
            response = self._answer()
            self._send(response)
        millis = (time.perf_counter() - started) * 1000
        kind = response.error_kind
        worker = response.headers.get("Golem-Worker")
        detail = "".join(f" {part}" for part in (worker, kind) if part)
        log.info(
            '%s "%s %s" %d %.1f ms%s', self.client_address[0], self.command, self.path, response.status, millis, detail
        )

    def _answer(self) -> Response:
        length_text = self.headers.get("Content-Length")
        try:
            length = int(length_text) if length_text else 0
        except ValueError:
            return error_response(400, "bad-body", f"Content-Length is not a number: {length_text!r}")
        if length > MAX_BODY_BYTES:
            return error_response(413, "too-large", f"the body is larger than {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(self.command, self.path, dict(self.headers.items()), body)
        return self.server.gateway.handle(request)

    def _send(self, response: Response) -> None:
        content = response.content()
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if content or response.status not in (204, 304):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            log.info("%s went away before its response to %s %s", self.client_address[0], self.command, self.path)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the stdlib detects itself (a malformed request line, ...) are JSON too."""
        self.close_connection = True
        self._send(error_response(code, "bad-request" if code < 500 else "internal", message or explain or "error"))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _dispatch logs each request with its timing

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.client_address[0], format % args)


class GatewayServer(ThreadingHTTPServer):
    """Serves one Gateway over HTTP; ``close()`` waits for the requests in flight."""

    daemon_threads = True
    request_queue_size = 128
    """Connections waiting to be accepted (the stdlib's 5 resets clients under load)."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> None:
        self.gateway = gateway
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"

    def tracking(self) -> _InFlight:
        return _InFlight(self)

    def close(self, timeout: float = 30.0) -> bool:
        """Stop listening and wait up to ``timeout`` for requests in flight; False if some are still running."""
        self.server_close()
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True


class _InFlight:
    def __init__(self, server: GatewayServer) -> None:
        self.server = server

    def __enter__(self) -> None:
        with self.server._idle:
            self.server._in_flight += 1

    def __exit__(self, *exc: object) -> None:
        with self.server._idle:
            self.server._in_flight -= 1
            self.server._idle.notify_all()


ServicesFactory = Callable[[str | Path], ServiceRegistry]
"""Makes the external services from where their ledger lives: the path of a ledger file
(``<db>-services.db``), or for a PostgreSQL database its URL (the ledger's tables live in it)."""


def services_factory(spec: str) -> ServicesFactory:
    """Import ``module:callable``; BadRequest with a clear message when it is not there."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BadRequest(f"services {spec!r}: cannot import {module_name}: {error}") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise BadRequest(f"services {spec!r}: {module_name} has no callable {attribute}")
    return cast(ServicesFactory, factory)


def make_services(spec: str | None, db: str | Path) -> ServiceRegistry:
    """The external services ``serve`` runs with, their ledger beside the database (in it, for a
    PostgreSQL URL: see services_path).

    ``spec`` (``module:callable``, from ``--services`` or the definition's ``services:``) names
    the factory; with none, a plain deduplicating ledger that answers every service name by
    echoing its request (golemsim.core's LedgerRegistry: no business rules, no shop).
    """
    path = services_path(db)
    if spec is None:
        return LedgerRegistry(path)
    return services_factory(spec)(path)


def deploy_missing(executor: Executor, definition: ApiDefinition, out: IO[str]) -> list[str]:
    """Deploy each template of ``definition.templates`` that has no deployed version yet."""
    deployed = {info.name for info in executor.list_templates()}
    done = []
    for name, folder in definition.templates.items():
        if name in deployed:
            continue
        print(f"deploying {name} from {folder}", file=out, flush=True)
        executor.deploy(folder, name=name)
        done.append(name)
    return done


def _open_single_server(
    definition: ApiDefinition,
    db: str | Path,
    services: ServiceRegistry,
    host: str,
    port: int,
    suspend_after: float,
    request_timeout: float | None,
    err: IO[str],
) -> tuple[GatewayServer, Callable[[], None]]:
    """The one executor of a SQLite database, deployed and checked, and its server."""
    from ..core.executor import Executor

    executor = Executor.open(db, services=services, suspend_after=suspend_after)
    try:
        deploy_missing(executor, definition, err)
        backend = ExecutorBackend(executor, timeout=request_timeout)
        check_against_templates(definition, backend.functions)
        return GatewayServer(Gateway(definition, backend), host, port), executor.close
    except BaseException:
        executor.close()
        raise


def serve(
    api: str | Path,
    db: str | Path = "golem.db",
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    services: str | None = None,
    suspend_after: float = 1.0,
    request_timeout: float | None = REQUEST_TIMEOUT_SECONDS,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    shards: int | None = None,
    lease_seconds: float = 5.0,
    advertise: str | None = None,
) -> int:
    """Load the definition, open the executor, deploy what is missing, check the routes, and serve until a signal.

    ``services``: ``module:callable`` making the external services, over the definition's own
    ``services:``; when neither names one, a plain echoing ledger (see ``make_services``).
    ``suspend_after``: durable sleeps longer than this many seconds suspend their worker.
    ``request_timeout``: a request whose invocation has not answered by then gets 504 "pending"
    with the idempotency key to ask again with (None: wait for ever).
    Prints the URL on one line to ``stdout`` once listening; SIGTERM or SIGINT stop it cleanly
    (requests in flight finish, then the executor closes). Returns the exit code.

    On a PostgreSQL ``db`` this process is one of any number serving the same API over the same
    database (golemsim.scaleout): it holds leases on a fair share of the ``shards`` (fixed by the
    first process; default 16), renewed every third of ``lease_seconds``, and forwards a request
    for a worker of another process's shard to that process. ``advertise`` is the URL the others
    reach it at (default: the URL it listens on).
    """
    out, err = stdout or sys.stdout, stderr or sys.stderr
    definition = load_api_definition(api)
    registry = make_services(services or definition.services, db)
    if is_postgres_url(db):
        from ..scaleout.serve import open_node_server

        server, close = open_node_server(
            definition,
            str(db),
            registry,
            host=host,
            port=port,
            suspend_after=suspend_after,
            request_timeout=request_timeout,
            shards=shards,
            lease_seconds=lease_seconds,
            advertise=advertise,
            err=err,
        )
    else:
        server, close = _open_single_server(definition, db, registry, host, port, suspend_after, request_timeout, err)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if not stop.is_set():
            stop.set()
            print(f"{signal.Signals(signum).name}: stopping", file=err, flush=True)
            threading.Thread(target=server.shutdown, name="gateway-shutdown", daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        routes = len(definition.routes)
        print(
            f"serving {definition.name}: {routes} route(s) from {definition.source}; OpenAPI at /openapi.json", file=err
        )
        print(server.url, file=out, flush=True)
        server.serve_forever()
    finally:
        finished = server.close()
        if not finished:
            print("requests still running after 30 s; closing anyway", file=err, flush=True)
        close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", file=err, flush=True)
    return 0
