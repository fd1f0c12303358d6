"""Which imports golemsim can make durable: the check a component passes at deploy.

A worker is durable only if everything it can learn from outside its own memory is either
recorded in its oplog or the same on every run. So each interface a component imports is
classified by name, the patch version of a WASI 0.2 interface aside (componentize-py builds
import ``@0.2.9``, componentize-js ``@0.2.12``, a preview1 module adapted by jco whatever
adapter it ships):

| imported interface (WASI: any ``@0.2.N``)                 | kind     | why it cannot break replay                |
| --------------------------------------------------------- | -------- | ----------------------------------------- |
| ``wasi:clocks/wall-clock``, ``/monotonic-clock``          | recorded | each read is a host call in the oplog [1] |
| ``wasi:random/random``, ``/insecure``, ``/insecure-seed`` | recorded | likewise                                  |
| ``golemsim:host/durable@0.1.0``                           | host     | golemsim's own: every call is durable     |
| ``wasi:io/*``                                             | inert    | streams, polls, errors: nothing outside   |
| ``wasi:cli/*``                                            | inert    | nothing to read; output to a log [2]      |
| ``wasi:filesystem/*``                                     | inert    | nothing is preopened                      |
| ``wasi:sockets/*``                                        | inert    | the WASI config grants no network [3]     |
| anything else                                             | refused  | golemsim cannot record or replay it [4]   |

[1] answered from the oplog on replay; clock subscriptions fail the invocation (use durable sleep).
[2] arguments and environment are empty, stdin is empty, stdout and stderr go to the worker's log file,
    no terminal; ``exit`` ends the invocation the same way on every run.
[3] ``WorkerInstance`` sets no network on its ``wasmtime.WasiConfig``, and wasmtime-py's ``WasiConfig`` has
    no call that would (the C API's ``wasi_config_inherit_network`` and ``wasi_config_allow_ip_name_lookup``
    are not wrapped): wasmtime's default socket-address check refuses every address, name lookup is off.
[4] ``wasi:http/*``, ``wasi:keyvalue/*``, any other package or custom interface, WASI other than 0.2.N,
    a function imported on its own: a worker reaches the outside world only through ``golemsim:host/durable``.

``wasi_shadows.shadow_for`` picks the recording functions for the "recorded" rows by the same
version-agnostic names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

from .errors import InvalidComponent

HOST_INTERFACE = "golemsim:host/durable@0.1.0"
"""golemsim's host interface (the name ``WorkerInstance`` links)."""

RECORDED = frozenset(
    {
        "wasi:clocks/wall-clock",
        "wasi:clocks/monotonic-clock",
        "wasi:random/random",
        "wasi:random/insecure",
        "wasi:random/insecure-seed",
    }
)
"""WASI 0.2 interfaces whose every value golemsim records, named without their version."""

INERT_PACKAGES = {
    "wasi:io": "streams, polls and errors over what the worker already has",
    "wasi:cli": "empty arguments, environment and stdin; output to a private log; no terminal",
    "wasi:filesystem": "nothing is preopened",
    "wasi:sockets": "the worker's WASI config grants no network",
}
"""WASI 0.2 packages that cannot make a worker see anything that differs between runs, and why."""

_WASI_02 = re.compile(r"^(?P<base>wasi:[a-z0-9-]+/[a-z0-9-]+)@0\.2\.\d+$")


class ImportKind(Enum):
    """How golemsim treats an imported interface."""

    RECORDED = "recorded"
    HOST = "host"
    INERT = "inert"
    REFUSED = "refused"


def wasi_02_base(interface: str) -> str | None:
    """``wasi:pkg/iface`` for a WASI ``@0.2.N`` interface name (any patch N), else None."""
    match = _WASI_02.match(interface)
    return match.group("base") if match else None


def classify(interface: str) -> ImportKind:
    """The kind of an imported interface, by its full name (``wasi:clocks/wall-clock@0.2.12``)."""
    if interface == HOST_INTERFACE:
        return ImportKind.HOST
    base = wasi_02_base(interface)
    if base is None:
        return ImportKind.REFUSED
    if base in RECORDED:
        return ImportKind.RECORDED
    if base.split("/", 1)[0] in INERT_PACKAGES:
        return ImportKind.INERT
    return ImportKind.REFUSED


def refused_imports(imports: Iterable[str]) -> list[str]:
    """The imports, in order, that golemsim cannot make durable."""
    return [name for name in imports if classify(name) is ImportKind.REFUSED]


def check_imports(template: str, imports: Iterable[str]) -> None:
    """Raise InvalidComponent, in one line naming the import, if ``template`` imports anything refused."""
    refused = refused_imports(imports)
    if refused:
        raise InvalidComponent(
            f"template {template} imports {', '.join(refused)}, which golemsim cannot record or replay "
            "(golemsim workers reach the outside world only through golemsim:host/durable)"
        )
