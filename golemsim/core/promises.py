"""Promise ids: ``template/name/promise-<key>``, so the id alone says which worker owns it."""

from __future__ import annotations

from .errors import BadRequest
from .ids import WorkerId


def promise_owner(promise_id: str) -> WorkerId:
    """The worker that created a promise, from its id."""
    template, _, rest = promise_id.partition("/")
    name, _, local = rest.partition("/")
    if not local.startswith("promise-"):
        raise BadRequest(f"invalid promise id {promise_id!r}: expected TEMPLATE/NAME/promise-...")
    return WorkerId(template, name)
