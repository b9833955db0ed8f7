"""Create a record exactly once, even when Pipedrive's answer gets lost.

Pipedrive has no idempotency keys. A POST that timed out (or got a 5xx) may have
been committed, so the client raises ``OutcomeUnknown`` instead of retrying. This
module is the caller's side of that contract: :func:`create_once` looks the record
up by its source id and only creates it again when it is truly absent.

Entities with custom fields (persons, organizations, deals, products) are found
through ``itemSearch/field`` with an exact match on the Source ID custom field
(:func:`source_field_finder`). Activities and notes have none; the caller passes a
finder of its own (for instance a marker line in the note, checked in a listing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import OutcomeUnknown, UsageError

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["CreateResult", "Finder", "create_once", "source_field_finder"]

Record = dict[str, Any]
Finder = Callable[[], Awaitable[Record | None]]

#: The v2 entities whose records can carry a Source ID custom field, and the
#: ``entity_type`` that ``itemSearch/field`` calls them.
SEARCHABLE_ENTITY_TYPES: dict[str, str] = {
    "persons": "person",
    "organizations": "organization",
    "deals": "deal",
    "products": "product",
}


@dataclass(frozen=True)
class CreateResult:
    """The record, and how it came to be: created now, or found after a lost answer."""

    record: Record
    created: bool
    reconciled: int  # how many lost answers were looked up on the way

    @property
    def id(self) -> Any:
        """The Pipedrive id of the record."""
        return self.record.get("id")


def source_field_finder(
    client: PipedriveClient, entity: str, field_key: str, source_id: str
) -> Finder:
    """A finder that looks a record up by exact match on its Source ID custom field.

    Uses ``itemSearch/field`` (20 tokens, search lane) and then reads the full record
    (1 token). When several match (duplicates made by someone else), the lowest id
    wins, so the choice is stable.
    """
    entity_type = SEARCHABLE_ENTITY_TYPES.get(entity)
    if entity_type is None:
        raise UsageError(
            f"{entity} has no custom fields to search; pass find_existing= to create_once"
        )

    async def find() -> Record | None:
        hits = await client.item_search.field(
            entity_type=entity_type, field=field_key, term=source_id, match="exact"
        )
        ids = sorted(int(h["id"]) for h in hits if isinstance(h.get("id"), int))
        if not ids:
            return None
        helper = getattr(client, entity)
        found: Record = await helper.get(ids[0])
        return found

    return find


async def create_once(
    client: PipedriveClient,
    entity: str,
    payload: Mapping[str, Any],
    *,
    source_id: str,
    find_existing: Finder | None = None,
    source_field_key: str | None = None,
    max_attempts: int = 5,
    settle_s: float = 1.0,
) -> CreateResult:
    """Create ``payload`` as an ``entity`` record, never twice.

    ``entity`` is an endpoint-table group with a ``.create`` (``persons``, ``notes``...).
    On ``OutcomeUnknown`` the record is looked up with ``find_existing``, or by exact
    match on the custom field ``source_field_key`` (which must hold ``source_id`` in
    the payload). If found, it is returned with ``created=False``; if not, the create
    is tried again, up to ``max_attempts`` times, after which the last
    ``OutcomeUnknown`` is raised for the caller to keep as "started".

    ``settle_s`` waits (through the client's sleep) before a lookup, because
    Pipedrive's search index may lag a just-committed write.
    """
    finder = find_existing
    if finder is None:
        if source_field_key is None:
            raise UsageError(
                f"create_once({entity}) needs find_existing= or source_field_key= to reconcile"
            )
        finder = source_field_finder(client, entity, source_field_key, source_id)
    last: OutcomeUnknown | None = None
    for reconciled in range(max_attempts):
        try:
            resp = await client.call(f"{entity}.create", json=dict(payload))
        except OutcomeUnknown as exc:
            last = exc
        else:
            record = resp.data if isinstance(resp.data, dict) else {}
            return CreateResult(record=record, created=True, reconciled=reconciled)
        client.stats.reconciliations += 1
        if settle_s > 0:
            await client.sleep(settle_s)
        found = await finder()
        if found is not None:
            return CreateResult(record=found, created=False, reconciled=reconciled + 1)
    assert last is not None
    raise last
