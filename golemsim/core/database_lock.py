"""One executor per database: an exclusive lock file beside it, released even by SIGKILL."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import DatabaseLocked


def lock_database(db: Path) -> int:
    """Hold an exclusive lock beside the database; returns the descriptor to release."""
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(db) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseLocked(f"database {db} is in use by another executor process") from None
    return fd


def release_database(fd: int) -> None:
    """Give the lock up (closing the descriptor releases it)."""
    os.close(fd)
