"""Typed helpers per Pipedrive entity, on top of the client's call pipeline.

``client.persons.create({...})``, ``client.notes.list(person_id=7)`` and so on. Each
helper names its endpoint in the table (:mod:`pdmigrate.pipedrive.endpoints`), so
cost, lane and retry rules come from one place. Lists are async iterators that
follow v2 cursors or v1 offsets; ``get_many`` reads records back by ``ids=`` in
chunks of 100 (one list call, 10 tokens, per 100 records).

All methods return the envelope's ``data`` (a dict, or a list of dicts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = [
    "ActivityTypes",
    "DealProducts",
    "Fields",
    "Files",
    "ItemSearch",
    "OrganizationRelationships",
    "ReadOnlyFields",
    "Resources",
    "SearchableEntity",
    "Users",
    "V1Entity",
    "V2Entity",
]

Record = dict[str, Any]
Payload = Mapping[str, Any]
Records = list[Record]  # alias: "list" is a method name inside the classes below
IDS_PER_CALL = 100


def _record(data: Any) -> Record:
    return data if isinstance(data, dict) else {}


def _chunks(ids: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class V2Entity:
    """A v2 entity: list (cursor), get, get_many (``ids=``), create, update, delete."""

    def __init__(self, client: PipedriveClient, name: str) -> None:
        self._client = client
        self.name = name

    def list(self, *, page_size: int = 500, **filters: Any) -> AsyncIterator[Record]:
        """Every record, following the cursor (``updated_since``, ``sort_by``... as filters)."""
        return self._client.iter_cursor(f"{self.name}.list", params=filters, page_size=page_size)

    async def get(self, record_id: int) -> Record:
        """One record by id (1 token); raises ``NotFound`` if it does not exist."""
        resp = await self._client.call(f"{self.name}.get", path_params={"id": record_id})
        return _record(resp.data)

    async def get_many(self, ids: Iterable[int]) -> Records:
        """Records by id, through ``ids=`` list calls of up to 100; missing ids are skipped."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        out: list[Record] = []
        for chunk in _chunks(wanted, IDS_PER_CALL):
            params = {"ids": ",".join(str(i) for i in chunk)}
            async for item in self._client.iter_cursor(
                f"{self.name}.list", params=params, page_size=IDS_PER_CALL
            ):
                out.append(item)
        return out

    async def create(self, payload: Payload) -> Record:
        """Create a record (POST). A lost response raises ``WriteOutcomeUnknown``."""
        resp = await self._client.call(f"{self.name}.create", json=dict(payload))
        return _record(resp.data)

    async def update(self, record_id: int, payload: Payload) -> Record:
        """Change fields of a record (PATCH; retried on 5xx and timeouts)."""
        resp = await self._client.call(
            f"{self.name}.update", path_params={"id": record_id}, json=dict(payload)
        )
        return _record(resp.data)

    async def delete(self, record_id: int) -> Record:
        """Soft-delete a record (Pipedrive removes it for good after 30 days)."""
        resp = await self._client.call(f"{self.name}.delete", path_params={"id": record_id})
        return _record(resp.data)


class SearchableEntity(V2Entity):
    """A v2 entity with ``/search`` (persons, organizations, deals, products)."""

    def search(
        self,
        term: str,
        *,
        fields: str | None = None,
        exact_match: bool = False,
        page_size: int = 100,
        **params: Any,
    ) -> AsyncIterator[Record]:
        """Search results (``data.items[]``: ``{result_score, item}``); 20 tokens per page."""
        query: dict[str, Any] = {"term": term, **params}
        if fields is not None:
            query["fields"] = fields
        if exact_match:
            query["exact_match"] = "true"
        return self._client.iter_cursor(
            f"{self.name}.search", params=query, page_size=page_size, items_key="items"
        )


class ReadOnlyFields:
    """A v2 field schema that can only be read (``activityFields``)."""

    def __init__(self, client: PipedriveClient, name: str) -> None:
        self._client = client
        self.name = name

    async def list(self) -> Records:
        """Every field, built-in and custom, with ``field_code`` and ``options``."""
        return [f async for f in self._client.iter_cursor(f"{self.name}.list")]

    async def get(self, field_code: str) -> Record:
        """One field by its ``field_code``."""
        resp = await self._client.call(f"{self.name}.get", path_params={"field_code": field_code})
        return _record(resp.data)


