"""The schema every source-system profile (one YAML file per system) is validated against.

A profile is data, not code: it says what a system's exports look like (files, objects,
columns with aliases and types, keys, relationships), how to read them (country, time
zone, currency, date order, encoding) and where each source object lands in Pipedrive by
default (``landing``: one entry per row of ``reference/landing-rules.md``, with pipelines,
stages, status maps, activity types and field targets). The mapping stage turns these
defaults into payloads; nothing here talks to Pipedrive.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ColumnType = Literal[
    "text",
    "id",
    "int",
    "decimal",
    "money",
    "date",
    "datetime",
    "time",
    "bool",
    "email",
    "phone",
    "enum",
    "html",
    "multi",
]
FileFormat = Literal["csv", "txt", "xlsx", "xls"]
DateOrder = Literal["DMY", "MDY", "YMD", "config"]
Entity = Literal[
    "person",
    "organization",
    "deal",
    "activity",
    "note",
    "file",
    "product",
    "lead",
    "user",
    "pipeline",
    "stage",
    "deal_product",
    "none",
]
_ENTITY_NAMES = frozenset(Entity.__args__)  # type: ignore[attr-defined]
Cardinality = Literal[
    "one_to_one", "grouped", "one_to_many", "fields_only", "not_migrated", "reference"
]
CustomFieldType = Literal[
    "varchar",
    "text",
    "double",
    "monetary",
    "date",
    "time",
    "enum",
    "set",
    "phone",
    "org",
    "people",
    "address",
]
Aggregate = Literal[
    "first", "latest", "earliest", "sum", "mean", "count", "worst", "most_frequent", "join"
]
AutomationKind = Literal[
    "reminder",
    "recall",
    "confirmation",
    "review_request",
    "follow_up",
    "recurring",
    "billing",
    "report",
    "template",
]

#: Pipedrive's native (non-custom) fields per entity that landings may name directly.
NATIVE_FIELDS: dict[str, frozenset[str]] = {
    "person": frozenset(
        {
            "name",
            "first_name",
            "last_name",
            "emails",
            "phones",
            "add_time",
            "owner_id",
            "org_id",
            "visible_to",
            "birthday",
            "postal_address",
            "label_ids",
        }
    ),
    "organization": frozenset({"name", "address", "add_time", "owner_id", "visible_to"}),
    "deal": frozenset(
        {
            "title",
            "value",
            "currency",
            "status",
            "stage_id",
            "pipeline_id",
            "person_id",
            "org_id",
            "owner_id",
            "won_time",
            "lost_time",
            "close_time",
            "lost_reason",
            "expected_close_date",
            "probability",
            "visible_to",
        }
    ),
    "activity": frozenset(
        {
            "subject",
            "type",
            "due_date",
            "due_time",
            "duration",
            "done",
            "note",
            "location",
            "participants",
            "attendees",
            "owner_id",
            "deal_id",
            "org_id",
            "public_description",
            "busy",
        }
    ),
    "note": frozenset({"content", "add_time", "person_id", "org_id", "deal_id", "user_id"}),
    "file": frozenset({"file", "file_name", "person_id", "org_id", "deal_id"}),
    "product": frozenset(
        {"name", "code", "prices", "tax", "unit", "description", "active_flag", "owner_id"}
    ),
    "lead": frozenset(
        {"title", "person_id", "organization_id", "value", "expected_close_date", "owner_id"}
    ),
    "user": frozenset({"name", "email", "active_flag"}),
    "deal_product": frozenset({"product_id", "item_price", "quantity", "discount", "tax"}),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemMeta(_Strict):
    """Who the system is and the conventions its exports follow."""

    label: str
    vendor: str | None = None
    domain: Literal["dental", "medical", "legal", "clinic", "professional", "any"] = "any"
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    date_order: DateOrder
    time_format: Literal["12h", "24h", "any"] = "any"
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    phone_region: str = Field(pattern=r"^[A-Z]{2}$")
    firm_name_patterns: list[str] = Field(default_factory=list)
    firm_categories: list[str] = Field(default_factory=list)
    placeholder_emails: list[str] = Field(default_factory=list)
    null_dates: list[str] = Field(default_factory=list)
    inactive_staff: Literal["fallback", "person"] = "fallback"
    not_exported: list[str] = Field(default_factory=list)
    evidence: Literal["DOC", "3P", "INF"] = "INF"

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("firm_name_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return value


class FileSpec(_Strict):
    """How a file of this object is recognised and read."""

    patterns: list[str] = Field(min_length=1)
    formats: list[FileFormat] = Field(default_factory=lambda: list[FileFormat](["csv"]))
    title_rows: bool = False
    encoding: str | None = None
    sheet: str | None = None
    optional: bool = False
    one_file_per: str | None = None


class Column(_Strict):
    """One source column: its documented header, the spellings seen for it, and its type."""

    name: str
    type: ColumnType = "text"
    aliases: list[str] = Field(default_factory=list)
    required: bool = False
    separator: str | None = None
    values: list[str] = Field(default_factory=list)
    sensitive: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _multi_has_separator(self) -> Column:
        if self.type == "multi" and not self.separator:
            raise ValueError(f"column {self.name!r}: type multi needs a separator")
        return self


class Relationship(_Strict):
    """A foreign key from this object's columns to another object's key."""

    name: str
    columns: list[str] = Field(min_length=1)
    references: str
    ref_columns: list[str] = Field(default_factory=list)
    optional: bool = True
    split: Literal["none", "before_dot"] = "none"


class SourceObject(_Strict):
    """A kind of record in the exports (patients, appointments, CMJRNL, ...)."""

    name: str
    label: str
    description: str | None = None
    file: FileSpec
    key: list[str] = Field(default_factory=list)
    columns: list[Column] = Field(min_length=1)
    relationships: list[Relationship] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SourceObject:
        names = {c.name for c in self.columns}
        if len(names) != len(self.columns):
            names_in_order = [c.name for c in self.columns]
            dup = next(n for i, n in enumerate(names_in_order) if n in names_in_order[:i])
            raise ValueError(f"object {self.name!r}: column {dup!r} declared twice")
        for key in self.key:
            if key not in names:
                raise ValueError(f"object {self.name!r}: key column {key!r} is not a column")
        for rel in self.relationships:
            for col in rel.columns:
                if col not in names:
                    raise ValueError(
                        f"object {self.name!r}: relationship {rel.name!r} column {col!r} "
                        "is not a column"
                    )
        return self

    def column(self, name: str) -> Column:
        """The column called ``name`` (KeyError if there is none)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


