"""Templates: deployed components, their versions, and their typed exports."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from wasmtime import component as wc

from .engine import Engine, component_hash
from .errors import BadArgument, BadRequest, FunctionNotFound, InvalidComponent, TemplateNotFound
from .oplog.sqlite_store import connect_read_only, table_names
from .policy import RetryPolicy, SnapshotPolicy
from .sqlite_wal import use_wal
from .type_views import cached as cached_type
from .values import from_json, to_json, type_name, unsupported_part
from .wasi_imports import check_imports


@dataclass(frozen=True)
class FunctionSignature:
    """An exported function's name and WIT types, read from the component type."""

    name: str
    params: list[tuple[str, Any]]
    result: Any

    def __str__(self) -> str:
        params = ", ".join(f"{n}: {type_name(t)}" for n, t in self.params)
        arrow = f" -> {type_name(self.result)}" if self.result is not None else ""
        return f"{self.name}({params}){arrow}"

    @cached_property
    def blocked(self) -> str | None:
        """The type in this signature that JSON cannot carry (a resource, stream, ...), if any."""
        types = [*(t for _, t in self.params), self.result]
        return next(filter(None, map(unsupported_part, types)), None)

    def args_from_json(self, args: list[Any]) -> list[Any]:
        """Convert JSON arguments to typed values, naming the parameter that does not fit."""
        if self.blocked is not None:
            raise BadRequest(f"{self} cannot be invoked through golemsim: its {self.blocked} cannot be passed as JSON")
        if not isinstance(args, list):
            raise BadRequest(f"{self.name}: arguments must be a JSON array, got {args!r}")
        if len(args) != len(self.params):
            raise BadRequest(f"{self}: expected {len(self.params)} argument(s), got {len(args)}")
        typed = []
        for index, ((name, ty), value) in enumerate(zip(self.params, args, strict=True)):
            try:
                typed.append(from_json(ty, value, f"{self.name}({name})"))
            except BadRequest as error:
                raise BadArgument(str(error), index) from None
        return typed

    def result_to_json(self, value: Any) -> Any:
        return to_json(self.result, value)


@dataclass(frozen=True)
class TemplateInfo:
    """A deployed template version, as listed to users."""

    name: str
    version: int
    component_hash: str
    size: int
    functions: list[str] = field(default_factory=list)


@dataclass
class CompiledTemplate:
    """A template version compiled and ready to instantiate."""

    name: str
    version: int
    component_hash: str
    component: wc.Component
    functions: dict[str, FunctionSignature]
    imports: dict[str, list[str]]
    """Imported interface name -> the function names the component imports from it."""
    retry: RetryPolicy | None = None
    """The template's own retry policy, if it was deployed with one."""
    snapshot: SnapshotPolicy | None = None
    """The template's own snapshot policy, if it was deployed with one."""

    def function(self, name: str) -> FunctionSignature:
        signature = self.functions.get(name)
        if signature is None:
            known = ", ".join(str(s) for s in self.functions.values())
            raise FunctionNotFound(
                f"template {self.name} v{self.version} has no function {name!r}; it exports: {known}"
            )
        return signature


def inspect_component(
    engine: Engine, component: wc.Component
) -> tuple[dict[str, FunctionSignature], dict[str, list[str]]]:
    """Read exported functions and imported interfaces from the component's type."""
    ty = component.type
    functions: dict[str, FunctionSignature] = {}
    for name, item in ty.exports(engine.wasmtime).items():
        item_ty = item.ty
        if isinstance(item_ty, wc.FuncType):
            params = [(param, cached_type(param_ty)) for param, param_ty in item_ty.params]
            functions[name] = FunctionSignature(name, params, cached_type(item_ty.result))
    imports: dict[str, list[str]] = {}
    for name, item in ty.imports(engine.wasmtime).items():
        item_ty = item.ty
        if isinstance(item_ty, wc.ComponentInstanceType):
            imports[name] = [n for n, f in item_ty.exports(engine.wasmtime).items() if isinstance(f.ty, wc.FuncType)]
    return functions, imports


def import_names(engine: Engine, component: wc.Component) -> list[str]:
    """Every name the component imports: interfaces, and any function or type imported on its own."""
    return list(component.type.imports(engine.wasmtime))