class Fields(ReadOnlyFields):
    """A v2 field schema with create/update/delete and option CRUD (atomic, bulk)."""

    async def create(self, payload: Payload) -> Record:
        """Create a custom field (``field_name``, ``field_type``, ``options``...)."""
        resp = await self._client.call(f"{self.name}.create", json=dict(payload))
        return _record(resp.data)

    async def update(self, field_code: str, payload: Payload) -> Record:
        """Change a custom field."""
        resp = await self._client.call(
            f"{self.name}.update", path_params={"field_code": field_code}, json=dict(payload)
        )
        return _record(resp.data)

    async def delete(self, field_code: str) -> Record:
        """Delete a custom field."""
        resp = await self._client.call(
            f"{self.name}.delete", path_params={"field_code": field_code}
        )
        return _record(resp.data)

    async def add_options(self, field_code: str, labels: Iterable[str]) -> Records:
        """Add enum/set options (all or none); returns the new options with their ids."""
        body = [{"label": label} for label in labels]
        resp = await self._client.call(
            f"{self.name}.options.create", path_params={"field_code": field_code}, json=body
        )
        return list(resp.data or [])

    async def update_options(
        self, field_code: str, options: Iterable[Mapping[str, Any]]
    ) -> Records:
        """Relabel options (``[{"id", "label"}]``)."""
        resp = await self._client.call(
            f"{self.name}.options.update",
            path_params={"field_code": field_code},
            json=[dict(o) for o in options],
        )
        return list(resp.data or [])

    async def delete_options(self, field_code: str, option_ids: Iterable[int]) -> Records:
        """Delete options by id."""
        resp = await self._client.call(
            f"{self.name}.options.delete",
            path_params={"field_code": field_code},
            json=[{"id": i} for i in option_ids],
        )
        return list(resp.data or [])


class DealProducts:
    """Products attached to deals (v2), including the bulk add of up to 100."""

    def __init__(self, client: PipedriveClient) -> None:
        self._client = client

    def list(self, deal_id: int) -> AsyncIterator[Record]:
        """Products attached to one deal."""
        return self._client.iter_cursor("dealProducts.list", path_params={"id": deal_id})

    def list_many(self, deal_ids: Sequence[int]) -> AsyncIterator[Record]:
        """Products attached to up to 100 deals in one listing."""
        if len(deal_ids) > IDS_PER_CALL:
            raise ValueError("dealProducts.list_many takes at most 100 deal ids")
        return self._client.iter_cursor(
            "dealProducts.listMany", params={"deal_ids": ",".join(str(i) for i in deal_ids)}
        )

    async def add(self, deal_id: int, payload: Payload) -> Record:
        """Attach one product (``product_id``, ``item_price``, ``quantity``...)."""
        resp = await self._client.call(
            "dealProducts.create", path_params={"id": deal_id}, json=dict(payload)
        )
        return _record(resp.data)

    async def add_bulk(self, deal_id: int, items: Sequence[Payload]) -> Records:
        """Attach up to 100 products in one call (25 tokens)."""
        if len(items) > IDS_PER_CALL:
            raise ValueError("dealProducts.add_bulk takes at most 100 products per call")
        resp = await self._client.call(
            "dealProducts.bulkCreate",
            path_params={"id": deal_id},
            json={"data": [dict(i) for i in items]},
        )
        return list(resp.data or [])

    async def update(self, deal_id: int, attachment_id: int, payload: Payload) -> Record:
        """Change one attached product."""
        resp = await self._client.call(
            "dealProducts.update",
            path_params={"id": deal_id, "product_attachment_id": attachment_id},
            json=dict(payload),
        )
        return _record(resp.data)

    async def delete(self, deal_id: int, attachment_id: int) -> Record:
        """Detach one product."""
        resp = await self._client.call(
            "dealProducts.delete",
            path_params={"id": deal_id, "product_attachment_id": attachment_id},
        )
        return _record(resp.data)

    async def delete_many(self, deal_id: int, attachment_ids: Sequence[int]) -> Any:
        """Detach several products from a deal in one call (15 tokens)."""
        resp = await self._client.call(
            "dealProducts.deleteMany",
            path_params={"id": deal_id},
            params={"ids": ",".join(str(i) for i in attachment_ids)},
        )
        return resp.data


