"""The plan's interface types: what ``plan`` decides and ``run`` executes.

Everything here is frozen and JSON round-trips through :func:`plan_to_dict` /
:func:`plan_from_dict` (``plan.json`` in the workspace). Field names, never 40-char keys,
except in :attr:`TargetPrep.reuse`, which names the existing field a spec reuses.

Shared contract with engineer "load" (issue 6): change only by adding fields with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Version of plan.json; load_plan refuses other versions.
PLAN_FORMAT = 1

#: The custom field every SID entity gets (landing rules §0).
SOURCE_ID_FIELD = "Source ID"
#: The deals' original-date field (deals take no add_time).
SOURCE_CREATED_FIELD = "Source Created Date"
#: Contact Sync fallbacks (landing rules §6, missing field types).
DOB_FIELD = "Date of Birth"
ADDRESS_FIELD = "Address"
#: visible_to for records marked private in the source (owner only).
VISIBLE_PRIVATE = 1


@dataclass(frozen=True)
class FieldSpec:
    """A custom field the target needs: entity (person, organization, deal, product), name, type.

    ``options`` are the labels of an enum/set field (all of them, existing ones included).
    """

    entity: str
    name: str
    field_type: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageSpec:
    """One pipeline stage in order; ``probability`` in percent or None (Pipedrive default)."""

    name: str
    probability: int | None


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline and its stages, in order."""

    name: str
    stages: tuple[StageSpec, ...]


@dataclass(frozen=True)
class ActivityTypeSpec:
    """A custom activity type (name plus Pipedrive icon key)."""

    name: str
    icon_key: str


@dataclass(frozen=True)
class TargetPrep:
    """What the account needs before the first record is written.

    ``reuse`` maps ``(entity, name)`` to the existing key/id that satisfies a spec:
    entity is ``person``/``organization``/``deal``/``product`` for fields (value: the
    40-char key or a native key such as ``birthday``), ``pipeline`` for pipelines and
    ``stage`` with name ``"<pipeline>/<stage>"`` for stages (value: the id as a string),
    ``activity_type`` (value: its key_string). Specs not in ``reuse`` are created.
    """

    fields: tuple[FieldSpec, ...]
    pipelines: tuple[PipelineSpec, ...]
    activity_types: tuple[ActivityTypeSpec, ...]
    contact_sync: bool
    visible_to_company: int
    reuse: dict[tuple[str, str], str] = field(default_factory=dict)

    def to_create(self) -> tuple[FieldSpec, ...]:
        """The field specs not satisfied by an existing field."""
        return tuple(f for f in self.fields if (f.entity, f.name) not in self.reuse)


@dataclass(frozen=True)
class Owners:
    """Source staff (the owner ref's key: email, timekeeper number, name) -> Pipedrive user id.

    Staff in ``unmatched`` get ``fallback_user_id``; ``run`` refuses when there are
    unmatched staff and no fallback. ``inactive_rule`` is the profile's rule for
    inactive practitioners (``person`` or ``fallback``).
    """

    by_staff: dict[str, int]
    fallback_user_id: int | None
    unmatched: tuple[str, ...]
    fallback_email: str | None = None
    inactive_rule: str = "fallback"

    def user_for(self, staff: str | None) -> int | None:
        """The user id owning records of ``staff`` (None: the token's user, Pipedrive default)."""
        if staff is None or not staff.strip():
            return self.fallback_user_id
        return self.by_staff.get(staff.strip(), self.fallback_user_id)

    @property
    def runnable(self) -> bool:
        """False when some staff have no user and there is no fallback owner."""
        return not self.unmatched or self.fallback_user_id is not None


@dataclass(frozen=True)
class Plan:
    """Everything ``run`` needs decided before the first write, plus the estimate."""

    target: TargetPrep
    owners: Owners
    merges: dict[str, str]  # duplicate source_key -> kept source_key (decisions.csv "merge")
    existing: dict[str, int]  # person source_key -> existing Pipedrive person id
    counts: dict[str, int]  # ops per entity (creates + updates), incl. "field", "stage", ...
    tokens: int
    days: float
    grade: str
    skips: frozenset[str] = frozenset()  # source keys decisions.csv says to skip
    private: frozenset[str] = frozenset()  # source keys marked private -> visible_to 1
    plan_name: str = "growth"
    seats: int = 1
    mapping_sha256: str = ""
    created_at: str = ""
    warnings: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)  # estimate, grade inputs, caps

    def visible_to(self, source_key: str) -> int:
        """visible_to for a record: owner-only when private in the source, else company."""
        return VISIBLE_PRIVATE if source_key in self.private else self.target.visible_to_company


