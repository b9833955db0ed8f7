"""Cross-object rules of apply: small per-key indexes over other objects' rows.

Some landing rules need another source object's rows: a patient's organization is
the most frequent Facility of *their appointments*; an invoice joins *the patient's
latest earlier treatment plan* sharing an item code; a plan is won at *its latest
linked invoice*. :func:`build_index` reads each object's rows once and keeps only
what those rules need, bounded by keys, not rows:

* ``counts``: per (object, link) and record key, the value counts of the link
  column among the ``via`` object's rows (``Link.via`` + ``match: most_frequent``);
* ``candidates``: per joined object and join key, one entry per record
  (date, record key, shared-column values) — ``options.join`` of the joining object;
* ``joined``: per joining object, group key -> the record it joined;
* ``linked_dates``: per joined record, the latest date of the records joined into it,
  or (``options.won_from``) the latest date of another object's matching rows;
* ``deals``: per object (``options.deal_from``), row key -> the open deal it belongs to;
* ``side_rows``: per object (``options.payment_note``), group key -> the other object's
  rows of that group, cut to the note's columns (an invoice's payments).

Everything is pure; :class:`CrossIndex` is data only. Without an index (apply_object
called alone) the rules take their fallbacks.

``options.join`` (mapping data, copied from the profile)::

    join: {to: treatment_plan_deal, by: [Patient ID], date: Invoice Date,
           other_date: Created, share: Item Code, fallback: person_id}

``options.won_from`` on a grouped deal object (Practice by Numbers: all C is won at the
last completed appointment) and ``options.deal_from`` on a row object (an appointment's
deal is the open plan sharing a procedure code)::

    won_from: {object: appointments, by: [Practice, Patient ID], date: Date, time: Time,
               where: {Status: [Completed]}, share: Procedures, share_with: Code,
               separator: ","}
    deal_from: {to: treatment_plan_deal, by: [Practice, Patient ID], date: Date,
                other_date: Date Planned, share: Procedures, share_with: Code,
                separator: ","}

``won_from``: the latest ``date`` (at its ``time``, local -> UTC, when given) among
``object``'s rows with the deal's ``by`` values (and ``where``), preferring rows sharing
a ``share`` value with the deal's ``share_with`` values. ``deal_from``: among ``to``'s
records with the row's ``by`` values whose status is open and which share a value, the
latest one dated (``other_date``) on or before the row's ``date``, else the earliest
later one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pdmigrate.mapping.model import Link, MappingObject
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.payload import Ref
from pdmigrate.mapping.rollups import group_key, split_before_dot
from pdmigrate.mapping.values import chain_of
from pdmigrate.records import Row
from pdmigrate.transforms import Ok, TransformContext

__all__ = [
    "CrossIndex",
    "JoinSpec",
    "build_index",
    "day_of",
    "group_fallbacks",
    "join_spec",
    "joined_ref",
    "most_frequent_ref",
    "prepared",
    "root_ref",
]


@dataclass(frozen=True, slots=True)
class JoinSpec:
    """``options.join``: join a group to the latest earlier record of ``to`` sharing a value."""

    to: str
    on: tuple[str, ...]
    date: str
    other_date: str
    share: str | None
    fallback: str | None


@dataclass(frozen=True, slots=True)
class _Candidate:
    day: dt.date
    seq: int
    key: str
    shared: frozenset[str]


@dataclass
class CrossIndex:
    """Per-key facts about other objects' rows (see the module docstring)."""

    counts: dict[tuple[str, str], dict[str, Counter[str]]] = field(default_factory=dict)
    candidates: dict[str, dict[tuple[str, ...], list[_Candidate]]] = field(default_factory=dict)
    joined: dict[str, dict[str, str]] = field(default_factory=dict)
    linked_dates: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    deals: dict[str, dict[str, Ref]] = field(default_factory=dict)
    side_rows: dict[str, dict[str, list[Row]]] = field(default_factory=dict)

    def most_frequent(self, obj_id: str, link: str, key: str) -> str | None:
        """The most frequent value (first seen wins a tie) for one record, or None."""
        counts = self.counts.get((obj_id, link), {}).get(key)
        if not counts:
            return None
        best = max(counts.values())
        return next(v for v, n in counts.items() if n == best)

    def latest_linked(self, obj_id: str, key: str) -> dt.date | None:
        """The latest date of the records joined into ``obj_id``/``key``, or None.

        With ``won_from``'s ``time`` column it is an aware UTC datetime (the start).
        """
        return self.linked_dates.get((obj_id, key))