class ItemSearch:
    """Cross-entity search and exact search on one (custom) field."""

    def __init__(self, client: PipedriveClient) -> None:
        self._client = client

    def search(
        self, term: str, *, item_types: str | None = None, exact_match: bool = False, **params: Any
    ) -> AsyncIterator[Record]:
        """``GET /itemSearch``: results across item types (``data.items[]``)."""
        query: dict[str, Any] = {"term": term, "item_types": item_types, **params}
        if exact_match:
            query["exact_match"] = "true"
        return self._client.iter_cursor(
            "itemSearch.search", params=query, page_size=100, items_key="items"
        )

    async def field(
        self, *, entity_type: str, field: str, term: str, match: str = "exact"
    ) -> Records:
        """``GET /itemSearch/field``: records whose ``field`` matches ``term`` (case-sensitive).

        Returns items with at least ``id``; Pipedrive's answers come as ``{id, name}``
        or ``{result_score, item{...}}`` and both are flattened to the item.
        """
        params = {"entity_type": entity_type, "field": field, "term": term, "match": match}
        out: Records = []
        async for hit in self._client.iter_cursor("itemSearch.field", params=params, page_size=100):
            inner = hit.get("item")
            out.append(inner if isinstance(inner, dict) else hit)
        return out


class V1Entity:
    """A v1 entity with offset lists: notes, leads, organizationRelationships..."""

    def __init__(self, client: PipedriveClient, name: str) -> None:
        self._client = client
        self.name = name

    def list(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Record]:
        """Every record, following ``start``/``limit`` pages."""
        return self._client.iter_offset(f"{self.name}.list", params=filters, page_size=page_size)

    async def get(self, record_id: int | str) -> Record:
        """One record by id (lead ids are uuids)."""
        resp = await self._client.call(f"{self.name}.get", path_params={"id": record_id})
        return _record(resp.data)

    async def create(self, payload: Payload) -> Record:
        """Create a record (POST; a lost response raises ``WriteOutcomeUnknown``)."""
        resp = await self._client.call(f"{self.name}.create", json=dict(payload))
        return _record(resp.data)

    async def update(self, record_id: int | str, payload: Payload) -> Record:
        """Change a record (PUT or PATCH, as the endpoint table says)."""
        resp = await self._client.call(
            f"{self.name}.update", path_params={"id": record_id}, json=dict(payload)
        )
        return _record(resp.data)

    async def delete(self, record_id: int | str) -> Any:
        """Delete a record."""
        resp = await self._client.call(f"{self.name}.delete", path_params={"id": record_id})
        return resp.data


class Leads(V1Entity):
    """v1 leads, plus the archived listing."""

    def archived(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Record]:
        """Archived leads (40 tokens per page)."""
        return self._client.iter_offset("leads.archived", params=filters, page_size=page_size)


class OrganizationRelationships(V1Entity):
    """Parent/child and related links between organizations (v1)."""

    async def for_org(self, org_id: int) -> Records:
        """Every relationship of one organization (the listing needs ``org_id``)."""
        resp = await self._client.call(f"{self.name}.list", params={"org_id": org_id})
        return list(resp.data or [])

    async def link_parent(self, parent_id: int, child_id: int) -> Record:
        """Make ``parent_id`` the parent of ``child_id``."""
        return await self.create(
            {"type": "parent", "rel_owner_org_id": parent_id, "rel_linked_org_id": child_id}
        )


