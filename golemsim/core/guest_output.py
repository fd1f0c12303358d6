"""Where a worker instance's guest writes its stdout and stderr: a file, read back to explain traps.

A Python callback for the guest's output would be called from wasmtime's I/O threads (which
aborts the process at exit), so the output goes to a file. Making and deleting a temporary
file for every instance costs a few syscalls each time an instance is made (and workers are
re-instantiated often: after eviction, a crash, a trap), so the files are lent from a
process-wide pool instead: a private folder of numbered files, each handed to one living
instance at a time. wasmtime truncates the file when an instance's WASI config opens it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading

_lock = threading.Lock()
_free: list[str] = []
_made = 0
_folder: str | None = None


def _new_path() -> str:
    global _folder, _made
    if _folder is None:
        _folder = tempfile.mkdtemp(prefix="golemsim-guest-")
        atexit.register(shutil.rmtree, _folder, True)
    _made += 1
    return os.path.join(_folder, f"{_made}.log")


class GuestOutput:
    """One instance's output file, lent from the pool (``pooled``) or a temporary file of its own."""

    def __init__(self, *, pooled: bool = True) -> None:
        self.pooled = pooled
        if pooled:
            with _lock:
                self.path = _free.pop() if _free else _new_path()
        else:
            fd, self.path = tempfile.mkstemp(prefix="golemsim-guest-", suffix=".log")
            os.close(fd)
        self._mark = 0
        self._released = False

    def mark(self) -> None:
        """Remember where the output ends now: ``tail`` reads what is written after it."""
        try:
            self._mark = os.path.getsize(self.path)
        except OSError:
            self._mark = 0

    def tail(self, limit: int) -> str:
        """What was written since the mark (its last ``limit`` bytes)."""
        try:
            with open(self.path, "rb") as output:
                output.seek(max(self._mark, os.path.getsize(self.path) - limit))
                return output.read().decode(errors="replace")
        except OSError:
            return ""

    def release(self) -> None:
        """Give the file back (the instance is gone, so its guest writes no more)."""
        if self._released:
            return
        self._released = True
        if self.pooled:
            with _lock:
                _free.append(self.path)
        else:
            try:
                os.unlink(self.path)
            except OSError:
                pass