class TemplateStore(Protocol):
    """Where deployed components are kept: (name, version) -> content hash -> component bytes."""

    def put(
        self,
        name: str,
        version: int,
        data: bytes,
        retry: RetryPolicy | None = None,
        snapshot: SnapshotPolicy | None = None,
    ) -> None: ...

    def retry_policy(self, name: str, version: int) -> RetryPolicy | None:
        """The retry policy deployed with this version, if it has one."""
        ...

    def snapshot_policy(self, name: str, version: int) -> SnapshotPolicy | None:
        """The snapshot policy deployed with this version, if it has one."""
        ...

    def resolve(self, name: str, version: int | None = None) -> tuple[int, str]:
        """(version, content hash) of a version, the newest when ``version`` is None; cheap."""
        ...

    def component(self, digest: str) -> bytes: ...

    def versions(self) -> list[tuple[str, int, str, int]]:
        """Every deployed (name, version, hash, size)."""
        ...


class MemoryTemplateStore:
    def __init__(self) -> None:
        self._templates: dict[tuple[str, int], str] = {}
        self._components: dict[str, bytes] = {}
        self._retry: dict[tuple[str, int], RetryPolicy | None] = {}
        self._snapshot: dict[tuple[str, int], SnapshotPolicy | None] = {}

    def put(
        self,
        name: str,
        version: int,
        data: bytes,
        retry: RetryPolicy | None = None,
        snapshot: SnapshotPolicy | None = None,
    ) -> None:
        digest = component_hash(data)
        self._components[digest] = data
        self._templates[(name, version)] = digest
        self._retry[(name, version)] = retry
        self._snapshot[(name, version)] = snapshot

    def retry_policy(self, name: str, version: int) -> RetryPolicy | None:
        return self._retry.get((name, version))

    def snapshot_policy(self, name: str, version: int) -> SnapshotPolicy | None:
        return self._snapshot.get((name, version))

    def resolve(self, name: str, version: int | None = None) -> tuple[int, str]:
        known = sorted(v for (n, v) in self._templates if n == name)
        chosen = known[-1] if version is None and known else version
        if chosen is None or (name, chosen) not in self._templates:
            raise TemplateNotFound(_not_found(name, version))
        return chosen, self._templates[(name, chosen)]

    def component(self, digest: str) -> bytes:
        return self._components[digest]

    def versions(self) -> list[tuple[str, int, str, int]]:
        return [(n, v, h, len(self._components[h])) for (n, v), h in sorted(self._templates.items())]


