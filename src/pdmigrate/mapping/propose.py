"""`pdmigrate map`: propose a mapping from the profile's defaults and the export itself.

Pure: it takes the profile, the practice settings, a sample of every export file
(:class:`TableSample`: headers, sample values, distinct values) and the names of the
fields the target account already has, and returns a :class:`Proposal`. Reading the
exports and asking the account live in :mod:`pdmigrate.mapping.gather`.

Each landing of the profile (a row of the landing rules) becomes a mapping object.
Headers are matched to the profile's columns (aliases, then synonyms + rapidfuzz);
columns no landing uses become proposed custom fields (or are listed as not migrated
with a reason: government IDs), never silently dropped. Pick-list values found in
the data fill the value maps, and values with no option, stage or done flag are
flagged for review. Every field line carries a confidence; lines under
:data:`REVIEW_BELOW` are listed for review.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pdmigrate.mapping.compat import compatibility
from pdmigrate.mapping.fieldlines import address_line, is_sensitive, profile_line, sniffed_line
from pdmigrate.mapping.headers import HeaderMatch, match_headers
from pdmigrate.mapping.landing import (
    home as home_object,
)
from pdmigrate.mapping.landing import (
    landing_stub,
    note,
    note_table,
    title,
    used_columns,
)
from pdmigrate.mapping.landing import (
    pivot as pivot_of,
)
from pdmigrate.mapping.links import derive_links, separator_of
from pdmigrate.mapping.model import (
    SOURCE_ID_ENTITIES,
    FieldLine,
    Link,
    MappingObject,
    NotMigrated,
    Pipeline,
    Settings,
    SourceFiles,
    StageLine,
    StatusMap,
)
from pdmigrate.mapping.model import (
    Mapping as MappingFile,
)
from pdmigrate.mapping.names import equivalent_name
from pdmigrate.mapping.samples import Proposal, ReviewItem, TableSample
from pdmigrate.mapping.sniff import sniff
from pdmigrate.profiles.model import Landing, Profile, SourceObject

GOVERNMENT_ID = "government or health-scheme identifier: no CRM use (landing rules §6)"
#: Field lines below this confidence are listed for review.
REVIEW_BELOW = 0.8
RECORD_CARDINALITIES = frozenset({"one_to_one", "grouped", "one_to_many"})

__all__ = ["REVIEW_BELOW", "Proposal", "ReviewItem", "TableSample", "propose"]


@dataclass
class _Builder:
    profile: Profile
    settings: Settings
    tables: Sequence[TableSample]
    existing: Mapping[str, Collection[str]]
    review: list[ReviewItem] = field(default_factory=list)
    value_maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, SourceFiles] = field(default_factory=dict)
    header_of: dict[str, dict[str, HeaderMatch]] = field(default_factory=dict)
    not_migrated: list[NotMigrated] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)

    # -- sources ---------------------------------------------------------------------

    def identify(self) -> None:
        for table in self.tables:
            name = table.object
            if name is None:
                name = self._best_object(table)
            if name is None:
                self.unknown_files.append(table.name)
                continue
            obj = self.profile.object(name)
            matches = match_headers(obj, table.headers)
            merged = self.header_of.setdefault(name, {})
            merged.update(matches)
            src = self.sources.get(name, SourceFiles())
            renames = dict(src.headers)
            renames.update({h: m.column for h, m in matches.items() if h != m.column})
            self.sources[name] = SourceFiles(files=[*src.files, table.name], headers=renames)

    def _best_object(self, table: TableSample) -> str | None:
        best: tuple[float, str] | None = None
        for obj in self.profile.objects:
            found = match_headers(obj, table.headers)
            if len(found) >= 2:
                score = sum(m.confidence for m in found.values()) / max(len(table.headers), 1)
                if best is None or score > best[0]:
                    best = (score, obj.name)
        return best[1] if best and best[0] >= 0.3 else None

    def detect_date_order(self) -> Literal["dmy", "mdy", "ymd"] | None:
        """The exports' day/month order from every date column's sample (None: undecided)."""
        from pdmigrate.transforms import detect_date_order

        values: list[str] = []
        for obj_name in self.sources:
            obj = self.profile.object(obj_name)
            for col in obj.columns:
                if col.type in ("date", "datetime"):
                    values.extend(self.values_of(obj_name, col.name)[1])
        found = detect_date_order(values).order
        return found if found in ("dmy", "mdy", "ymd") else None

    def present(self, obj_name: str) -> bool:
        return obj_name in self.sources

    def column_confidence(self, obj_name: str, column: str) -> float:
        if not self.present(obj_name):
            return 1.0
        for match in self.header_of.get(obj_name, {}).values():
            if match.column == column:
                return match.confidence
        return 0.0

    def table_for(self, obj_name: str) -> list[TableSample]:
        files = set(self.sources.get(obj_name, SourceFiles()).files)
        return [t for t in self.tables if t.name in files]

    def values_of(self, obj_name: str, column: str) -> tuple[list[str] | None, list[str]]:
        """(distinct values or None when too many, sample values) of a profile column."""
        distinct: set[str] = set()
        samples: list[str] = []
        too_many = False
        for table in self.table_for(obj_name):
            header = self._header(obj_name, table, column)
            if header is None:
                continue
            samples.extend(table.samples.get(header, ()))
            values = table.distinct.get(header)
            if values is None:
                too_many = True
            else:
                distinct.update(v.strip() for v in values if v.strip())
        return (None if too_many else sorted(distinct)), samples

    def _header(self, obj_name: str, table: TableSample, column: str) -> str | None:
        for header in table.headers:
            match = self.header_of.get(obj_name, {}).get(header)
            if match is not None and match.column == column:
                return header
        return None

    # -- value maps --------------------------------------------------------------------

    def value_map(
        self,
        name: str,
        obj_name: str,
        column: str,
        options: Sequence[str],
        *,
        bool_yes: bool,
        line: FieldLine,
        raw: list[str] | None = None,
    ) -> None:
        distinct = raw if raw is not None else self.values_of(obj_name, column)[0]
        declared = next(
            (c for c in self.profile.object(obj_name).columns if c.name == column), None
        )
        if distinct is not None and declared is not None and declared.separator:
            parts = {p.strip() for v in distinct for p in v.split(declared.separator)}
            distinct = sorted(p for p in parts if p)
        table: dict[str, Any] = dict(self.value_maps.get(name, {}))
        known = {o.casefold(): o for o in options}
        for value in distinct or []:
            if value in table:
                continue
            if bool_yes:
                table[value] = (
                    "Yes"
                    if value.strip().lower() in {"y", "yes", "true", "t", "1", "x", "-1"}
                    else None
                )
                continue
            if not options:
                table[value] = value
            elif value.casefold() in known:
                table[value] = known[value.casefold()]
            else:
                table[value] = None
                self.flag(
                    obj_name, column, line.field, 0.5, f"value not mapped to an option: {name}"
                )
        if not table and options:
            table = {o: o for o in options}
        self.value_maps[name] = table

    def long_text(self, line: FieldLine, obj_name: str, column: str) -> FieldLine:
        """A varchar whose sampled values exceed 255 characters becomes a text field (§6)."""
        if line.custom != "varchar" or not self.present(obj_name):
            return line
        _, samples = self.values_of(obj_name, column)
        if not any(len(v) > 255 for v in samples):
            return line
        return line.model_copy(
            update={"custom": "text", "transform": "strip", "why": "values over 255 characters"}
        )

    def open_ended(self, line: FieldLine, obj_name: str, column: str) -> FieldLine:
        """A pick-list with too many distinct values becomes a text field (no value map)."""
        line = self.long_text(line, obj_name, column)
        if not line.values or line.options or line.custom not in ("enum", "set"):
            return line
        if not self.present(obj_name) or line.values == "gst_rate":
            return line
        distinct, _ = self.values_of(obj_name, column)
        if distinct is not None:
            return line
        transform = "split | join" if line.custom == "set" else "strip"
        return line.model_copy(
            update={
                "custom": "varchar",
                "values": None,
                "transform": f"{transform} | truncate(255)",
                "why": "many distinct values: text, not a pick-list",
            }
        )

    def flag(self, obj: str, column: str, field_name: str, confidence: float, reason: str) -> None:
        self.review.append(ReviewItem(obj, column, field_name, round(confidence, 3), reason))

    # -- objects -----------------------------------------------------------------------

    def build_object(self, landing: Landing) -> MappingObject:
        primary = landing.objects[0] if landing.objects else None
        obj = self.profile.object(primary) if primary else None
        fields: list[FieldLine] = []
        links: dict[str, Link] = {}
        for column, target in landing.fields.items():
            if obj is None:
                continue
            conf = self.column_confidence(obj.name, column)
            source_obj = obj
            if not any(c.name == column for c in obj.columns):
                other = next(
                    (
                        self.profile.object(n)
                        for n in landing.objects[1:]
                        if any(c.name == column for c in self.profile.object(n).columns)
                    ),
                    None,
                )
                if other is None:
                    continue
                source_obj = other
                conf = self.column_confidence(other.name, column)
            if self.present(source_obj.name) and conf == 0.0:
                if self.profile.name != "generic":  # generic defaults are a template
                    self.flag(
                        source_obj.name, column, target.field, 0.0, "column not in the export"
                    )
                continue
            lines, extras = profile_line(source_obj, column, target, self.settings, confidence=conf)
            if "link" in extras:
                name, spec = extras["link"]
                links[name] = Link(**spec)
            if "value_map" in extras:
                vm_name, table = extras["value_map"]
                self.value_maps[vm_name] = table
            for line in lines:
                if line.field == "owner_id" and line.custom is None:
                    # Owners are users matched by email or owners.csv at plan time: a link.
                    links.setdefault(
                        "owner_id",
                        Link(
                            to="user",
                            columns=list(line.columns),
                            match="name",
                            separator=separator_of(source_obj, line.columns[0]),
                        ),
                    )
                    continue
                line = self.reuse(self.open_ended(line, source_obj.name, column), landing)
                if line.values and line.values not in self.value_maps:
                    kind = source_obj.column(column).type
                    self.value_map(
                        line.values,
                        source_obj.name,
                        column,
                        line.options,
                        bool_yes=kind == "bool",
                        line=line,
                    )
                if line.confidence < REVIEW_BELOW:
                    self.flag(
                        source_obj.name,
                        column,
                        line.field,
                        line.confidence,
                        "low-confidence header match",
                    )
                fields.append(line)
        if obj is not None:
            links.update(derive_links(self.profile, landing, obj))
        pivot = pivot_of(landing)
        group_by = list(landing.group_by)
        if pivot is not None:
            group_by = [c for c in group_by if c != pivot.column]
            fields = [f for f in fields if "{" not in f.field]
        status, pipeline_name = self.status(landing, obj)
        key = list(landing.key or group_by or (obj.key if obj else []))
        record = landing.cardinality in RECORD_CARDINALITIES
        source_id = record and bool(key) and bool(SOURCE_ID_ENTITIES.intersection(landing.targets))
        has_email = any(
            f.field == "emails" and (f.entity or landing.targets[0]) == "person" for f in fields
        )
        return MappingObject(
            id=landing.id,
            source=list(landing.objects),
            targets=list(landing.targets),
            cardinality=landing.cardinality,
            native=landing.native,
            rule=" ".join(landing.rule.split()),
            key=key,
            source_id=source_id,
            email_missing=has_email and landing.targets[0] == "person",
            group_by=group_by,
            split_key=landing.split_key,
            filter=dict(landing.filter),
            exclude=dict(landing.exclude),
            owner=landing.owner,
            title=title(landing),
            links=links,
            fields=fields,
            pipeline=pipeline_name,
            status=status,
            activity=landing.activity,
            note=note(landing),
            pivot=pivot,
            note_table=note_table(landing, obj),
            files=list(self.sources.get(primary, SourceFiles()).files) if primary else [],
            options=dict(landing.options),
        )

    def reuse(self, line: FieldLine, landing: Landing) -> FieldLine:
        if line.custom is None:
            return line
        entity = line.entity or landing.targets[0]
        found = equivalent_name(line.field, self.existing.get(entity, ()))
        if found is None:
            return line
        return line.model_copy(update={"field": found, "reuse": True})

    def status(
        self, landing: Landing, obj: SourceObject | None
    ) -> tuple[StatusMap | None, str | None]:
        spec = landing.pipeline
        if spec is None:
            return None, None
        status = StatusMap(
            column=spec.status_column,
            map=dict(spec.status_map),
            default=spec.default,
            selector=dict(spec.selector),
        )
        if obj is not None and spec.status_column and landing.cardinality in RECORD_CARDINALITIES:
            distinct, _ = self.values_of(obj.name, spec.status_column)
            known = {k.casefold() for k in spec.status_map}
            for value in distinct or []:
                if value.casefold() not in known:
                    self.flag(
                        obj.name,
                        spec.status_column,
                        f"pipeline {spec.name}",
                        0.5,
                        "status value has no stage, won or lost rule (default applies)",
                    )
        return status, spec.name

    # -- columns no landing uses -------------------------------------------------------

    def leftovers(self, objects: list[MappingObject]) -> list[MappingObject]:
        out = list(objects)
        for obj_name in self.sources:
            obj = self.profile.object(obj_name)
            used = used_columns(obj_name, out)
            home = home_object(obj_name, out)
            headers: list[tuple[str, str | None]] = []
            matched = self.header_of.get(obj_name, {})
            for table in self.table_for(obj_name):
                for header in table.headers:
                    if not header.strip():
                        continue
                    column = matched[header].column if header in matched else None
                    if (column or header) in used or any(h == header for h, _ in headers):
                        continue
                    headers.append((header, column))
            new_lines: list[FieldLine] = []
            address = address_line(home, headers)
            if address is not None:
                new_lines.append(address)
                headers = [(h, c) for h, c in headers if (c or h) not in address.columns]
            for header, column in headers:
                name = column or header
                declared = obj.column(column) if column else None
                if is_sensitive(name) or (declared is not None and declared.sensitive):
                    self.not_migrated.append(
                        NotMigrated(
                            object=obj_name,
                            column=name,
                            reason=GOVERNMENT_ID,
                        )
                    )
                    continue
                if home is None:
                    reader = next((o.id for o in out if obj_name in o.source), None)
                    reason = (
                        f"read by {reader} for its rule only (no field of its own)"
                        if reader
                        else "no mapped object reads this source object; review"
                    )
                    self.not_migrated.append(
                        NotMigrated(object=obj_name, column=name, reason=reason)
                    )
                    if reader is None:
                        self.flag(obj_name, name, "-", 0.0, "column not migrated: no home object")
                    continue
                distinct, samples = (
                    self.values_of(obj_name, column)
                    if column
                    else self._raw_values(obj_name, header)
                )
                sniffed = sniff(samples) if samples else None
                if sniffed is not None and distinct is not None and sniffed.kind == "text":
                    sniffed = sniff(samples)
                conf = (
                    0.65 if declared is not None else 0.5 + 0.2 * (sniffed.share if sniffed else 0)
                )
                why = (
                    "profile column with no default landing"
                    if declared is not None
                    else "unknown column: proposed custom field"
                )
                line = sniffed_line(
                    name,
                    declared.type if declared else None,
                    sniffed,
                    self.settings,
                    entity=home.targets[0],
                    object_name=obj_name,
                    confidence=round(conf, 3),
                    why=why,
                )
                if column is not None:
                    line = self.open_ended(line, obj_name, column)
                elif line.custom == "varchar" and any(len(v) > 255 for v in samples):
                    line = line.model_copy(update={"custom": "text", "transform": "strip"})
                line = self.reuse(line, landing_stub(home))
                if line.values and line.values not in self.value_maps:
                    self.value_map(
                        line.values,
                        obj_name,
                        name,
                        line.options,
                        bool_yes=bool(line.options == ["Yes"]),
                        line=line,
                        raw=distinct if column is None else None,
                    )
                if line.confidence < REVIEW_BELOW:
                    self.flag(obj_name, name, line.field, line.confidence, why)
                new_lines.append(line)
            if new_lines and home is not None:
                index = out.index(home)
                out[index] = home.model_copy(update={"fields": [*home.fields, *new_lines]})
        return out

    def _raw_values(self, obj_name: str, header: str) -> tuple[list[str] | None, list[str]]:
        samples: list[str] = []
        distinct: set[str] | None = set()
        for table in self.table_for(obj_name):
            samples.extend(table.samples.get(header, ()))
            values = table.distinct.get(header)
            if values is None or distinct is None:
                distinct = None
            else:
                distinct.update(values)
        return (None if distinct is None else sorted(distinct)), samples


def propose(
    profile: Profile,
    settings: Settings,
    tables: Sequence[TableSample],
    existing_fields: Mapping[str, Collection[str]] | None = None,
) -> Proposal:
    """Propose a mapping. ``existing_fields`` is ``{entity: field names}`` in the account."""
    builder = _Builder(profile, settings, tables, existing_fields or {})
    builder.identify()
    if settings.date_order is None:
        settings = settings.model_copy(update={"date_order": builder.detect_date_order()})
        builder.settings = settings
    objects: list[MappingObject] = []
    for landing in profile.landing:
        if profile.name == "generic" and not any(builder.present(o) for o in landing.objects):
            continue
        if landing.cardinality == "not_migrated":
            builder.not_migrated.append(
                NotMigrated(
                    object=landing.id,
                    reason=landing.reason or landing.rule,
                    rebuild="rebuild" in (landing.reason or landing.rule).lower(),
                )
            )
        objects.append(builder.build_object(landing))
    for landing in profile.landing:
        for column in landing.options.get("not_migrated_columns", []) or []:
            builder.not_migrated.append(
                NotMigrated(
                    object=landing.objects[0],
                    column=str(column),
                    reason=GOVERNMENT_ID,
                )
            )
    objects = builder.leftovers(objects)
    pipelines: dict[str, Pipeline] = {}
    activity_types: list[str] = []
    for landing in profile.landing:
        spec = landing.pipeline
        if spec is not None:
            stages = [StageLine(name=s.name, probability=s.probability) for s in spec.stages]
            names = [spec.name]
            selector = spec.selector
            names += [k for k in selector if k not in ("by", "else")] + (
                [selector["else"]] if "else" in selector else []
            )
            for name in dict.fromkeys(names):
                pipelines.setdefault(name, Pipeline(name=name, stages=stages))
        act = landing.activity
        if act is not None:
            if act.custom_type and act.type not in activity_types:
                activity_types.append(act.type)
            activity_types.extend(t for t in act.custom_types if t not in activity_types)
    seen: set[tuple[str, str | None]] = set()
    not_migrated = []
    for item in builder.not_migrated:
        if (item.object, item.column) not in seen:
            seen.add((item.object, item.column))
            not_migrated.append(item)
    mapping = MappingFile(
        profile=profile.name,
        settings=settings,
        compatibility=compatibility(objects),
        sources=dict(builder.sources),
        pipelines=list(pipelines.values()),
        activity_types=activity_types,
        value_maps=builder.value_maps,
        objects=objects,
        not_migrated=not_migrated,
    )
    return Proposal(mapping, tuple(builder.review), tuple(builder.unknown_files))
