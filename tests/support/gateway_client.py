"""A `golemsim serve` subprocess and a small HTTP client for it, for the gateway's tests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    body: Any = field(default=None)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class ServeProcess:
    """``python -m golemsim serve --port 0`` on a real database; reads the URL it prints."""

    def __init__(
        self,
        api: Path,
        db: Path | str,
        *extra: str,
        startup_timeout: float = 300.0,
        python_path: Path | None = None,
        log_dir: Path | None = None,
    ) -> None:
        """``db`` is a SQLite file (the log goes beside it) or a PostgreSQL URL (give ``log_dir``)."""
        folder = log_dir or Path(db).parent
        name = Path(db).name if isinstance(db, Path) else "postgres"
        self.log_path = folder / f"{name}.serve-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if python_path is not None:  # where a --services factory of the tests lives
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(python_path), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "golemsim", "serve", "--api", str(api), "--db", str(db), "--port", "0"]
        self.process = subprocess.Popen(
            [*command, *extra], stdout=subprocess.PIPE, stderr=self._log, text=True, env=env
        )
        self.url = self._read_url(startup_timeout)
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def _read_url(self, timeout: float) -> str:
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not found or not found[0].startswith("http://"):
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"serve did not print its URL; its log:\n{self.stderr()}")
        return found[0].strip()

    def stderr(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = dict(headers or {})
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
            reply = Reply(response.status, dict(response.getheaders()), text)
        finally:
            connection.close()
        if text:
            reply.body = json.loads(text)  # every answer, errors included, is JSON
        return reply

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self._log.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code