class SQLiteTemplateStore:
    """Components stored in the executor's database, content-addressed, so the file is self-contained."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS components (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS templates (
        name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, retry TEXT, snapshot TEXT,
        PRIMARY KEY (name, version)
    );
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """``read_only``: an existing database, read without creating or migrating anything (a
        database without templates, like a simulation's oplog file, lists none)."""
        self._lock = threading.Lock()
        if read_only:
            self._conn = connect_read_only(path)
            if not {"components", "templates"} <= table_names(self._conn, path):
                self._conn.close()
                self._conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                self._conn.executescript(self.SCHEMA)
            return
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        use_wal(self._conn)
        self._conn.executescript(self.SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the snapshot column to a database made before snapshot policies. Checked and done
        under the write lock: two processes opening one old database must not both add it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(templates)")}
            if "snapshot" not in columns:
                self._conn.execute("ALTER TABLE templates ADD COLUMN snapshot TEXT")
        finally:
            self._conn.execute("COMMIT")

    def put(
        self,
        name: str,
        version: int,
        data: bytes,
        retry: RetryPolicy | None = None,
        snapshot: SnapshotPolicy | None = None,
    ) -> None:
        digest = component_hash(data)
        retry_json = json.dumps(retry.to_dict()) if retry is not None else None
        snapshot_json = json.dumps(snapshot.to_dict()) if snapshot is not None else None
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("INSERT OR IGNORE INTO components VALUES (?, ?)", (digest, data))
            self._conn.execute(
                "INSERT OR REPLACE INTO templates (name, version, hash, retry, snapshot) VALUES (?, ?, ?, ?, ?)",
                (name, version, digest, retry_json, snapshot_json),
            )
            self._conn.execute("COMMIT")

    def snapshot_policy(self, name: str, version: int) -> SnapshotPolicy | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT snapshot FROM templates WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return SnapshotPolicy.from_dict(json.loads(row[0]), f"snapshot policy of {name} v{version}")

    def retry_policy(self, name: str, version: int) -> RetryPolicy | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT retry FROM templates WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return RetryPolicy.from_dict(json.loads(row[0]), f"retry policy of {name} v{version}")

    def resolve(self, name: str, version: int | None = None) -> tuple[int, str]:
        query = "SELECT version, hash FROM templates WHERE name = ?"
        params: tuple[Any, ...] = (name,)
        if version is not None:
            query += " AND version = ?"
            params = (name, version)
        with self._lock:
            row = self._conn.execute(query + " ORDER BY version DESC LIMIT 1", params).fetchone()
        if row is None:
            raise TemplateNotFound(_not_found(name, version))
        return int(row[0]), str(row[1])

    def component(self, digest: str) -> bytes:
        with self._lock:
            row = self._conn.execute("SELECT bytes FROM components WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            raise TemplateNotFound(f"component {digest[:12]} is missing from the database")
        return bytes(row[0])

    def versions(self) -> list[tuple[str, int, str, int]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT t.name, t.version, t.hash, length(c.bytes) FROM templates t "
                "JOIN components c ON c.hash = t.hash ORDER BY t.name, t.version"
            ).fetchall()
        return [(n, int(v), h, int(s)) for n, v, h, s in rows]


def _not_found(name: str, version: int | None) -> str:
    which = f"template {name!r}" + (f" version {version}" if version is not None else "")
    return f"{which} is not deployed (deploy it with `golemsim deploy`)"


class TemplateRegistry:
    """Deploys template versions and hands out compiled templates (compiled once, then cached)."""

    def __init__(self, store: TemplateStore, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self._compiled: dict[tuple[str, int, str], CompiledTemplate] = {}
        # (name, version or None for the newest) -> (version, hash); this process is the only
        # deployer of its database (the executor holds its lock), so deploy() keeps it right.
        self._resolved: dict[tuple[str, int | None], tuple[int, str]] = {}
        self._lock = threading.Lock()

    def deploy(
        self,
        name: str,
        data: bytes,
        *,
        version: int | None = None,
        replace: bool = False,
        retry: RetryPolicy | None = None,
        snapshot: SnapshotPolicy | None = None,
    ) -> TemplateInfo:
        """Deploy component bytes as a version of ``name``.

        Without ``version``: identical bytes to the newest version are a no-op; otherwise the
        next version number is used. Overwriting an existing version's code needs ``replace``
        (workers on it will then diverge if the new code does other host calls).
        A component importing anything golemsim cannot record or replay is refused
        (InvalidComponent naming the import; see ``wasi_imports``).
        """
        digest = component_hash(data)
        compiled = self._compile(name, 0, digest, data)
        check_imports(name, import_names(self.engine, compiled.component))
        existing = {v: h for n, v, h, _ in self.store.versions() if n == name}
        if version is None:
            newest = max(existing, default=0)
            if newest and existing[newest] == digest:
                version = newest
            else:
                version = newest + 1
        elif version in existing and existing[version] != digest and not replace:
            raise BadRequest(
                f"template {name} version {version} already exists with other code; "
                "deploy without a version to add a new one, or pass replace"
            )
        if version < 1:
            raise BadRequest(f"template versions start at 1, got {version}")
        self.store.put(name, version, data, retry, snapshot)
        for cached in [k for k in self._resolved if k[0] == name]:
            del self._resolved[cached]
        compiled.version = version
        compiled.retry = retry
        compiled.snapshot = snapshot
        with self._lock:
            self._compiled[(name, version, digest)] = compiled
        return TemplateInfo(name, version, digest, len(data), [str(s) for s in compiled.functions.values()])

    def forget_versions(self) -> None:
        """Look versions up in the store again (another process sharing it may have deployed one)."""
        self._resolved = {}

    def get(self, name: str, version: int | None = None) -> CompiledTemplate:
        """The compiled template version (the newest when ``version`` is None); compiled once per hash."""
        resolved = self._resolved.get((name, version))
        if resolved is None:
            resolved = self._resolved[(name, version)] = self.store.resolve(name, version)
        chosen, digest = resolved
        key = (name, chosen, digest)
        with self._lock:
            compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(name, chosen, digest, self.store.component(digest))
            compiled.retry = self.store.retry_policy(name, chosen)
            compiled.snapshot = self.store.snapshot_policy(name, chosen)
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def _compile(self, name: str, version: int, digest: str, data: bytes) -> CompiledTemplate:
        component = self.engine.compile(data)
        functions, imports = inspect_component(self.engine, component)
        if not functions:
            raise InvalidComponent(f"component for template {name!r} exports no functions")
        return CompiledTemplate(name, version, digest, component, functions, imports)

    def list(self) -> list[TemplateInfo]:
        return [TemplateInfo(n, v, h, s) for n, v, h, s in self.store.versions()]
