"""Addresses of workers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .errors import BadRequest


@dataclass(frozen=True, order=True)
class WorkerId:
    """A worker's address: the template it runs and its name (``counter/c1``)."""

    template: str
    name: str

    def __post_init__(self) -> None:
        for part, label in ((self.template, "template"), (self.name, "worker name")):
            if not part or "/" in part or part != part.strip():
                raise BadRequest(f"invalid {label} {part!r}: must be non-empty, without '/' or surrounding spaces")

    @classmethod
    def parse(cls, text: str) -> WorkerId:
        """Parse ``template/name``."""
        template, sep, name = text.partition("/")
        if not sep:
            raise BadRequest(f"invalid worker address {text!r}: expected TEMPLATE/NAME, for example counter/c1")
        return cls(template, name)

    def __str__(self) -> str:
        return f"{self.template}/{self.name}"


def shard_of(worker: WorkerId, shards: int) -> int:
    """The shard of a worker: stable across runs, processes and machines (crc32, not Python's hash).

    The simulated cluster and the real executor processes over PostgreSQL split workers the same way."""
    return zlib.crc32(str(worker).encode()) % shards