def day_of(text: str, ctx: TransformContext) -> dt.date | None:
    """A calendar day from source text in the practice's date order, or None."""
    if not text.strip():
        return None
    order = {"dmy": "(dayfirst)", "mdy": "(monthfirst)", "ymd": "(ymd)"}.get(
        ctx.date_order or "", ""
    )
    result = chain_of(f"null_dates | date{order}")(text.strip(), ctx)
    if not isinstance(result, Ok):
        return None
    value = result.value
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def join_spec(obj: MappingObject) -> JoinSpec | None:
    """The object's ``options.join`` as a :class:`JoinSpec` (None when absent or malformed)."""
    raw = obj.options.get("join")
    if not isinstance(raw, dict) or not raw.get("to") or not raw.get("date"):
        return None
    on = raw.get("by") or []
    on = [on] if isinstance(on, str) else on
    share = raw.get("share")
    fallback = raw.get("fallback")
    return JoinSpec(
        to=str(raw["to"]),
        on=tuple(str(c) for c in on),
        date=str(raw["date"]),
        other_date=str(raw.get("other_date") or raw["date"]),
        share=str(share) if share else None,
        fallback=str(fallback) if fallback else None,
    )


def _via_key_columns(mapping: MappingFile, obj: MappingObject, via: str) -> list[str]:
    """Columns of ``via``'s rows that hold ``obj``'s key: a link of a ``via`` reader to ``obj``."""
    for other in mapping.objects:
        if other.primary != via:
            continue
        for link in other.links.values():
            if link.to == obj.id and link.match in ("key", "before_dot") and link.columns:
                return list(link.columns)
    return list(obj.key)


def _key_of(obj: MappingObject) -> list[str]:
    return list(obj.group_by or obj.key)


def build_index(
    mapping: MappingFile, rows: Mapping[str, Sequence[Row]], ctx: TransformContext
) -> CrossIndex:
    """The index of every cross-object rule of ``mapping`` over ``{source object: rows}``."""
    index = CrossIndex()
    for obj in mapping.objects:
        for name, link in obj.links.items():
            if link.via is not None and link.match == "most_frequent" and link.columns:
                _count(index, mapping, obj, name, link, rows.get(link.via, ()))
    joins = [(o, s) for o in mapping.objects if (s := join_spec(o)) is not None]
    for obj, spec in joins:
        try:
            target = mapping.object(spec.to)
        except KeyError:
            continue
        if spec.to not in index.candidates and target.primary is not None:
            index.candidates[spec.to] = _candidates(target, spec, rows.get(target.primary, ()), ctx)
        if obj.primary is not None:
            _join_groups(index, obj, spec, rows.get(obj.primary, ()), ctx)
    for obj in mapping.objects:
        side = obj.options.get("payment_note")
        if isinstance(side, dict) and side.get("object") and side.get("by"):
            index.side_rows[obj.id] = _side_rows(mapping, side, rows)
    summaries: dict[tuple[str, str], dict[str, _Record]] = {}
    for obj in mapping.objects:
        won = obj.options.get("won_from")
        if isinstance(won, dict) and won.get("object") and won.get("date"):
            recs = _records(mapping, obj, won, rows, ctx, summaries)
            _won_from(index, mapping, obj, won, recs, rows, ctx)
        spec_deal = obj.options.get("deal_from")
        if isinstance(spec_deal, dict) and spec_deal.get("to") and spec_deal.get("date"):
            try:
                target = mapping.object(str(spec_deal["to"]))
            except KeyError:
                continue
            recs = _records(mapping, target, spec_deal, rows, ctx, summaries)
            _deal_from(index, mapping, obj, target, spec_deal, recs, rows, ctx)
    return index