def _target_to_dict(t: TargetPrep) -> dict[str, Any]:
    return {
        "fields": [
            {
                "entity": f.entity,
                "name": f.name,
                "field_type": f.field_type,
                "options": list(f.options),
            }
            for f in t.fields
        ],
        "pipelines": [
            {
                "name": p.name,
                "stages": [{"name": s.name, "probability": s.probability} for s in p.stages],
            }
            for p in t.pipelines
        ],
        "activity_types": [{"name": a.name, "icon_key": a.icon_key} for a in t.activity_types],
        "contact_sync": t.contact_sync,
        "visible_to_company": t.visible_to_company,
        "reuse": [{"entity": e, "name": n, "key": k} for (e, n), k in sorted(t.reuse.items())],
    }


def _target_from_dict(d: dict[str, Any]) -> TargetPrep:
    return TargetPrep(
        fields=tuple(
            FieldSpec(f["entity"], f["name"], f["field_type"], tuple(f.get("options", ())))
            for f in d["fields"]
        ),
        pipelines=tuple(
            PipelineSpec(
                p["name"],
                tuple(StageSpec(s["name"], s.get("probability")) for s in p["stages"]),
            )
            for p in d["pipelines"]
        ),
        activity_types=tuple(
            ActivityTypeSpec(a["name"], a["icon_key"]) for a in d["activity_types"]
        ),
        contact_sync=bool(d["contact_sync"]),
        visible_to_company=int(d["visible_to_company"]),
        reuse={(r["entity"], r["name"]): str(r["key"]) for r in d.get("reuse", ())},
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """plan.json content (JSON-ready, stable key order)."""
    o = plan.owners
    return {
        "format": PLAN_FORMAT,
        "created_at": plan.created_at,
        "mapping_sha256": plan.mapping_sha256,
        "plan_name": plan.plan_name,
        "seats": plan.seats,
        "target": _target_to_dict(plan.target),
        "owners": {
            "by_staff": dict(sorted(o.by_staff.items())),
            "fallback_user_id": o.fallback_user_id,
            "fallback_email": o.fallback_email,
            "unmatched": list(o.unmatched),
            "inactive_rule": o.inactive_rule,
        },
        "merges": dict(sorted(plan.merges.items())),
        "existing": dict(sorted(plan.existing.items())),
        "skips": sorted(plan.skips),
        "private": sorted(plan.private),
        "counts": dict(plan.counts),
        "tokens": plan.tokens,
        "days": plan.days,
        "grade": plan.grade,
        "warnings": list(plan.warnings),
        "details": plan.details,
    }


def plan_from_dict(d: dict[str, Any]) -> Plan:
    """Inverse of :func:`plan_to_dict`. Raises KeyError/ValueError on a malformed dict."""
    if d.get("format") != PLAN_FORMAT:
        raise ValueError(f"plan.json format {d.get('format')!r}, expected {PLAN_FORMAT}")
    o = d["owners"]
    return Plan(
        target=_target_from_dict(d["target"]),
        owners=Owners(
            by_staff={str(k): int(v) for k, v in o["by_staff"].items()},
            fallback_user_id=o.get("fallback_user_id"),
            unmatched=tuple(o.get("unmatched", ())),
            fallback_email=o.get("fallback_email"),
            inactive_rule=o.get("inactive_rule", "fallback"),
        ),
        merges={str(k): str(v) for k, v in d["merges"].items()},
        existing={str(k): int(v) for k, v in d["existing"].items()},
        counts={str(k): int(v) for k, v in d["counts"].items()},
        tokens=int(d["tokens"]),
        days=float(d["days"]),
        grade=str(d["grade"]),
        skips=frozenset(d.get("skips", ())),
        private=frozenset(d.get("private", ())),
        plan_name=str(d.get("plan_name", "growth")),
        seats=int(d.get("seats", 1)),
        mapping_sha256=str(d.get("mapping_sha256", "")),
        created_at=str(d.get("created_at", "")),
        warnings=tuple(d.get("warnings", ())),
        details=dict(d.get("details", {})),
    )
