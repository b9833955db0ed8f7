"""Read back what the runs wrote: ``ids=`` batch gets and paged listings, never a GET per record.

* persons, organizations, deals, products, activities: v2 ``ids=`` lists, 100 ids a call;
* deal products: ``/deals/products?deal_ids=`` listings, 100 deals a call;
* notes, leads, files (v1, no ``ids=``): one paged listing each, kept to the ids wanted;
* organization parent links: one relationships listing per parent organization.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["BATCH", "LISTED", "read_back", "read_parents"]

#: Entity -> the client's v2 resource with ``get_many``.
BATCH = {
    "person": "persons",
    "organization": "organizations",
    "deal": "deals",
    "product": "products",
    "activity": "activities",
}
#: Entity -> the client's v1 resource read by a paged listing.
LISTED = {"note": "notes", "lead": "leads", "file": "files"}
_PER_CALL = 100


def _ids(values: Collection[str]) -> list[int]:
    return sorted({int(v) for v in values if str(v).isdigit()})


async def read_back(
    client: PipedriveClient,
    wanted: Mapping[str, Collection[str]],
    deal_ids: Collection[str] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{entity: {pipedrive id: record}}`` for the ids in ``wanted`` that exist.

    ``deal_ids`` are the deals whose products are read when ``deal_product`` ids are wanted.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for entity, ids in wanted.items():
        if not ids:
            continue
        got: dict[str, dict[str, Any]] = {}
        want = {str(i) for i in ids}
        if entity in BATCH:
            for record in await getattr(client, BATCH[entity]).get_many(_ids(want)):
                got[str(record.get("id"))] = record
        elif entity in LISTED:
            async for record in getattr(client, LISTED[entity]).list(page_size=100):
                rid = str(record.get("id"))
                if rid in want:
                    got[rid] = record
        elif entity == "deal_product":
            deals = _ids(deal_ids)
            for start in range(0, len(deals), _PER_CALL):
                chunk = deals[start : start + _PER_CALL]
                async for record in client.deal_products.list_many(chunk):
                    rid = str(record.get("id"))
                    if rid in want:
                        got[rid] = record
        out[entity] = got
    return out


async def read_parents(
    client: PipedriveClient, parent_ids: Collection[int]
) -> dict[str, dict[str, Any]]:
    """``{"PARENT>CHILD": relationship}`` for the parent links of ``parent_ids``."""
    out: dict[str, dict[str, Any]] = {}
    for parent in sorted(parent_ids):
        for rel in await client.organization_relationships.for_org(parent):
            if rel.get("type") != "parent":
                continue
            owner, linked = rel.get("rel_owner_org_id"), rel.get("rel_linked_org_id")
            owner_id = owner.get("value") if isinstance(owner, dict) else owner
            linked_id = linked.get("value") if isinstance(linked, dict) else linked
            out[f"{owner_id}>{linked_id}"] = rel
    return out