def _side_rows(
    mapping: MappingFile, spec: Mapping[str, object], rows: Mapping[str, Sequence[Row]]
) -> dict[str, list[Row]]:
    """``payment_note``: the ``object`` rows per ``by`` value, keeping only ``columns``.

    Each ``also`` entry adds another object's rows, its ``columns`` mapping note column
    -> its own column and ``constant`` filling note columns it lacks (prepayment
    allocations: ``Alloc. date`` as Date, ``Applied`` as Amount, Method "Prepayment").
    """
    keep = _cols(spec, "columns")
    out: dict[str, list[Row]] = {}
    also = spec.get("also")
    extra = [a for a in also if isinstance(a, dict)] if isinstance(also, list) else []
    for part in (spec, *extra):
        source = str(part.get("object") or "")
        by = _cols(part, "by")
        raw_cols = part.get("columns") if part is not spec else None
        renames = (
            {str(k): str(v) for k, v in raw_cols.items()} if isinstance(raw_cols, dict) else {}
        )
        raw_const = part.get("constant")
        const = (
            {str(k): str(v) for k, v in raw_const.items()} if isinstance(raw_const, dict) else {}
        )
        for raw in rows.get(source, ()):
            row = renamed(mapping, source, raw)
            key = "|".join(row.get(c).strip() for c in by)
            if not source or not by or not key.strip("|"):
                continue
            if keep:
                cut = {c: const.get(c) or row.get(renames.get(c, c)) for c in keep}
            else:
                cut = dict(row.values)
            out.setdefault(key, []).append(Row(cut, row.file, row.line, row.sheet))
    return out


@dataclass
class _Record:
    """One grouped record of another object, as the won_from / deal_from rules see it."""

    on: tuple[str, ...]
    day: dt.date | None
    seq: int
    shared: set[str]
    statuses: list[str]


def _cols(spec: Mapping[str, object], name: str) -> list[str]:
    raw = spec.get(name) or []
    return [raw] if isinstance(raw, str) else [str(c) for c in raw]  # type: ignore[attr-defined]


def _values(text: str, separator: str | None) -> set[str]:
    parts = text.split(separator) if separator else [text]
    return {p.strip().casefold() for p in parts if p.strip()}


def prepared(mapping: MappingFile, obj: MappingObject, row: Row) -> Row:
    """The row as apply reads it for ``obj``: headers renamed, group fallbacks filled."""
    row = renamed(mapping, obj.primary or "", row)
    fallbacks = group_fallbacks(mapping, obj)
    blank = [c for c in fallbacks if _blank(row.get(c)) and not _blank(row.get(fallbacks[c]))]
    if blank:
        values = dict(row.values)
        values.update({c: row.get(fallbacks[c]) for c in blank})
        row = Row(values, row.file, row.line, row.sheet)
    return row


def _blank(text: str) -> bool:
    """Empty, or a placeholder date (``0001-01-01``: Practice by Numbers' "not presented")."""
    if not text.strip():
        return True
    result = chain_of("null_dates")(text.strip(), TransformContext())
    return isinstance(result, Ok) and result.value is None


def renamed(mapping: MappingFile, source: str, row: Row) -> Row:
    """The row under the profile's column names (the mapping's header renames of ``source``)."""
    renames = mapping.sources.get(source, None)
    if renames is None or not renames.headers:
        return row
    values = {renames.headers.get(h, h): v for h, v in row.values.items()}
    return Row(values, row.file, row.line, row.sheet)