class Files(V1Entity):
    """v1 files: multipart upload (one file per call) and download."""

    async def upload(
        self,
        content: bytes | Path,
        *,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        **links: int | str,
    ) -> Record:
        """Upload a file and attach it (``person_id=``, ``deal_id=``, ``org_id=``...)."""
        if isinstance(content, Path):
            filename = filename or content.name
            content = content.read_bytes()
        files = {"file": (filename or "file", content, content_type)}
        data = {k: str(v) for k, v in links.items()}
        resp = await self._client.call("files.create", files=files, data=data)
        return _record(resp.data)

    async def download(self, file_id: int) -> bytes:
        """The file's bytes (20 tokens)."""
        resp = await self._client.call("files.download", path_params={"id": file_id}, raw=True)
        return resp.content


class Users:
    """v1 users: list (no paging), get, me, find by email, create, update."""

    def __init__(self, client: PipedriveClient) -> None:
        self._client = client

    async def list(self) -> Records:
        """Every user of the company (one call, 20 tokens); cache it."""
        resp = await self._client.call("users.list")
        return list(resp.data or [])

    async def get(self, user_id: int) -> Record:
        """One user."""
        resp = await self._client.call("users.get", path_params={"id": user_id})
        return _record(resp.data)

    async def me(self) -> Record:
        """The token's user, with ``company_id`` and ``company_domain``."""
        resp = await self._client.call("users.me")
        return _record(resp.data)

    async def find(self, term: str, *, by_email: bool = True) -> Records:
        """Users matching ``term`` (40 tokens: prefer ``list()`` and a local map)."""
        params = {"term": term, "search_by_email": 1 if by_email else 0}
        resp = await self._client.call("users.find", params=params)
        return list(resp.data or [])

    async def create(self, payload: Payload) -> Record:
        """Add a user (``email``, ``name``...)."""
        resp = await self._client.call("users.create", json=dict(payload))
        return _record(resp.data)

    async def update(self, user_id: int, payload: Payload) -> Record:
        """Change a user (e.g. ``active_flag``)."""
        resp = await self._client.call(
            "users.update", path_params={"id": user_id}, json=dict(payload)
        )
        return _record(resp.data)


class ActivityTypes:
    """v1 activity types: list, create, update, delete."""

    def __init__(self, client: PipedriveClient) -> None:
        self._client = client

    async def list(self) -> Records:
        """Every activity type (``key_string`` is what v2 activities take as ``type``)."""
        resp = await self._client.call("activityTypes.list")
        return list(resp.data or [])

    async def create(self, payload: Payload) -> Record:
        """Create a type (``name``, ``icon_key``, ``color``)."""
        resp = await self._client.call("activityTypes.create", json=dict(payload))
        return _record(resp.data)

    async def update(self, type_id: int, payload: Payload) -> Record:
        """Change a type."""
        resp = await self._client.call(
            "activityTypes.update", path_params={"id": type_id}, json=dict(payload)
        )
        return _record(resp.data)

    async def delete(self, type_id: int) -> Any:
        """Delete a type."""
        resp = await self._client.call("activityTypes.delete", path_params={"id": type_id})
        return resp.data


class Resources:
    """The per-entity helpers, attached to :class:`PipedriveClient` as attributes."""

    def __init__(self) -> None:
        client: PipedriveClient = self  # type: ignore[assignment]  # mixed into the client
        self.persons = SearchableEntity(client, "persons")
        self.organizations = SearchableEntity(client, "organizations")
        self.deals = SearchableEntity(client, "deals")
        self.products = SearchableEntity(client, "products")
        self.activities = V2Entity(client, "activities")
        self.pipelines = V2Entity(client, "pipelines")
        self.stages = V2Entity(client, "stages")
        self.person_fields = Fields(client, "personFields")
        self.organization_fields = Fields(client, "organizationFields")
        self.deal_fields = Fields(client, "dealFields")
        self.product_fields = Fields(client, "productFields")
        self.activity_fields = ReadOnlyFields(client, "activityFields")
        self.deal_products = DealProducts(client)
        self.item_search = ItemSearch(client)
        self.notes = V1Entity(client, "notes")
        self.leads = Leads(client, "leads")
        self.files = Files(client, "files")
        self.users = Users(client)
        self.activity_types = ActivityTypes(client)
        self.organization_relationships = OrganizationRelationships(
            client, "organizationRelationships"
        )
