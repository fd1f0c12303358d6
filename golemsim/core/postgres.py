"""Connecting to PostgreSQL (psycopg 3), the shared database of several executor processes.

psycopg is an optional dependency (``pip install 'golemsim[postgres]'``); importing this module
does not need it, connecting does, and says so by name when it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BadRequest

if TYPE_CHECKING:
    import psycopg

URL_PREFIXES = ("postgresql://", "postgres://")


def is_postgres_url(location: object) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(URL_PREFIXES)


def connect(url: str, **options: Any) -> psycopg.Connection[Any]:
    """An autocommit connection to ``url``; BadRequest naming the URL when it cannot be reached."""
    try:
        import psycopg
    except ImportError:
        raise BadRequest(
            f"{redacted(url)} is a PostgreSQL database, and reaching one needs psycopg: "
            "pip install 'golemsim[postgres]'"
        ) from None
    try:
        return psycopg.connect(url, autocommit=True, **options)
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BadRequest(f"cannot connect to {redacted(url)}: {first_line}") from None


def redacted(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