def group_fallbacks(mapping: MappingFile, obj: MappingObject) -> dict[str, str]:
    """``options.group_fallback`` ({column: fallback column}) of the object or of its record.

    Practice by Numbers groups plan items by Date Presented, else Date Planned.
    """
    spec = obj.options.get("group_fallback")
    record = obj.links.get("record")
    if not isinstance(spec, dict) and record is not None:
        try:
            spec = mapping.object(record.to).options.get("group_fallback")
        except KeyError:
            spec = None
    if not isinstance(spec, dict):
        return {}
    return {str(k): str(v) for k, v in spec.items()}


def _records(
    mapping: MappingFile,
    target: MappingObject,
    spec: Mapping[str, object],
    rows: Mapping[str, Sequence[Row]],
    ctx: TransformContext,
    cache: dict[tuple[str, str], dict[str, _Record]],
) -> dict[str, _Record]:
    """Per record key of ``target``: its ``by`` values, date, shared values and statuses."""
    share_with = str(spec.get("share_with") or spec.get("share") or "")
    slot = (target.id, share_with)
    if slot in cache:
        return cache[slot]
    before_dot = target.split_key == "before_dot"
    cols = _key_of(target)
    on_cols = _cols(spec, "by")
    other_date = str(spec.get("other_date") or "")
    status_col = target.status.column if target.status is not None else None
    out: dict[str, _Record] = {}
    for seq, raw in enumerate(rows.get(target.primary or "", ())):
        row = prepared(mapping, target, raw)
        key = "|".join(group_key(row, cols, before_dot=before_dot))
        if not key.strip("|"):
            continue
        rec = out.get(key)
        if rec is None:
            day = day_of(row.get(other_date), ctx) if other_date else None
            rec = out[key] = _Record(
                tuple(row.get(c).strip() for c in on_cols), day, seq, set(), []
            )
        if share_with and row.get(share_with).strip():
            rec.shared.add(row.get(share_with).strip().casefold())
        if status_col:
            rec.statuses.append(row.get(status_col))
    cache[slot] = out
    return out


def _won_from(
    index: CrossIndex,
    mapping: MappingFile,
    obj: MappingObject,
    spec: Mapping[str, object],
    recs: Mapping[str, _Record],
    rows: Mapping[str, Sequence[Row]],
    ctx: TransformContext,
) -> None:
    """Per deal record: the latest matching ``object`` row date, sharing rows first."""
    raw_where = spec.get("where")
    where: dict[str, object] = raw_where if isinstance(raw_where, dict) else {}
    on_cols = _cols(spec, "by")
    share = str(spec.get("share") or "")
    sep = str(spec.get("separator") or "") or None
    time_col = str(spec.get("time") or "")
    by_on: dict[tuple[str, ...], list[tuple[dt.date, set[str]]]] = {}
    for raw in rows.get(str(spec["object"]), ()):
        row = renamed(mapping, str(spec["object"]), raw)
        if not all(
            row.get(str(c)).strip().casefold() in {v.casefold() for v in _cols(where, c)}
            for c in where
        ):
            continue
        day = day_of(row.get(str(spec["date"])), ctx)
        if day is not None and time_col:
            day = start_of(day, row.get(time_col), ctx)
        on = tuple(row.get(c).strip() for c in on_cols)
        if day is not None and any(on):
            by_on.setdefault(on, []).append((day, _values(row.get(share), sep) if share else set()))
    for key, rec in recs.items():
        found = by_on.get(rec.on, [])
        sharing = [d for d, values in found if values & rec.shared]
        days = sharing or [d for d, _ in found]
        if days:
            index.linked_dates[(obj.id, key)] = max(days, key=_instant)


def _instant(day: dt.date) -> tuple[dt.date, dt.datetime]:
    """Sort key over days and UTC start times alike (a bare day sorts first that day)."""
    if isinstance(day, dt.datetime):
        return day.date(), day
    return day, dt.datetime.min.replace(tzinfo=dt.UTC)


