"""The values apply produces: payloads with named fields, refs, findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.model import (
    MappingObject,
)
from pdmigrate.records import Finding, Row

if TYPE_CHECKING:
    from pdmigrate.mapping.crossref import CrossIndex


@dataclass(frozen=True, slots=True)
class Ref:
    """A link by source identity: mapped object ``to`` (or an entity) and the key or name."""

    to: str
    key: str
    match: str = "key"

    def to_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"to": self.to, "key": self.key, "match": self.match}


@dataclass(frozen=True, slots=True)
class Payload:
    """One record to write (or fields to add to a record, when ``update_of`` is set).

    ``rows`` names (``file:line``) every source row the record was made from, when
    that is more than the one row at ``where`` (a group, a client's rows, the payments
    of a payment-history note); :attr:`origin` is the list verify accounts rows by.
    """

    object: str
    entity: str
    source_key: str
    fields: dict[str, Any]
    links: dict[str, Ref | tuple[Ref, ...]] = field(default_factory=dict)
    where: str = ""
    update_of: Ref | None = None
    rows: tuple[str, ...] = ()

    @property
    def origin(self) -> tuple[str, ...]:
        """The source rows this record came from (``rows``, else ``where``; none for config)."""
        if self.rows:
            return self.rows
        return (self.where,) if self.where else ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (for reports and tests)."""
        links = {
            k: (v.to_dict() if isinstance(v, Ref) else [r.to_dict() for r in v])
            for k, v in self.links.items()
        }
        return {
            "object": self.object,
            "entity": self.entity,
            "source_key": self.source_key,
            "fields": self.fields,
            "links": links,
            "where": self.where,
            "update_of": None if self.update_of is None else self.update_of.to_dict(),
        }


@dataclass
class Applied:
    """Payloads and findings from applying a mapping (or one object) to rows."""

    payloads: list[Payload] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def extend(self, other: Applied) -> None:
        """Add another result's payloads and findings."""
        self.payloads.extend(other.payloads)
        self.findings.extend(other.findings)

    def stamp(self, rows: Sequence[Row]) -> Applied:
        """Name ``rows`` as the origin of every payload that names no rows yet; return self."""
        wheres = tuple(r.where for r in rows)
        self.payloads = [p if p.rows else replace(p, rows=wheres) for p in self.payloads]
        return self

    def of(self, object_id: str, entity: str | None = None) -> list[Payload]:
        """The payloads of one mapping object (and entity)."""
        return [
            p
            for p in self.payloads
            if p.object == object_id and (entity is None or p.entity == entity)
        ]


@dataclass(frozen=True)
class ApplyContext:
    """What apply needs beyond the mapping: names for subject templates, firm rules.

    ``index`` holds the cross-object facts (:mod:`pdmigrate.mapping.crossref`);
    :func:`~pdmigrate.mapping.apply.apply_rows` builds it when it is None.
    ``attachments`` lists the files of the workspace attachments folder (paths relative
    to it, ``/``-separated; :func:`pdmigrate.mapping.gather.attachment_names`): an
    object's ``options.attachments`` pattern picks its files from them.
    """

    practice_name: str = "Practice"
    person_names: Mapping[str, str] = field(default_factory=dict)
    firm_name_patterns: Sequence[str] = ()
    firm_categories: Sequence[str] = ()
    index: CrossIndex | None = None
    attachments: Sequence[str] = ()


def source_key(mapping: MappingFile, obj: MappingObject, key: Sequence[str]) -> str:
    """``profile/object/key`` (landing rules §0), composite keys joined with ``|``."""
    return f"{mapping.profile}/{obj.id}/{'|'.join(key)}"
