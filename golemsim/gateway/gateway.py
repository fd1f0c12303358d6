"""The gateway itself: a request in, an invocation of a worker, a response out; no HTTP server here.

``Gateway.handle(request) -> response`` is the whole job; it is split into ``bind`` (request ->
invocation, or an error response), the backend's ``invoke``, and ``respond`` / ``failure``
(result or exception -> response), so that a simulated gateway can run the invocation in
simulated time between the two halves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from wasmtime import component as wc

from ..core.errors import (
    BadArgument,
    BadRequest,
    FunctionNotFound,
    GolemError,
    Interrupted,
    InvocationFailed,
    InvocationPending,
    PromiseNotFound,
    TemplateNotFound,
    WorkerFailed,
)
from ..core.ids import WorkerId
from ..core.promises import promise_owner
from ..core.templates import FunctionSignature
from .binding import BadBody, MissingArgument, bind_args, describe_bad_argument, parse_body
from .definition import BUILTIN_SEGMENT, OPENAPI_PATH, PROMISES_PATH, ApiDefinition, Route
from .paths import split_path

if TYPE_CHECKING:
    from ..core.executor import Executor

log = logging.getLogger("golemsim.gateway")

RETRY_AFTER_SECONDS = 1
"""What a 503 asks the client to wait before retrying."""


@dataclass(frozen=True)
class Request:
    """An HTTP request as the gateway sees it: method, target (path and query), headers, body."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, method: str, target: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Request:
        """A request with a JSON body (none when ``body`` is None)."""
        data = b"" if body is None else json.dumps(body).encode()
        return cls(method, target, dict(headers or {}), data)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, list[str]]:
        _, _, text = self.target.partition("?")
        return parse_qs(text, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


@dataclass(frozen=True)
class Response:
    """The gateway's answer: a status, a JSON body (None for no body) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        """The body as bytes (JSON), empty when the status carries no body."""
        if self.status in (204, 304):
            return b""
        return json.dumps(self.body).encode()

    @property
    def error_kind(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            kind = self.body["error"].get("kind")
            return str(kind) if kind is not None else None
        return None


def error_response(
    status: int, kind: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """``{"error": {"kind": ..., "message": ...}}`` with a one-line message."""
    one_line = " ".join(message.split())
    return Response(status, {"error": {"kind": kind, "message": one_line, **extra}}, headers or {})


@dataclass(frozen=True)
class Invocation:
    """A request bound to one invocation of a worker's function."""

    route: Route
    worker_id: WorkerId
    function: str
    args: list[Any]
    signature: FunctionSignature
    idempotency_key: str | None
    variables: dict[str, str]

    @property
    def template(self) -> str:
        return self.worker_id.template

    @property
    def worker(self) -> str:
        return self.worker_id.name


class Backend(Protocol):
    """What the gateway needs from whatever runs the workers (an Executor, or a simulated cluster)."""

    def signature(self, template: str, function: str) -> FunctionSignature:
        """The newest deployed version's signature; TemplateNotFound or FunctionNotFound if there is none."""
        ...

    def functions(self, template: str) -> dict[str, FunctionSignature]:
        """The newest deployed version's exports by name (to check a definition's routes); TemplateNotFound."""
        ...

    def recovering(self, template: str, worker: str) -> bool:
        """True while the worker is being rebuilt or finishes work from before a restart (answered 503)."""
        ...

    def invoke(self, invocation: Invocation) -> Any:
        """Run the invocation and return its JSON result; raise the core's errors."""
        ...

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        """Complete a promise with a JSON value; False if it was completed before (the first value stands).

        Raise PromiseNotFound for a promise its worker does not have, WorkerFailed if the worker cannot run.
        """
        ...


REQUEST_TIMEOUT_SECONDS = 30.0
"""How long a request waits for its invocation's answer before it is answered 504 "pending"."""


class ExecutorBackend:
    """The Backend over a real Executor.

    A request waits up to ``timeout`` seconds (None: for ever) for its invocation's answer;
    past that the invocation runs on and the request is answered 504 with its idempotency key.
    """

    def __init__(self, executor: Executor, *, timeout: float | None = REQUEST_TIMEOUT_SECONDS) -> None:
        self.executor = executor
        self.timeout = timeout

    def signature(self, template: str, function: str) -> FunctionSignature:
        return self.executor.templates.get(template).function(function)

    def functions(self, template: str) -> dict[str, FunctionSignature]:
        return self.executor.templates.get(template).functions

    def recovering(self, template: str, worker: str) -> bool:
        return self.executor.recovering(template, worker)

    def invoke(self, invocation: Invocation) -> Any:
        key = invocation.idempotency_key or str(uuid.uuid4())  # the executor's form; named in a 504 to ask again
        try:
            return self.executor.invoke(
                invocation.template,
                invocation.worker,
                invocation.function,
                invocation.args,
                idempotency_key=key,
                timeout=self.timeout,
            )
        except TimeoutError:
            raise InvocationPending(str(invocation.worker_id), key, self.timeout) from None

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        return self.executor.complete_promise(promise_id, value)


class Gateway:
    """Routes requests to worker invocations as an ApiDefinition says."""

    def __init__(self, definition: ApiDefinition, backend: Backend, *, new_id: Callable[[], str] | None = None) -> None:
        self.definition = definition
        self.backend = backend
        self.new_id = new_id or (lambda: uuid.uuid4().hex[:20])
        """The id of a fresh worker when the request has no Idempotency-Key (a simulation passes a seeded one)."""
        self._routes = sorted(definition.routes, key=lambda r: (r.path.specificity, r.index))

    # -- the whole request ------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises (an unexpected error is a 500 with a one-line message)."""
        try:
            bound = self.bind(request)
            if isinstance(bound, Response):
                return bound
            if self.backend.recovering(bound.template, bound.worker):
                return recovering(bound.worker_id)
            try:
                result = self.backend.invoke(bound)
            except Exception as error:
                return self.failure(error, bound)
            return self.respond(bound, result)
        except Exception as error:
            return self.failure(error)

    # -- request -> invocation ------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | Response:
        """The route for a method and path, with its variables; or a 404 / 405 response."""
        segments = split_path(path)
        allowed: list[str] = []
        for route in self._routes:
            variables = route.path.match(segments)
            if variables is None:
                continue
            if route.method == method.upper():
                return route, variables
            allowed.append(route.method)
        if allowed:
            methods = ", ".join(dict.fromkeys(sorted(allowed)))
            return error_response(
                405, "method-not-allowed", f"{path} takes {methods}, not {method.upper()}", headers={"Allow": methods}
            )
        return error_response(404, "not-found", f"no route for {method.upper()} {path}")

    def bind(self, request: Request) -> Invocation | Response:
        """Turn a request into an invocation: route, worker name, typed arguments, idempotency key.

        Answers itself (a Response) for /openapi.json, unknown routes and bad arguments, and for
        the built-in routes under /_golemsim/: completing a promise is one durable write through
        the backend (``Backend.complete_promise``), done here, not an invocation.
        """
        if request.method.upper() == "GET" and request.path == OPENAPI_PATH:
            return Response(200, self.openapi())
        segments = split_path(request.path)
        if segments[:1] == [BUILTIN_SEGMENT]:  # matched before the definition's routes, which cannot use it
            return self._builtin(request, segments)
        matched = self.match(request.method, request.path)
        if isinstance(matched, Response):
            return matched
        route, variables = matched
        key = request.header("Idempotency-Key") or None
        try:
            signature = self.backend.signature(route.template, route.function)
            worker_id = WorkerId(route.template, self._worker_name(route, variables, key))
            body = self._body(route, request.body)
            headers = {k.lower(): v for k, v in request.headers.items()}
            args = bind_args(route, signature, variables, request.query, headers, body)
        except (TemplateNotFound, FunctionNotFound, BadRequest) as error:
            return self.failure(error)
        return Invocation(route, worker_id, route.function, args, signature, key, variables)

    # -- built-in routes --------------------------------------------------------------------

    def _builtin(self, request: Request, segments: list[str]) -> Response:
        if segments != [BUILTIN_SEGMENT, "promises"]:
            return error_response(404, "not-found", f"no built-in route {request.path} (there is {PROMISES_PATH})")
        if request.method.upper() != "POST":
            return error_response(
                405,
                "method-not-allowed",
                f"{PROMISES_PATH} takes POST, not {request.method.upper()}",
                headers={"Allow": "POST"},
            )
        try:
            promise_id, value = _promise_completion(request.body)
        except BadRequest as error:
            return self.failure(error)
        try:
            owner = promise_owner(promise_id)
        except BadRequest as error:
            return error_response(400, "bad-promise-id", str(error))
        try:
            completed = self.backend.complete_promise(promise_id, value)
        except PromiseNotFound as error:
            return error_response(404, "promise-not-found", str(error))
        except Exception as error:
            return self.failure(error)
        return Response(200, {"completed": bool(completed)}, {"Golem-Worker": str(owner)})

    @staticmethod
    def _body(route: Route, data: bytes) -> Any:
        if not route.uses_body:
            return None
        whole = any(arg.source == "body" and arg.name is None for arg in route.args)
        if not whole and not data.strip():
            return {}  # only fields are read: each one absent, so its default (or a 400 naming it)
        body = parse_body(data)
        if not whole and not isinstance(body, dict):
            raise BadBody(f"the request body must be a JSON object, got {json.dumps(body)[:60]}")
        return body

    def _worker_name(self, route: Route, variables: dict[str, str], key: str | None) -> str:
        spec = route.worker
        if spec.pattern is not None:
            return spec.pattern.fill(variables)
        assert spec.fresh_prefix is not None
        if key is None:
            return spec.fresh_prefix + self.new_id()
        # a retried request (same key) reaches the same worker, and the worker returns the first result
        return spec.fresh_prefix + hashlib.sha256(key.encode()).hexdigest()[:20]

    # -- outcome -> response ----------------------------------------------------------------

    def respond(self, invocation: Invocation, result: Any) -> Response:
        """Map a function's JSON result: a WIT result's ``ok`` -> success status, ``err`` -> the error status."""
        route = invocation.route
        headers = {"Golem-Worker": str(invocation.worker_id)}
        values = {**invocation.variables, "worker": invocation.worker}
        headers.update({name: pattern.fill(values) for name, pattern in route.response.headers.items()})
        result_type = invocation.signature.result
        if isinstance(result_type, wc.ResultType) and isinstance(result, dict) and len(result) == 1:
            if "err" in result:
                kind, message = business_error(invocation.function, result_type.err, result["err"])
                response = error_response(route.response.error_status, kind, message, value=result["err"])
                return Response(response.status, response.body, headers)
            result = result.get("ok")
        if route.response.status == 204:
            return Response(204, None, headers)
        return Response(route.response.status, result, headers)

    def failure(self, error: BaseException, invocation: Invocation | None = None) -> Response:
        """Map an error to its status; the message is one line, never a stack trace."""
        where = f" on {invocation.worker_id}" if invocation is not None else ""
        if isinstance(error, BadBody):
            return error_response(400, "bad-body", str(error))
        if isinstance(error, MissingArgument):
            return error_response(400, "missing-argument", str(error))
        if isinstance(error, FunctionNotFound):  # the definition names a function the template lacks
            return error_response(500, "function-not-found", str(error))
        if isinstance(error, BadArgument) and invocation is not None:
            return error_response(400, "bad-argument", describe_bad_argument(invocation.route, error))
        if isinstance(error, BadRequest):
            return error_response(400, "bad-argument", str(error))
        if isinstance(error, TemplateNotFound):
            return error_response(500, "template-not-found", str(error))
        if isinstance(error, InvocationFailed):
            return error_response(500, "invocation-failed", str(error))
        if isinstance(error, WorkerFailed):
            return error_response(500, "worker-failed", f"worker{where} cannot run: {error}")
        if isinstance(error, InvocationPending):  # accepted, may still complete: ask again with the same key
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Idempotency-Key": error.key}
            return error_response(504, "pending", str(error), headers=headers, idempotency_key=error.key)
        if isinstance(error, Interrupted):
            retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return error_response(503, "unavailable", f"the server is stopping{where}; retry", headers=retry)
        if isinstance(error, GolemError):
            return error_response(500, "internal", str(error))
        log.error("internal error%s: %r", where, error, exc_info=error)
        return error_response(500, "internal", f"internal error{where}: {type(error).__name__} (see the server log)")

    # -- documentation ----------------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        from .openapi import openapi_document

        def lookup(route: Route) -> FunctionSignature | None:
            try:
                return self.backend.signature(route.template, route.function)
            except GolemError:
                return None

        return openapi_document(self.definition, lookup)


def _promise_completion(data: bytes) -> tuple[str, Any]:
    """``{"id": "template/name/promise-...", "value": <any JSON>}`` -> (id, value); BadBody or MissingArgument."""
    body = parse_body(data)
    if not isinstance(body, dict):
        raise BadBody(f'the body must be a JSON object {{"id": ..., "value": ...}}, got {json.dumps(body)[:60]}')
    unknown = sorted(set(body) - {"id", "value"})
    if unknown:
        raise BadBody(f"unknown field(s) {', '.join(map(repr, unknown))}; the body has only 'id' and 'value'")
    if "id" not in body:
        raise MissingArgument("body field 'id' (the promise id) is missing")
    if "value" not in body:
        raise MissingArgument("body field 'value' is missing (send null to complete it without a value)")
    if not isinstance(body["id"], str):
        raise BadBody(f"body field 'id' must be a string, got {json.dumps(body['id'])[:60]}")
    return body["id"], body["value"]


def recovering(worker_id: WorkerId) -> Response:
    return error_response(
        503,
        "recovering",
        f"worker {worker_id} is recovering (replaying its oplog, or finishing work from before a restart); retry",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def business_error(function: str, err_type: Any, value: Any) -> tuple[str, str]:
    """(kind, message) of a typed error: a variant's or enum's case names its kind."""
    if isinstance(err_type, (wc.VariantType, wc.EnumType)):
        if isinstance(value, str):
            return value, f"{function}: {value}"
        if isinstance(value, dict) and len(value) == 1:
            case, payload = next(iter(value.items()))
            detail = payload if isinstance(payload, str) else json.dumps(payload)
            return str(case), f"{function}: {case}: {detail}"
    if isinstance(value, str):
        return "conflict", value
    return "conflict", f"{function} returned the error {json.dumps(value)}"
