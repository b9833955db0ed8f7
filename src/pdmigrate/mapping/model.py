"""The mapping.yaml model: what a user reviews, edits and confirms.

A mapping says, for each source object (a landing of the profile), which Pipedrive
entities it becomes (``targets`` and ``cardinality``), its key and links, and one
*field line* per source column (or group of columns) with the Pipedrive field it
fills **by name**, the transform chain, a rollup for grouped rows, the value map for
pick-lists and a confidence. Pipelines with stage probabilities, custom activity
types, value maps and the list of what is deliberately not migrated sit at the top.

:func:`parse_mapping` validates a loaded file and turns every problem into a
ConfigError naming ``mapping.yaml:LINE``. Field keys (40-character hashes) never
appear here: they are resolved per account at plan time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.yamlio import LineIndex
from pdmigrate.profiles.model import (
    NATIVE_FIELDS,
    ActivitySpec,
    Cardinality,
    CustomFieldType,
    Entity,
    StatusRule,
)

MAPPING_VERSION = 1

#: Rollup operations for grouped rows (``group_by``); pivot and note_table are object-level.
Rollup = Literal[
    "first",
    "last",
    "sum",
    "count",
    "min",
    "max",
    "mean",
    "join",
    "most_frequent",
    "worst",
    "ratio",
]
ROLLUPS: tuple[str, ...] = Rollup.__args__  # type: ignore[attr-defined]
#: Every named grouping operation a mapping can use (docs/mapping-file.md lists them).
GROUP_OPERATIONS: tuple[str, ...] = ("group_by", *ROLLUPS, "pivot", "note_table")

LinkName = Literal["org_id", "person_id", "deal_id", "participants", "parent", "owner_id", "record"]
LinkMatch = Literal["key", "name", "before_dot", "most_frequent"]

#: Entities that carry the "Source ID" custom field (landing rules §0).
SOURCE_ID_ENTITIES = frozenset({"person", "organization", "deal", "product"})
SOURCE_ID_FIELD = "Source ID"
EMAIL_MISSING_FIELD = "Email missing"
#: Pipedrive entities that have no custom fields: identity goes in the marker line.
MARKER_ENTITIES = frozenset({"activity", "note"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Strict):
    """The practice facts transforms need (copied from pdmigrate.toml when proposed)."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    date_order: Literal["dmy", "mdy", "ymd"] | None = None
    own_email_domain: str | None = None


class StageLine(_Strict):
    """A stage and its deal probability (percent)."""

    name: str
    probability: int = Field(ge=0, le=100)


class Pipeline(_Strict):
    """A pipeline to create or reuse by name, with its stages in order."""

    name: str
    stages: list[StageLine] = Field(min_length=1)


class FieldLine(_Strict):
    """One column (or several) into one Pipedrive field, by name.

    ``custom`` is the custom field's type when the field is not native to ``entity``;
    ``reuse`` says an account field of that name exists and is reused. ``values``
    names a value map (pick-list -> option). ``rollup`` combines a group's rows;
    ``weight`` multiplies each row's value by another column before a ``sum``; a
    ``ratio`` divides the sum of ``columns[0]`` by the sum of ``columns[1]``.
    """

    columns: list[str] = Field(min_length=1)
    field: str = Field(min_length=1)
    entity: Entity | None = None
    custom: CustomFieldType | None = None
    reuse: bool = False
    transform: str = ""
    values: str | None = None
    options: list[str] = Field(default_factory=list)
    rollup: Rollup | None = None
    weight: str | None = None
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    why: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _column_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "column" in data:
            data = dict(data)
            column = data.pop("column")
            if "columns" in data:
                raise ValueError("give either column or columns, not both")
            data["columns"] = column if isinstance(column, list) else [column]
        if isinstance(data, dict) and "transforms" in data:
            data = dict(data)
            chain = data.pop("transforms")
            if "transform" in data:
                raise ValueError("give either transform or transforms, not both")
            data["transform"] = " | ".join(chain) if isinstance(chain, list) else chain
        return data

    @model_validator(mode="after")
    def _consistent(self) -> FieldLine:
        if self.rollup == "ratio" and len(self.columns) != 2:
            raise ValueError("rollup ratio needs two columns (numerator, denominator)")
        if self.weight is not None and self.rollup != "sum":
            raise ValueError("weight only applies to rollup sum")
        return self

    def native_on(self, entity: str) -> bool:
        """True when ``field`` is one of Pipedrive's own fields of ``entity``."""
        return self.field in NATIVE_FIELDS.get(entity, frozenset())


class Link(_Strict):
    """A link to another mapped object, found by the values of ``columns``.

    ``match``: ``key`` (the other object's key), ``name`` (its name field),
    ``before_dot`` (the part of the value before its first ``.``: client of a matter),
    ``most_frequent`` (the most frequent value among the group's rows).
    ``record`` links a field-only object to the record its fields update.
    ``separator`` splits a multi-value cell (the profile column's declared separator,
    e.g. Practice Master's ``Users``); without it a value is one whole reference, so a
    "Last, First" name stays one name.
    """

    to: str
    columns: list[str] = Field(default_factory=list)
    match: LinkMatch = "key"
    via: str | None = None
    fallback: str | None = None
    separator: str | None = None