class FieldTarget(_Strict):
    """Where a source column (or derived value) lands: a native field or a custom field."""

    field: str
    entity: Entity | None = None
    type: CustomFieldType | None = None
    transform: str | None = None
    aggregate: Aggregate | None = None
    options: list[str] = Field(default_factory=list)

    @property
    def custom(self) -> bool:
        """True when the field is not one of Pipedrive's native fields for its entity."""
        return self.entity is None or self.field not in NATIVE_FIELDS.get(self.entity, frozenset())


class StatusRule(_Strict):
    """What a source status value does to a deal: a stage, or won / lost."""

    stage: str | None = None
    status: Literal["open", "won", "lost"] = "open"
    lost_reason: str | None = None
    time_from: str | None = None
    when_paid: Literal["won", "lost"] | None = None

    @model_validator(mode="after")
    def _open_has_stage(self) -> StatusRule:
        if self.status == "open" and self.stage is None:
            raise ValueError("an open status rule needs a stage")
        return self


class Stage(_Strict):
    """A pipeline stage with its deal probability (percent)."""

    name: str
    probability: int = Field(ge=0, le=100)


class PipelineSpec(_Strict):
    """The pipeline a deal landing uses and how source statuses move deals through it."""

    name: str
    status_column: str | None = None
    stages: list[Stage] = Field(min_length=1)
    status_map: dict[str, StatusRule] = Field(default_factory=dict)
    default: StatusRule | None = None
    selector: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _stages_exist(self) -> PipelineSpec:
        stages = {s.name for s in self.stages}
        rules = [*self.status_map.values(), *([self.default] if self.default else [])]
        for rule in rules:
            if rule.stage is not None and rule.stage not in stages:
                raise ValueError(f"pipeline {self.name!r}: stage {rule.stage!r} is not declared")
        return self

    def rule_for(self, value: str | None) -> StatusRule | None:
        """The rule for a source status, matched case- and whitespace-insensitively."""
        if value is None:
            return self.default
        wanted = _norm_value(value)
        for source, rule in self.status_map.items():
            if _norm_value(source) == wanted:
                return rule
        return self.default


class ActivitySpec(_Strict):
    """How an activity landing picks its type, subject, done flag and timing."""

    type: str
    custom_type: bool = False
    type_column: str | None = None
    type_map: dict[str, str] = Field(default_factory=dict)
    custom_types: list[str] = Field(default_factory=list)
    subject: str
    status_column: str | None = None
    done_map: dict[str, bool] = Field(default_factory=dict)
    subject_prefix: dict[str, str] = Field(default_factory=dict)
    skip_statuses: list[str] = Field(default_factory=list)
    default_done: bool = False
    due_date: str | None = None
    due_time: str | None = None
    duration: str | None = None
    location: list[str] = Field(default_factory=list)

    def is_done(self, status: str | None) -> bool:
        """The done flag for a source status (case-insensitive), else ``default_done``."""
        if status is not None:
            wanted = _norm_value(status)
            for source, done in self.done_map.items():
                if _norm_value(source) == wanted:
                    return done
        return self.default_done


