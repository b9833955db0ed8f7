"""Helpers for the run-engine tests: an in-process sandbox, hand-made plans, canonical dumps.

:func:`canonical` turns a sandbox dump into something two accounts can be compared
by: ids replaced by the source identity of the record they point at (Source ID for
persons, organizations, deals, products; the marker's ``src=`` for activities and
notes), custom field keys by field names, and server-set times dropped. Two runs
that wrote the same records with the same links give equal canonical dumps; a
duplicate or a missing record makes them differ.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.plan.model import (
    SOURCE_ID_FIELD,
    ActivityTypeSpec,
    FieldSpec,
    Owners,
    PipelineSpec,
    Plan,
    StageSpec,
    TargetPrep,
)
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport

TOKEN = "load-test-token-0123456789abcdef"
P = "pm"


def sandbox(path: Path, **config: Any) -> Sandbox:
    """A sandbox stored in ``path`` (rate limits off unless asked)."""
    config.setdefault("rate_limits", False)
    config.setdefault("plan", "ultimate")
    return Sandbox(SandboxConfig(db_path=path, **config))


def client_for(sb: Sandbox, **kwargs: Any) -> PipedriveClient:
    """A client talking to ``sb`` in process."""
    kwargs.setdefault("plan", "ultimate")
    return PipedriveClient(
        "http://sandbox.local", TOKEN, transport=AsyncSandboxTransport(app_for(sb)), **kwargs
    )


def sk(obj: str, key: str) -> str:
    """A source key of the hand-made fixtures."""
    return f"{P}/{obj}/{key}"


def hand_plan(fallback: int | None = 1) -> Plan:
    """A plan for :func:`hand_payloads`: a few custom fields, one pipeline, one type."""
    fields = (
        FieldSpec("person", SOURCE_ID_FIELD, "varchar"),
        FieldSpec("organization", SOURCE_ID_FIELD, "varchar"),
        FieldSpec("deal", SOURCE_ID_FIELD, "varchar"),
        FieldSpec("product", SOURCE_ID_FIELD, "varchar"),
        FieldSpec("deal", "Source Created Date", "date"),
        FieldSpec("person", "Patient Status", "enum", ("Active", "Inactive")),
        FieldSpec("person", "Fee Total", "monetary"),
    )
    prep = TargetPrep(
        fields=fields,
        pipelines=(PipelineSpec("Matters", (StageSpec("Open", 50), StageSpec("Billed", 80))),),
        activity_types=(ActivityTypeSpec("Court date", "calendar"),),
        contact_sync=False,
        visible_to_company=7,
    )
    return Plan(
        target=prep,
        owners=Owners(by_staff={}, fallback_user_id=fallback, unmatched=()),
        merges={},
        existing={},
        counts={},
        tokens=0,
        days=0.0,
        grade="A",
    )


def hand_payloads(people: int = 6) -> list[Payload]:
    """Organizations (one a child), people, a product, deals, activities and notes."""
    out: list[Payload] = [
        Payload(
            "org",
            "organization",
            sk("org", "root"),
            {"name": "Root Practice", "add_time": "2018-02-03"},
        ),
        Payload(
            "org",
            "organization",
            sk("org", "branch"),
            {"name": "Branch", "add_time": "2019-04-01"},
            {"parent": Ref("org", "root")},
        ),
        Payload("product", "product", sk("product", "X1"),
                {"name": "Crown", "code": "X1", "prices": {"value": 120, "currency": "USD"}}),
    ]  # fmt: skip
    for n in range(people):
        key = str(1000 + n)
        out.append(
            Payload(
                "client",
                "person",
                sk("client", key),
                {
                    "name": f"Person {n}",
                    "add_time": "2020-01-0" + str(1 + n % 9),
                    "emails": [{"value": f"p{n}@example.com", "primary": True, "label": "work"}],
                    "Patient Status": "Active" if n % 2 else "Inactive",
                    "Fee Total": {"value": 10 * n, "currency": "USD"},
                },
                {"org_id": Ref("org", "branch" if n % 2 else "root")},
                f"clients.csv:{n + 2}",
            )
        )
        out.append(
            Payload(
                "matter",
                "deal",
                sk("matter", key + ".001"),
                {
                    "title": f"Matter {n}",
                    "value": 100 + n,
                    "currency": "USD",
                    "pipeline": "Matters",
                    "stage": "Open",
                    "status": "open",
                    "Source Created Date": "2021-05-06",
                },
                {"person_id": Ref("client", key)},
                f"matters.csv:{n + 2}",
            )
        )
        out.append(
            Payload(
                "calendar",
                "activity",
                sk("calendar", key),
                {
                    "note": f"[pdmigrate src={sk('calendar', key)} at=2024-03-05T09:30]\nHearing",
                    "type": "Court date",
                    "subject": f"Hearing {n}",
                    "done": n % 3 == 0,
                    "due_date": "2024-03-05",
                    "due_time": "14:30",
                },
                {
                    "participants": (Ref("client", key),),
                    "deal_id": Ref("matter", key + ".001"),
                },
                f"calendar.csv:{n + 2}",
            )
        )
        out.append(
            Payload(
                "journal",
                "note",
                sk("journal", key),
                {
                    "content": f"[pdmigrate src={sk('journal', key)}]\nCall notes",
                    "add_time": "2024-03-05T14:15:00Z",
                },
                {"person_id": Ref("client", key), "deal_id": Ref("matter", key + ".001")},
                f"journal.csv:{n + 2}",
            )
        )
    return out


# -- canonical dumps ---------------------------------------------------------------------

_SID_ENTITIES = {
    "persons": "personFields",
    "organizations": "organizationFields",
    "deals": "dealFields",
    "products": "productFields",
}
_REFS = {
    "person_id": "persons",
    "org_id": "organizations",
    "organization_id": "organizations",
    "deal_id": "deals",
    "product_id": "products",
    "rel_owner_org_id": "organizations",
    "rel_linked_org_id": "organizations",
}
_KEEP_TIMES = {("persons", "add_time"), ("organizations", "add_time"), ("notes", "add_time")}
#: add_time values from here on are the server's clock (synth source dates are older).
SERVER_TIMES = "2026-01-01"
_MARK = re.compile(r"src=(\S+?)(?=[\s\]])")


def _marker(text: Any) -> str | None:
    m = _MARK.search(text or "") if isinstance(text, str) else None
    return m.group(1) if m else None


def canonical(dump: dict[str, Any]) -> dict[str, list[str]]:
    """``{entity: sorted canonical records (JSON)}`` of the first account in a dump."""
    records: dict[str, list[dict[str, Any]]] = dump["accounts"][0]["records"]
    names: dict[str, str] = {}
    for fields in ("personFields", "organizationFields", "dealFields", "productFields"):
        for f in records.get(fields, []):
            names[str(f.get("field_code"))] = f"{fields}:{f.get('field_name')}"
    label: dict[tuple[str, Any], str] = {}
    for entity, fields in _SID_ENTITIES.items():
        sid = next(
            (
                f["field_code"]
                for f in records.get(fields, [])
                if f.get("field_name") == SOURCE_ID_FIELD
            ),
            None,
        )
        for r in records.get(entity, []):
            value = (r.get("custom_fields") or {}).get(sid) if sid else None
            label[(entity, r["id"])] = str(value or r.get("name") or r.get("title"))
    for entity, body in (("activities", "note"), ("notes", "content")):
        for r in records.get(entity, []):
            label[(entity, r["id"])] = _marker(r.get(body)) or f"?{r['id']}"
    for r in records.get("leads", []):
        label[("leads", r["id"])] = str(r.get("title"))
    for r in records.get("pipelines", []):
        label[("pipelines", r["id"])] = str(r.get("name"))
    for r in records.get("stages", []):
        label[("stages", r["id"])] = str(r.get("name"))

    def canon(entity: str, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "id" or (k.endswith("_time") and (entity, k) not in _KEEP_TIMES):
                    continue
                if k == "add_time" and str(v) >= SERVER_TIMES:
                    continue  # set by the server (no source date), not by pdmigrate
                if k in ("pipeline_id", "stage_id") and v is not None:
                    out[k] = label.get((k.replace("_id", "s"), v), v)
                    continue
                if k in _REFS and v is not None and not isinstance(v, dict):
                    out[k] = label.get((_REFS[k], v), f"?{v}")
                    continue
                out[names.get(k, k)] = canon(entity, v, k)
            return out
        if isinstance(value, list):
            return [canon(entity, v, key) for v in value]
        return value

    skip = {"fileBlobs", "users", "activityTypes"}
    out: dict[str, list[str]] = {}
    for entity, rows in records.items():
        if entity in skip or entity.endswith("Fields"):
            continue
        out[entity] = sorted(
            json.dumps(canon(entity, r), sort_keys=True, default=str) for r in rows
        )
    out["fields"] = sorted(
        f"{fields}:{f.get('field_name')}:{f.get('field_type')}"
        for fields in ("personFields", "organizationFields", "dealFields", "productFields")
        for f in records.get(fields, [])
        if f.get("is_custom_field", True)
    )
    return out


def duplicates(dump: dict[str, Any]) -> dict[str, list[str]]:
    """Source identities that occur more than once, per entity (should be empty)."""
    canon = canonical(dump)
    out: dict[str, list[str]] = {}
    for entity, rows in canon.items():
        counts = Counter(rows)
        dup = [r for r, n in counts.items() if n > 1]
        if dup:
            out[entity] = dup
    return out


def run_async(fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine function to completion."""
    return asyncio.run(fn())


def diff(got: dict[str, list[str]], want: dict[str, list[str]], limit: int = 2) -> str:
    """A short text of what differs between two canonical dumps (for assertion messages)."""
    lines: list[str] = []
    for k in sorted(set(got) | set(want)):
        a, b = got.get(k, []), want.get(k, [])
        if a == b:
            continue
        lines.append(f"{k}: {len(a)} records, expected {len(b)}")
        lines += [f"  extra   {x[:400]}" for x in sorted(set(a) - set(b))[:limit]]
        lines += [f"  missing {x[:400]}" for x in sorted(set(b) - set(a))[:limit]]
    return "\n".join(lines)
