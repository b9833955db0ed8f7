"""Read the account the cheap way for delta and rollback: listings, never per-record gets.

* :func:`fetch_records` reads records by id: v2 entities through ``ids=`` list calls
  (100 per call), v1 notes and leads through one paged listing filtered locally.
* :func:`fetch_children` lists every activity and note once and indexes the ones
  pdmigrate did not create (:class:`~pdmigrate.delta_diff.Children`).
* :func:`id_rows` reads the id map with content hashes and update times.
* :func:`match_new_people` finds people a delta would create who are already in the
  account (staff added them during cutover): one exact email search per new email.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pdmigrate.delta_diff import Children
from pdmigrate.load_items import Item
from pdmigrate.state_ops import Ops

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = [
    "V1_RECORDS",
    "V2_RECORDS",
    "IdRow",
    "fetch_children",
    "fetch_records",
    "id_rows",
    "match_new_people",
]

#: Entity -> the client helper of a v2 entity (``get_many`` by ``ids=``).
V2_RECORDS = {
    "person": "persons",
    "organization": "organizations",
    "deal": "deals",
    "product": "products",
    "activity": "activities",
}
#: Entity -> the client helper of a v1 entity (one paged listing).
V1_RECORDS = {"note": "notes", "lead": "leads"}


@dataclass(frozen=True, slots=True)
class IdRow:
    """One row of ``id_map``."""

    entity: str
    source_key: str
    pipedrive_id: str
    content_hash: str | None
    update_time: str | None
    origin: str
    run_id: int | None


def id_rows(ops: Ops) -> dict[tuple[str, str], IdRow]:
    """``{(entity, source_key): IdRow}`` over the whole id map."""
    rows = ops.conn.execute(
        "SELECT entity, source_key, pipedrive_id, content_hash, update_time, origin, run_id "
        "FROM id_map"
    )
    return {(str(r[0]), str(r[1])): IdRow(*r) for r in rows}


async def fetch_records(
    client: PipedriveClient, entity: str, ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """``{str(id): record}`` of the live records among ``ids`` (deleted ones are absent)."""
    wanted = {str(i) for i in ids}
    if not wanted:
        return {}
    if entity in V2_RECORDS:
        helper = getattr(client, V2_RECORDS[entity])
        found = await helper.get_many(sorted(int(i) for i in wanted if i.isdigit()))
        return {str(r.get("id")): r for r in found if str(r.get("id")) in wanted}
    if entity in V1_RECORDS:
        helper = getattr(client, V1_RECORDS[entity])
        out: dict[str, dict[str, Any]] = {}
        async for r in helper.list(page_size=500):
            if str(r.get("id")) in wanted:
                out[str(r.get("id"))] = r
        return out
    return {}


async def fetch_children(client: PipedriveClient, ops: Ops) -> Children:
    """Every activity and note, indexed by parent, minus the ones pdmigrate created."""
    ours: dict[str, set[str]] = {"activity": set(), "note": set()}
    for (entity, _key), pid in ops.id_map().items():
        if entity in ours:
            ours[entity].add(str(pid))
    activities = [a async for a in client.activities.list()]
    notes = [n async for n in client.notes.list(page_size=500)]
    return Children.build(activities, notes, ours)


async def match_new_people(
    client: PipedriveClient, new: Iterable[Item], ops: Ops
) -> dict[str, int]:
    """New person source key -> the id of a person already in the account with its email.

    The same rule as ``plan`` (:func:`~pdmigrate.plan.dedup.match_existing`): an email
    match links the record to that person instead of creating a second one. People
    pdmigrate created are never matched (they are in the id map); the lowest id wins.
    Costs one search per distinct email of the new people (search lane), not a listing
    of the whole account.
    """
    from pdmigrate.plan.account import person_emails
    from pdmigrate.plan.dedup import candidates

    ours = set(ops.id_map("person").values())
    found: dict[str, int | None] = {}
    out: dict[str, int] = {}
    people = candidates(i.payload for i in new if i.entity == "person" and i.kind == "create")
    for person in people:
        for email in person.emails:
            if email not in found:
                found[email] = None
                async for hit in client.persons.search(email, fields="email", exact_match=True):
                    rec = hit.get("item") or {}
                    pid = rec.get("id")
                    if pid is None or str(pid) in ours or email not in person_emails(rec):
                        continue
                    best = found[email]
                    found[email] = int(pid) if best is None else min(best, int(pid))
            match = found[email]
            if match is not None:
                out[person.key] = match
                break
    return out