class Landing(_Strict):
    """One row of the landing rules: a source object (or facet of one) and its target."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str
    objects: list[str] = Field(default_factory=list)
    targets: list[Entity] = Field(min_length=1)
    cardinality: Cardinality
    native: bool
    rule: str
    reason: str | None = None
    key: list[str] = Field(default_factory=list)
    group_by: list[str] = Field(default_factory=list)
    split_key: Literal["none", "before_dot"] = "none"
    filter: dict[str, list[str]] = Field(default_factory=dict)
    exclude: dict[str, list[str]] = Field(default_factory=dict)
    owner: str | None = None
    parent: str | None = None
    fields: dict[str, FieldTarget] = Field(default_factory=dict)
    pipeline: PipelineSpec | None = None
    activity: ActivitySpec | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand_fields(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for column, target in value.items():
            if isinstance(target, str):
                entity, dot, field = target.partition(".")
                item: dict[str, Any] = {"field": target}
                if dot and entity in _ENTITY_NAMES:
                    item = {"field": field, "entity": entity}
                out[column] = item
            else:
                out[column] = target
        return out

    @model_validator(mode="after")
    def _consistent(self) -> Landing:
        if self.cardinality == "not_migrated" and not self.reason:
            raise ValueError(f"landing {self.id!r}: not_migrated needs a reason")
        if self.cardinality == "grouped" and not self.group_by:
            raise ValueError(f"landing {self.id!r}: grouped needs group_by")
        deal_rows = self.cardinality in {"one_to_one", "grouped"}
        if "deal" in self.targets and deal_rows and self.pipeline is None:
            raise ValueError(f"landing {self.id!r}: a deal landing needs a pipeline")
        activity_rows = self.cardinality in {"one_to_one", "one_to_many"}
        if "activity" in self.targets and activity_rows and self.activity is None:
            raise ValueError(f"landing {self.id!r}: an activity landing needs activity")
        # Resolve the default entity of shorthand field targets.
        fixed: dict[str, FieldTarget] = {}
        for column, target in self.fields.items():
            if target.entity is None:
                target = target.model_copy(update={"entity": self.targets[0]})
            fixed[column] = target
        object.__setattr__(self, "fields", fixed)
        return self


class Automation(_Strict):
    """A known automation of the source system, for the workflow rebuild reference."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    kind: AutomationKind
    trigger: str
    timing: str | None = None
    channel: list[Literal["sms", "email", "phone", "letter", "in_app", "none"]] = Field(
        default_factory=list
    )
    conditions: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    inferred_from: list[str] = Field(default_factory=list)
    pipedrive: str
    evidence: Literal["DOC", "3P", "INF"] = "INF"


class Profile(_Strict):
    """A source system: its conventions, exports, objects, landings and automations."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    system: SystemMeta
    objects: list[SourceObject] = Field(min_length=1)
    landing: list[Landing] = Field(default_factory=list)
    automations: list[Automation] = Field(default_factory=list)
    compatibility: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> Profile:
        names = [o.name for o in self.objects]
        if len(set(names)) != len(names):
            raise ValueError("objects: two objects share a name")
        by_name = {o.name: o for o in self.objects}
        for obj in self.objects:
            for rel in obj.relationships:
                target = by_name.get(rel.references)
                if target is None:
                    raise ValueError(
                        f"object {obj.name!r}: relationship {rel.name!r} references unknown "
                        f"object {rel.references!r}"
                    )
                ref_cols = rel.ref_columns or target.key
                for col in ref_cols:
                    if col not in {c.name for c in target.columns}:
                        raise ValueError(
                            f"object {obj.name!r}: relationship {rel.name!r} names "
                            f"{rel.references}.{col}, which is not a column"
                        )
        ids = [landing.id for landing in self.landing]
        if len(set(ids)) != len(ids):
            raise ValueError("landing: two entries share an id")
        for landing in self.landing:
            for obj_name in landing.objects:
                if obj_name not in by_name:
                    raise ValueError(f"landing {landing.id!r}: unknown source object {obj_name!r}")
            if landing.objects:
                cols = {c.name for n in landing.objects for c in by_name[n].columns}
                for ref in [*landing.key, *landing.group_by]:
                    if ref not in cols:
                        raise ValueError(
                            f"landing {landing.id!r}: column {ref!r} is not in "
                            f"{', '.join(landing.objects)}"
                        )
        if self.compatibility is not None:
            native, total = self.compatibility
            got = (sum(1 for x in self.landing if x.native), len(self.landing))
            if got != (native, total):
                raise ValueError(
                    f"compatibility: declared {native}/{total}, landing entries give "
                    f"{got[0]}/{got[1]}"
                )
        return self

    def object(self, name: str) -> SourceObject:
        """The source object called ``name`` (KeyError if there is none)."""
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(name)

    def landings_for(self, object_name: str) -> list[Landing]:
        """Every landing entry that reads ``object_name``."""
        return [x for x in self.landing if object_name in x.objects]

    def compatibility_ratio(self) -> tuple[int, int, int]:
        """(native 1:1 landings, all landings, percent rounded half up), as in landing-rules §7."""
        native = sum(1 for x in self.landing if x.native)
        total = len(self.landing)
        return native, total, (native * 200 + total) // (2 * total) if total else 0

    def is_firm_name(self, name: str) -> bool:
        """True when a client name looks like a firm by the profile's firm-name patterns."""
        return any(re.search(p, name, flags=re.IGNORECASE) for p in self.system.firm_name_patterns)


def _norm_value(value: str) -> str:
    return " ".join(value.split()).casefold()