def start_of(day: dt.date, time_text: str, ctx: TransformContext) -> dt.date:
    """``day`` at the local start time ``time_text``, as an aware UTC datetime (else the day).

    The practice's time zone (``ctx.timezone``) applies, DST edges as the ``datetime``
    transform treats them.
    """
    if not time_text.strip():
        return day
    result = chain_of("datetime(ymd)")(f"{day.isoformat()} {time_text.strip()}", ctx)
    value = result.value if isinstance(result, Ok) else None
    return value if isinstance(value, dt.datetime) else day


def _deal_from(
    index: CrossIndex,
    mapping: MappingFile,
    obj: MappingObject,
    target: MappingObject,
    spec: Mapping[str, object],
    recs: Mapping[str, _Record],
    rows: Mapping[str, Sequence[Row]],
    ctx: TransformContext,
) -> None:
    """Per row of ``obj``: the open record of ``target`` it shares a value with."""
    from pdmigrate.mapping.entities import group_outcome

    open_by_on: dict[tuple[str, ...], list[tuple[str, _Record]]] = {}
    for key, rec in recs.items():
        if group_outcome(target, rec.statuses) in ("open", None) and any(rec.on):
            open_by_on.setdefault(rec.on, []).append((key, rec))
    on_cols = _cols(spec, "by")
    share = str(spec.get("share") or "")
    sep = str(spec.get("separator") or "") or None
    before_dot = obj.split_key == "before_dot" and obj.cardinality == "grouped"
    out: dict[str, Ref] = {}
    for raw in rows.get(obj.primary or "", ()):
        row = prepared(mapping, obj, raw)
        candidates = open_by_on.get(tuple(row.get(c).strip() for c in on_cols))
        if not candidates:
            continue
        values = _values(row.get(share), sep) if share else set()
        fits = [(k, r) for k, r in candidates if not share or values & r.shared]
        if not fits:
            continue
        day = day_of(row.get(str(spec["date"])), ctx)
        far = dt.date.max
        earlier = [(k, r) for k, r in fits if day is None or (r.day or far) <= day]
        if earlier:
            best = max(earlier, key=lambda t: (t[1].day or dt.date.min, t[1].seq))
        else:
            best = min(fits, key=lambda t: (t[1].day or far, t[1].seq))
        row_key = "|".join(group_key(row, list(obj.key), before_dot=before_dot))
        if row_key.strip("|"):
            out[row_key] = Ref(target.id, best[0], "key")
    index.deals[obj.id] = out


def _count(
    index: CrossIndex,
    mapping: MappingFile,
    obj: MappingObject,
    name: str,
    link: Link,
    via_rows: Iterable[Row],
) -> None:
    key_cols = _via_key_columns(mapping, obj, link.via or "")
    table: dict[str, Counter[str]] = {}
    for row in via_rows:
        key = "|".join(row.get(c).strip() for c in key_cols)
        value = row.get(link.columns[0]).strip()
        if key and value:
            table.setdefault(key, Counter())[value] += 1
    index.counts[(obj.id, name)] = table


def _candidates(
    target: MappingObject, spec: JoinSpec, rows: Iterable[Row], ctx: TransformContext
) -> dict[tuple[str, ...], list[_Candidate]]:
    """One candidate per record of ``target`` (its first row's date; shared values of all)."""
    before_dot = target.split_key == "before_dot"
    cols = _key_of(target)
    seen: dict[str, tuple[tuple[str, ...], dt.date | None, int, set[str]]] = {}
    for seq, row in enumerate(rows):
        key = "|".join(group_key(row, cols, before_dot=before_dot))
        if not key.strip("|"):
            continue
        shared = row.get(spec.share).strip() if spec.share else ""
        if key not in seen:
            on = tuple(row.get(c).strip() for c in spec.on)
            seen[key] = (on, day_of(row.get(spec.other_date), ctx), seq, set())
        if shared:
            seen[key][3].add(shared.casefold())
    out: dict[tuple[str, ...], list[_Candidate]] = {}
    for key, (on, day, seq, shared_values) in seen.items():
        if day is None or not any(on):
            continue
        out.setdefault(on, []).append(_Candidate(day, seq, key, frozenset(shared_values)))
    return out


