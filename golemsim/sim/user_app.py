"""An app a user brings to the simulation: its templates, API definition, workload and invariants,
named by an experiment file (each by a path relative to that file).

    app:
      templates: {bank: ./bank}               # template name -> folder (or a folder with a prebuilt component)
      api: ./bank.api.yaml
      workload: ./workload.py:Transfers       # a golemsim.sim.Workload subclass
      invariants: [./invariants.py:money_is_conserved, golemsim.sim.invariants:orders_consistent]

A reference is ``path/to/file.py:name`` (relative to the experiment file) or ``package.module:name``
(an importable module, such as golemsim's own workloads and invariants).

An invariant is a function given the run's data (``RunData``) that returns a ``Verdict``.
A mistake in a user's Python file is reported with that file and line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import BadRequest
from ..core.ids import WorkerId
from ..core.oplog.store import OplogStore
from .checkers import Verdict
from .clients import ClientOp
from .services import ServiceRecord
from .workloads import Workload


@dataclass(frozen=True)
class Reference:
    """``file.py:name`` (a name defined by a user's Python file) or ``package.module:name``."""

    file: Path | None
    name: str
    module: str = ""

    def __str__(self) -> str:
        return f"{self.file.name if self.file else self.module}:{self.name}"


@dataclass(frozen=True)
class AppFiles:
    """What an experiment file names for a user's app, with paths resolved."""

    templates: dict[str, Path]
    api: Path
    workload: Reference
    invariants: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class RunData:
    """What an invariant is given: every client operation as the client saw it, each worker's
    final state (read with the workload's ``state_function``), the run's oplogs, and every request
    the simulated external services received (with its key and whether it was applied, answered
    from the record as a repeat, rejected or lost), so an invariant can check side effects too."""

    history: list[ClientOp]
    final_states: dict[WorkerId, Any]
    oplogs: OplogStore
    services: list[ServiceRecord] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)
    """The simulated inventory's stock per sku at the end (a sku never touched is not listed)."""
    opening_stock: int = 0
    """The stock every sku started with."""
    workload: Workload | None = None
    """The run's workload (its keys and settings, e.g. how much money the bank opened with)."""


Invariant = Callable[[RunData], Verdict]
"""A user's check of a run: a Verdict with counter-examples."""


def parse_reference(text: str, base: Path) -> Reference:
    """``path/to/file.py:name`` relative to ``base``, or ``package.module:name``. Raises
    BadRequest naming what is wrong."""
    path, colon, name = text.rpartition(":")
    if not colon or not path or not name.isidentifier():
        raise BadRequest(f"expected FILE.py:NAME or package.module:NAME, got {text!r}")
    if not path.endswith(".py") and all(part.isidentifier() for part in path.split(".")):
        return Reference(None, name, module=path)
    file = (base / path).resolve()
    if not file.is_file():
        raise BadRequest(f"no Python file {file}")
    return Reference(file, name)


def load_name(reference: Reference) -> Any:
    """Import the user's file (once per path and content: an edited file is imported afresh)
    and return ``reference.name`` from it.

    Raises BadRequest with the user's file and line for a syntax error or an exception while
    the file is imported, and names the file when the name is not defined there."""
    if reference.file is None:
        return _load_from_module(reference)
    try:
        source = reference.file.read_bytes()
    except OSError as error:
        raise BadRequest(f"cannot read {reference.file}: {error.strerror}") from None
    digest = hashlib.sha256(str(reference.file).encode() + b"\0" + source).hexdigest()[:16]
    module_name = f"golemsim_user_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, reference.file)
        if spec is None or spec.loader is None:
            raise BadRequest(f"cannot import {reference.file}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except SyntaxError as error:
            raise BadRequest(f"{reference.file}:{error.lineno}: syntax error: {error.msg}") from None
        except Exception as error:
            raise BadRequest(f"{where(reference.file, error)}: {type(error).__name__}: {error}") from None
        sys.modules[module_name] = module
    try:
        return getattr(module, reference.name)
    except AttributeError:
        raise BadRequest(f"{reference.file} defines no {reference.name!r}") from None


def _load_from_module(reference: Reference) -> Any:
    try:
        module = importlib.import_module(reference.module)
    except ImportError as error:
        raise BadRequest(f"cannot import {reference.module}: {error}") from None
    try:
        return getattr(module, reference.name)
    except AttributeError:
        raise BadRequest(f"{reference.module} defines no {reference.name!r}") from None


def load_workload(reference: Reference) -> type[Workload]:
    """The user's Workload subclass."""
    found = load_name(reference)
    if not (isinstance(found, type) and issubclass(found, Workload)):
        raise BadRequest(f"{reference}: expected a subclass of golemsim.sim.Workload, got {found!r}")
    if not getattr(found, "state_function", None):
        raise BadRequest(f"{reference}: set state_function, e.g. {{'bank': 'state'}} (template -> read-only export)")
    return found


def load_invariant(reference: Reference) -> Invariant:
    """The user's invariant function."""
    found = load_name(reference)
    if not callable(found):
        raise BadRequest(f"{reference}: expected a function taking RunData and returning a Verdict")
    return found  # type: ignore[no-any-return]


def check_invariant(reference: Reference, invariant: Invariant, data: RunData) -> Verdict:
    """Run a user's invariant; one that raises or returns no Verdict is an invalid verdict that
    names the user's file and line."""
    name = str(reference)
    try:
        verdict = invariant(data)
    except Exception as error:
        problem = f"{where(source_file(reference), error)}: {type(error).__name__}: {error}"
        return Verdict(name, False, 0, [{"problem": problem}], failures=1)
    if not isinstance(verdict, Verdict):
        return Verdict(name, False, 0, [{"problem": f"{name} returned {verdict!r}, not a Verdict"}], failures=1)
    return verdict


def source_file(reference: Reference) -> Path:
    """The Python file ``reference`` names a definition in."""
    if reference.file is not None:
        return reference.file
    return Path(getattr(sys.modules[reference.module], "__file__", None) or reference.module).resolve()


def where(file: Path, error: BaseException) -> str:
    """``file:line`` of the deepest frame of ``error``'s traceback in ``file`` (else the file)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == file]
    return f"{file}:{frames[-1].lineno}" if frames else str(file)