class StatusMap(_Strict):
    """How a status column moves a deal: stage, won or lost, per source value."""

    column: str | None = None
    map: dict[str, StatusRule] = Field(default_factory=dict)
    default: StatusRule | None = None
    selector: dict[str, str] = Field(default_factory=dict)


class Pivot(_Strict):
    """Long-format rows into fields: one field per distinct ``column`` value."""

    column: str
    value: str
    rollup: Rollup = "last"
    order_by: str | None = None
    where_blank: list[str] = Field(default_factory=list)
    custom: CustomFieldType = "double"
    entity: Entity | None = None


class NoteTable(_Strict):
    """The group's rows as a text table in one Note on the grouped record."""

    columns: list[str] = Field(min_length=1)
    title: str = ""


class NoteSpec(_Strict):
    """How a note's content is built: header template above the content column."""

    content: str | None = None
    header: str | None = None
    attach_to: list[Entity] = Field(default_factory=list)
    date: list[str] = Field(default_factory=list)


class MappingObject(_Strict):
    """One source object (landing) and the Pipedrive entities it becomes."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: list[str] = Field(default_factory=list)
    targets: list[Entity] = Field(min_length=1)
    cardinality: Cardinality
    native: bool = False
    rule: str = ""
    key: list[str] = Field(default_factory=list)
    source_id: bool = False
    email_missing: bool = False
    group_by: list[str] = Field(default_factory=list)
    split_key: Literal["none", "before_dot"] = "none"
    filter: dict[str, list[str]] = Field(default_factory=dict)
    exclude: dict[str, list[str]] = Field(default_factory=dict)
    owner: str | None = None
    title: str | None = None
    links: dict[LinkName, Link] = Field(default_factory=dict)
    fields: list[FieldLine] = Field(default_factory=list)
    pipeline: str | None = None
    status: StatusMap | None = None
    activity: ActivitySpec | None = None
    note: NoteSpec | None = None
    pivot: Pivot | None = None
    note_table: NoteTable | None = None
    files: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> MappingObject:
        if self.cardinality == "grouped" and not self.group_by:
            raise ValueError(f"object {self.id!r}: cardinality grouped needs group_by")
        if self.source_id and not SOURCE_ID_ENTITIES.intersection(self.targets):
            raise ValueError(
                f"object {self.id!r}: source_id is only for persons, organizations, deals "
                "and products"
            )
        if "deal" in self.targets and self.status is not None and self.pipeline is None:
            raise ValueError(f"object {self.id!r}: a deal status map needs a pipeline")
        return self

    @property
    def primary(self) -> str | None:
        """The source object whose rows this object reads."""
        return self.source[0] if self.source else None

    def entity_of(self, line: FieldLine) -> str:
        """The entity a field line writes to (its own, else the object's first target)."""
        return line.entity or self.targets[0]


class NotMigrated(_Strict):
    """Something deliberately left behind, with the reason (listed in reports)."""

    object: str
    column: str | None = None
    reason: str = Field(min_length=3)
    rebuild: bool = False


class Compatibility(_Strict):
    """Landing-rules §7: source objects landing 1:1 on a native object, of all of them."""

    mapped: int
    total: int
    native: int
    percent: int
    one_to_many: int = 0
    fields_only: int = 0


class SourceFiles(_Strict):
    """The export files that hold a source object, and headers renamed to profile columns.

    ``headers`` lists only the renames (actual header -> profile column) that the
    profile's own aliases did not cover; rows are read under the profile's names.
    """

    files: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)


class Mapping(_Strict):
    """A whole mapping.yaml."""

    version: int = MAPPING_VERSION
    profile: str
    settings: Settings
    compatibility: Compatibility | None = None
    sources: dict[str, SourceFiles] = Field(default_factory=dict)
    pipelines: list[Pipeline] = Field(default_factory=list)
    activity_types: list[str] = Field(default_factory=list)
    value_maps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    objects: list[MappingObject] = Field(default_factory=list)
    not_migrated: list[NotMigrated] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Mapping:
        if self.version != MAPPING_VERSION:
            raise ValueError(f"version {self.version} is not {MAPPING_VERSION}")
        ids = [o.id for o in self.objects]
        if len(set(ids)) != len(ids):
            raise ValueError("objects: two objects share an id")
        names = [p.name for p in self.pipelines]
        if len(set(names)) != len(names):
            raise ValueError("pipelines: two pipelines share a name")
        return self

    def object(self, object_id: str) -> MappingObject:
        """The mapping object with this id (KeyError if there is none)."""
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise KeyError(object_id)

    def pipeline(self, name: str) -> Pipeline | None:
        """The pipeline called ``name``, or None."""
        return next((p for p in self.pipelines if p.name == name), None)


def parse_mapping(data: Any, lines: LineIndex, where: str = "mapping.yaml") -> Mapping:
    """Validate loaded YAML as a Mapping; ConfigError names ``where:line`` of the first error."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}:1: a mapping must be a YAML mapping at the top level")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = _clean_loc(first["loc"])
        line = lines.line(loc) or 1
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        path = ".".join(str(p) for p in loc) or "top level"
        raise ConfigError(f"{where}:{line}: {path}: {first['msg']}{more}") from None


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's validator names from an error location (``function-after[...]``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p and "]" in p))
