"""Find a record a lost (or crashed) create may have written, by its source identity.

Used before any retry of an op left ``started`` (a crash between the call and the
commit of its result) and when the client raises ``OutcomeUnknown`` mid-run:

* persons, organizations, deals, products: ``itemSearch/field`` exact match on the
  Source ID custom field (:func:`pdmigrate.pipedrive.reconcile.source_field_finder`),
  confirmed in the listing of records updated since the op started when the search
  finds nothing (the search index may lag a write by seconds);
* activities and notes: the marker line (``[pdmigrate src=KEY ...]``) in a listing
  narrowed by the record's deal / person / organization;
* leads: the title in the listing of the lead's person or organization;
* organization parent links: the child's relationships;
* deal products: the deal's product listing (product, quantity, price);
* files: the file listing, by name and linked record.

Each finder returns the found record (a dict with ``id``) or None.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pdmigrate.pipedrive.reconcile import source_field_finder

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

Record = dict[str, Any]
Finder = Callable[[], Awaitable[Record | None]]

__all__ = ["Finder", "finder_for", "has_marker"]

PLURAL = {"person": "persons", "organization": "organizations", "deal": "deals"}
PLURAL |= {"product": "products"}


def has_marker(text: Any, source_key: str) -> bool:
    """True when ``text`` carries the marker ``src=<source_key>`` (landing rules §0)."""
    if not isinstance(text, str):
        return False
    return re.search(r"src=" + re.escape(source_key) + r"(?=[\s\]<]|$)", text) is not None


def _narrow(body: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("deal_id", "person_id", "org_id", "lead_id"):
        if body.get(key):
            return {key: body[key]}
    parts = body.get("participants") or []
    if parts:
        return {"person_id": parts[0]["person_id"]}
    return {}


def finder_for(
    client: PipedriveClient,
    stage: str,
    source_key: str,
    body: Mapping[str, Any],
    *,
    source_id_key: str | None,
    source_id: str,
    extra: Mapping[str, Any] | None = None,
    since: str | None = None,
) -> Finder | None:
    """The finder for one op, or None when the stage has no way to look a record up."""
    if stage in PLURAL:
        if not source_id_key:
            return None
        search = source_field_finder(client, PLURAL[stage], source_id_key, source_id)
        helper = getattr(client, PLURAL[stage])
        key = source_id_key

        async def find_by_sid() -> Record | None:
            found = await search()
            if found is not None or since is None:
                return found
            # Pipedrive's search index can lag a fresh write: confirm in the (consistent)
            # listing of what changed since the op started before calling it absent.
            async for r in helper.list(updated_since=since, sort_by="update_time"):
                if (r.get("custom_fields") or {}).get(key) == source_id:
                    return dict(r)
            return None

        return find_by_sid
    if stage == "activity":
        narrow = _narrow(body)

        async def find_activity() -> Record | None:
            async for a in client.activities.list(**narrow):
                if has_marker(a.get("note"), source_key):
                    return a
            return None

        return find_activity
    if stage == "note":
        narrow = _narrow(body)

        async def find_note() -> Record | None:
            async for n in client.notes.list(**narrow):
                if has_marker(n.get("content"), source_key):
                    return n
            return None

        return find_note
    if stage == "lead":
        key = "person_id" if body.get("person_id") else "organization_id"
        narrow_lead: dict[str, Any] = {key: body.get(key)}

        async def find_lead() -> Record | None:
            async for lead in client.leads.list(**narrow_lead):
                if lead.get("title") == body.get("title"):
                    return lead
            return None

        return find_lead
    if stage == "org_parent":
        parent, child = body["rel_owner_org_id"], body["rel_linked_org_id"]

        async def find_rel() -> Record | None:
            for rel in await client.organization_relationships.for_org(child):
                if rel.get("type") == "parent" and _id(rel.get("rel_owner_org_id")) == parent:
                    return rel
            return None

        return find_rel
    if stage == "deal_product":
        deal_id = int((extra or {})["deal_id"])

        async def find_dp() -> Record | None:
            async for dp in client.deal_products.list(deal_id):
                if _id(dp.get("product_id")) == body.get("product_id") and float(
                    dp.get("quantity") or 0
                ) == float(body.get("quantity") or 0):
                    return dp
            return None

        return find_dp
    if stage == "file":
        name = str((extra or {}).get("file_name") or "")
        links = {k: v for k, v in (extra or {}).items() if k.endswith("_id")}

        async def find_file() -> Record | None:
            async for f in client.files.list():
                if f.get("name") == name and all(_id(f.get(k)) == v for k, v in links.items()):
                    return f
            return None

        return find_file
    return None


def _id(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("value", value.get("id"))
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
