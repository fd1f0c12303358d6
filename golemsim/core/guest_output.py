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
import itertools
import os
import shutil
import tempfile
import threading

_free: list[str] = []
"""Paths lent out before and given back. Only list.append and list.pop touch it (atomic in
CPython): ``release`` runs from ``__del__``, possibly inside a garbage collection started
while this module is in the middle of lending a file, so it must take no lock."""
_numbers = itertools.count(1)
_folder_lock = threading.Lock()
_folder: str | None = None


def _take() -> str:
    try:
        return _free.pop()
    except IndexError:
        return os.path.join(_pool_folder(), f"{next(_numbers)}.log")


def _pool_folder() -> str:
    global _folder
    if _folder is None:
        with _folder_lock:
            if _folder is None:
                _folder = tempfile.mkdtemp(prefix="golemsim-guest-")
                atexit.register(shutil.rmtree, _folder, True)
    return _folder


class GuestOutput:
    """One instance's output file, lent from the pool (``pooled``) or a temporary file of its own."""

    def __init__(self, *, pooled: bool = True) -> None:
        self.pooled = pooled
        if pooled:
            self.path = _take()
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
            _free.append(self.path)
        else:
            try:
                os.unlink(self.path)
            except OSError:
                pass
