"""A throwaway PostgreSQL server in a temporary directory, for tests, benchmarks and trying things.

It runs Debian's (or any installed) PostgreSQL binaries: ``initdb`` into a fresh directory,
``pg_ctl start`` on 127.0.0.1 and a free port, trust authentication for one user, and
``stop`` removes everything. PostgreSQL refuses to run as root, so when this process is root
the server runs as the unprivileged ``postgres`` user (made by Debian's package) or ``nobody``.

    with ThrowawayPostgres() as server:
        url = server.create_database("golem")   # postgresql://golemsim@127.0.0.1:PORT/golem
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from .core.errors import GolemError


class PostgresUnavailable(GolemError):
    """No PostgreSQL server binaries here (install Debian's ``postgresql`` package)."""


def server_binaries() -> Path:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PostgresUnavailable(
        "no PostgreSQL server found (initdb, pg_ctl): install Debian's postgresql package "
        "(.ci/setup.sh does, as root), or point --db at a server you run"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unprivileged_user() -> str | None:
    """The user to run the server as: None when we are not root, else postgres or nobody."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL")


class ThrowawayPostgres:
    """A private PostgreSQL server; ``start`` it (or use ``with``), ``stop`` removes its files."""

    USER = "golemsim"

    def __init__(self, *, fsync: bool = True, port: int | None = None) -> None:
        self.bin = server_binaries()
        self.fsync = fsync
        self.port = port or _free_port()
        self.run_as = _unprivileged_user()
        self.root = Path(tempfile.mkdtemp(prefix="golemsim-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.running = False

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` maintenance database (make your own with create_database)."""
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        full = list(command)
        if self.run_as is not None:
            full = ["runuser", "-u", self.run_as, "--", *full]
        done = subprocess.run(full, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    def start(self) -> ThrowawayPostgres:
        if self.run_as is not None:
            shutil.chown(self.root, user=self.run_as)
            self.root.chmod(0o700)
        initdb, pg_ctl = str(self.bin / "initdb"), str(self.bin / "pg_ctl")
        self._run(initdb, "-D", str(self.data), "-U", self.USER, "-A", "trust", "-E", "UTF8", "--no-sync")
        fsync = "on" if self.fsync else "off"
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync={fsync} -c max_connections=200"
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.running = True
        return self

    def create_database(self, name: str) -> str:
        """Make an empty database ``name`` and return its URL."""
        from .core.postgres import connect

        with connect(self.url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def stop(self) -> None:
        """Stop the server at once (fast shutdown) and delete its files."""
        if self.running:
            self.running = False
            try:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            except PostgresUnavailable:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """``python -m golemsim.throwaway_postgres``: run a server until Ctrl-C, printing its URL."""
    import signal

    with ThrowawayPostgres() as server:
        print(server.create_database("golem"), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
