"""Where the sandbox deliberately departs from Pipedrive's official OpenAPI specs.

The specs in ``sandbox/specs/`` are Pipedrive's own, unchanged. In a few places they
are wrong, or stricter than Pipedrive's documented behaviour. Each such place is one
entry of :data:`KNOWN_SPEC_DEVIATIONS`, with its justification. :mod:`pdmigrate.sandbox.spec`
applies them when it compiles an operation's schemas; everything else is validated
strictly. ``tests/sandbox/test_conformance_spec.py`` fails when an entry stops matching
the spec, so stale entries cannot pile up.

The opposite case, live Pipedrive being stricter than the spec, is not listed here: the
validator rejects any top-level key a v2 JSON body's operation does not define (the spec
leaves ``additionalProperties`` open; live v2 answers "Parameter '<key>' is not allowed
for this request", client-nodejs#651), and the handlers carry the other live rules
(activity ``person_id``, enum values as numbers, varchar 255, Contact Sync keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

SpecName = Literal["v1", "v2"]
Direction = Literal["request", "response"]
Fix = Literal["nullable", "any-format", "comma-list", "or-string"]


@dataclass(frozen=True)
class SpecDeviation:
    """One place where the sandbox deliberately departs from the official spec.

    ``operations`` are shell patterns over ``"METHOD /spec/path"`` (``"GET /persons*"``).
    Each of ``fields`` walks property names from the body's root (``"data.org_id"``);
    the walk steps through ``allOf``/``oneOf``/``anyOf`` branches and array items by
    itself, so one pointer covers a single record and a list page; ``*`` stands for
    every property of an object. ``fix`` is what
    changes there: ``nullable`` accepts null as well, ``any-format`` drops ``format``,
    ``comma-list`` reads an enum string as a comma-separated list of enum values,
    ``or-string`` accepts a string as well as the spec's type.
    Request parameters are addressed as ``query.<name>`` / ``path.<name>``.
    """

    spec: SpecName
    operations: tuple[str, ...]
    direction: Direction
    fields: tuple[str, ...]
    fix: Fix
    why: str


def _entity(name: str) -> tuple[str, ...]:
    """Create, list (also archived), get, update and delete of one v2 entity."""
    return (f"* /{name}", f"* /{name}/{{id}}", f"GET /{name}/archived")


# What "unset is null" means below: the v2 spec types these response properties as
# plain, non-nullable values but does not mark them required. Pipedrive does not omit an
# unset value; it returns the key with null. That was checked on a live GET /persons
# response for org_id and picture_id (reference pipedrive-api.md, "Checked on these
# machines"); the other entries follow the same rule for values a record may simply not
# have. The sandbox returns null there too, so SDKs see the shape they see live.
_UNSET_IS_NULL = "Unset optional values come back as null, not absent (see note above). "

KNOWN_SPEC_DEVIATIONS: tuple[SpecDeviation, ...] = (
    SpecDeviation(
        "v2",
        ("GET *",),
        "response",
        ("additional_data.next_cursor",),
        "nullable",
        "The spec types next_cursor as a non-nullable string, yet its own description "
        "and the pagination docs say it is null on the last page.",
    ),
    SpecDeviation(
        "v2",
        _entity("persons"),
        "response",
        ("data.org_id", "data.picture_id"),
        "nullable",
        "A person without an organization or picture has no org_id/picture_id; live "
        "Pipedrive returns null (checked on a typical GET /persons response).",
    ),
    SpecDeviation(
        "v2",
        _entity("persons"),
        "response",
        ("data.last_name",),
        "nullable",
        _UNSET_IS_NULL + "A one-word name (e.g. a practice's 'Reception') has no last name.",
    ),
    SpecDeviation(
        "v2",
        _entity("deals"),
        "response",
        ("data.person_id", "data.org_id"),
        "nullable",
        _UNSET_IS_NULL + "A deal need not be linked to a person or organization "
        "(POST /deals requires only title).",
    ),
    SpecDeviation(
        "v2",
        _entity("deals"),
        "response",
        ("data.stage_change_time", "data.won_time", "data.lost_time", "data.expected_close_date"),
        "nullable",
        _UNSET_IS_NULL + "These times exist only once the event happened (the spec's "
        "request docs: won_time only when won, lost_time only when lost); the expected "
        "close date is optional.",
    ),
    SpecDeviation(
        "v2",
        _entity("activities"),
        "response",
        (
            "data.deal_id",
            "data.lead_id",
            "data.person_id",
            "data.org_id",
            "data.project_id",
        ),
        "nullable",
        _UNSET_IS_NULL + "An activity need not be linked to a deal, lead, person, "
        "organization or project.",
    ),
    SpecDeviation(
        "v2",
        _entity("activities"),
        "response",
        (
            "data.due_date",
            "data.due_time",
            "data.duration",
            "data.marked_as_done_time",
            "data.location",
            "data.public_description",
            "data.priority",
            "data.note",
            "data.conference_meeting_client",
            "data.conference_meeting_url",
            "data.conference_meeting_id",
        ),
        "nullable",
        _UNSET_IS_NULL + "POST /activities requires none of these; marked_as_done_time "
        "exists only once the activity is done, conference_* only for video meetings.",
    ),
    SpecDeviation(
        "v2",
        _entity("organizations"),
        "response",
        ("data.address",),
        "nullable",
        _UNSET_IS_NULL + "An organization without an address has none "
        "(the spec already marks website, industry and the like nullable).",
    ),
    SpecDeviation(
        "v2",
        _entity("products"),
        "response",
        ("data.code", "data.description", "data.unit"),
        "nullable",
        _UNSET_IS_NULL + "POST /products requires only name (the spec already marks "
        "category nullable).",
    ),
    SpecDeviation(
        "v1",
        ("* /notes", "* /notes/{id}"),
        "response",
        (
            "data.deal_id",
            "data.lead_id",
            "data.org_id",
            "data.person_id",
            "data.project_id",
            "data.task_id",
            "data.deal",
            "data.organization",
            "data.person",
            "data.project",
        ),
        "nullable",
        _UNSET_IS_NULL + "A note is pinned to one or a few records, never all of them; "
        "the ids and name objects of the others are null.",
    ),
    SpecDeviation(
        "v1",
        ("* /notes", "* /notes/{id}"),
        "response",
        ("data.user.icon_url",),
        "nullable",
        _UNSET_IS_NULL + "A user who never uploaded a profile picture has no icon URL.",
    ),
    SpecDeviation(
        "v1",
        ("* /activityTypes", "* /activityTypes/{id}"),
        "response",
        ("data.add_time", "data.update_time"),
        "any-format",
        "The spec says format date-time (RFC 3339), but its own example and v1 itself "
        "use 'YYYY-MM-DD HH:MM:SS' (e.g. \"2019-10-04 16:24:55\").",
    ),
    SpecDeviation(
        "v2",
        ("GET /persons/search", "GET /deals/search", "GET /organizations/search"),
        "response",
        ("data.items.item.organization", "data.items.item.person", "data.items.item.address"),
        "nullable",
        _UNSET_IS_NULL + "A search hit that is not linked to an organization (or "
        "person, or address) has none; the spec's own persons/search example already "
        "has organization.address null.",
    ),
    SpecDeviation(
        "v2",
        _entity("persons"),
        "response",
        ("data.postal_address", "data.notes", "data.birthday", "data.job_title"),
        "nullable",
        _UNSET_IS_NULL + "With Contact Sync on, these keys are always present on a person "
        "and null until set (the spec's POST /persons description).",
    ),
    SpecDeviation(
        "v2",
        (*_entity("persons"), *_entity("organizations"), *_entity("activities")),
        "response",
        ("data.postal_address.*", "data.address.*", "data.location.*"),
        "nullable",
        "An address may be sent with 'value' only; the subfields it did not give come back "
        "null (reference section 4.2, address value shape; third-party source, unverified).",
    ),
    SpecDeviation(
        "v1",
        ("* /files", "* /files/{id}"),
        "response",
        (
            "data.deal_id",
            "data.person_id",
            "data.org_id",
            "data.product_id",
            "data.activity_id",
            "data.lead_id",
            "data.project_id",
        ),
        "nullable",
        _UNSET_IS_NULL + "A file is attached to one record; the spec's own example nulls "
        "log_id the same way.",
    ),
    SpecDeviation(
        "v2",
        ("GET /products/search",),
        "response",
        ("data.items.item.code",),
        "or-string",
        "The search result types a product's code as an integer, but POST/PATCH/GET "
        "/products type the same code as a string (e.g. 'IMP-1'); search returns it as stored.",
    ),
    SpecDeviation(
        "v2",
        ("GET *",),
        "request",
        ("query.include_fields", "query.fields", "query.item_types", "query.status"),
        "comma-list",
        "The spec types these query parameters as one enum string, yet their descriptions "
        "say 'comma-separated' (e.g. itemSearch item_types=person,organization); each "
        "comma-separated value must be one of the enum values.",
    ),
)


def expand_schema(node: Any) -> Iterator[dict[str, Any]]:
    """A schema node, its allOf/oneOf/anyOf branches and array items, recursively."""
    if not isinstance(node, dict):
        return
    yield node
    for key in ("allOf", "oneOf", "anyOf"):
        for branch in node.get(key, ()):
            yield from expand_schema(branch)
    if isinstance(node.get("items"), dict):
        yield from expand_schema(node["items"])


def reach(node: Any, segments: list[str]) -> Iterator[dict[str, Any]]:
    """The schema nodes a pointer's segments lead to (``*`` = every property)."""
    if not segments:
        if isinstance(node, dict):
            yield node
        return
    for n in expand_schema(node):
        props: dict[str, Any] = n.get("properties", {})
        children = props.values() if segments[0] == "*" else [props.get(segments[0])]
        for child in children:
            if child is not None:
                yield from reach(child, segments[1:])


def _apply_fix(node: dict[str, Any], fix: Fix) -> None:
    if fix == "nullable":
        node["nullable"] = True
    elif fix == "any-format":
        node.pop("format", None)
    elif fix == "or-string" and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "string"]
    elif fix == "comma-list" and "enum" in node:
        # a comma-separated string of enum values: the query coercion splits it
        enum = node.pop("enum")
        node.update({"type": "array", "items": {"type": "string", "enum": enum}})


def apply_deviations(schema: Any, deviations: list[SpecDeviation]) -> int:
    """Apply deviations to a schema in place; returns how many schema nodes changed."""
    changed = 0
    for dev in deviations:
        for pointer in dev.fields:
            for node in reach(schema, pointer.split(".")):
                _apply_fix(node, dev.fix)
                changed += 1
    return changed