def _join_groups(
    index: CrossIndex,
    obj: MappingObject,
    spec: JoinSpec,
    rows: Iterable[Row],
    ctx: TransformContext,
) -> None:
    """Join each group of ``obj`` to its record and note the latest date joined into each."""
    cols = _key_of(obj)
    before_dot = obj.split_key == "before_dot"
    groups: dict[str, tuple[tuple[str, ...], dt.date | None, set[str]]] = {}
    for row in rows:
        key = "|".join(group_key(row, cols, before_dot=before_dot))
        if not key.strip("|"):
            continue
        day = day_of(row.get(spec.date), ctx)
        if key not in groups:
            groups[key] = (tuple(row.get(c).strip() for c in spec.on), day, set())
        on, first_day, shared = groups[key]
        if day is not None and (first_day is None or day > first_day):
            groups[key] = (on, day, shared)
        if spec.share and row.get(spec.share).strip():
            shared.add(row.get(spec.share).strip().casefold())
    found = index.candidates.get(spec.to, {})
    joined: dict[str, str] = {}
    for key, (on, day, shared) in groups.items():
        if day is None:
            continue
        fits = [
            c
            for c in found.get(on, [])
            if c.day <= day and (spec.share is None or c.shared & shared)
        ]
        if not fits:
            continue
        best = max(fits, key=lambda c: (c.day, c.seq))
        joined[key] = best.key
        slot = (spec.to, best.key)
        if slot not in index.linked_dates or index.linked_dates[slot] < day:
            index.linked_dates[slot] = day
    index.joined[obj.id] = joined


def joined_ref(
    obj: MappingObject, key: str, rows: Sequence[Row], index: CrossIndex | None
) -> tuple[Ref, str] | None:
    """The record (ref, entity link name) a joining group updates, or its fallback's.

    ``("deal_id", Ref(plan))`` when the join found a record; else the object's
    ``fallback`` link (e.g. ``person_id``: the patient), else None.
    """
    spec = join_spec(obj)
    if spec is None:
        return None
    hit = index.joined.get(obj.id, {}).get(key) if index is not None else None
    if hit is not None:
        return Ref(spec.to, hit, "key"), "record"
    link = obj.links.get(spec.fallback or "") if spec.fallback else None  # type: ignore[call-overload]
    if link is None or not link.columns or not rows:
        return None
    values = [rows[0].get(c).strip() for c in link.columns]
    if link.match == "before_dot" and values:
        values[0] = split_before_dot(values[0])
    if not any(values):
        return None
    return Ref(link.to, "|".join(values), "key"), str(spec.fallback)


def root_ref(mapping: MappingFile) -> Ref | None:
    """The practice (hierarchy root) organization: the object with ``options.root``."""
    for obj in mapping.objects:
        if isinstance(obj.options.get("root"), str) and obj.targets[0] == "organization":
            return Ref(obj.id, "practice", "key")
    return None


def most_frequent_ref(
    mapping: MappingFile,
    obj: MappingObject,
    name: str,
    link: Link,
    key: str,
    index: CrossIndex | None,
) -> Ref | None:
    """``match: most_frequent`` with ``via``: the most frequent value, else the fallback."""
    value = index.most_frequent(obj.id, name, key) if index is not None else None
    if value is not None:
        return Ref(link.to, value, "key")
    if link.fallback == "practice":
        return root_ref(mapping)
    if link.fallback:
        return Ref(link.fallback, link.fallback, "root")
    return None
