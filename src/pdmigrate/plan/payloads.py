"""The payloads ``run`` writes: applied rows with the plan's decisions folded in. Pure.

:func:`run_payloads` takes apply's payloads and returns them ready to load, in
dependency order (organizations, persons, products, deals, deal products, leads,
activities, notes, files):

* staff (``user``) and ``pipeline`` payloads are dropped: owners and target
  preparation handle them;
* a field-only payload (``update_of``) is folded into the record it updates when
  that record is in the same run (its empty fields filled, the record's own values
  win), so the record is written once; otherwise it stays an update;
* a duplicate person (``plan.merges``) is folded into the kept one (``merge``: empty
  fields filled; ``skip``: dropped) and every link to it points at the kept person;
* without Contact Sync, ``birthday`` and ``postal_address`` move to the custom fields
  "Date of Birth" and "Address".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.target import CONTACT_SYNC_FALLBACK

#: Load order (landing rules §6 "Order"); entities not listed come last.
ORDER = (
    "organization",
    "person",
    "product",
    "deal",
    "deal_product",
    "lead",
    "activity",
    "note",
    "file",
)
DROPPED = frozenset({"user", "pipeline", "stage", "none"})


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def fill_empty(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra``'s values where ``base`` has none."""
    out = dict(base)
    for name, value in extra.items():
        if _empty(out.get(name)) and not _empty(value):
            out[name] = value
    return out


def ref_key(profile: str, ref: Ref) -> str:
    """The source key a ref points at (``profile/object/key``)."""
    return f"{profile}/{ref.to}/{ref.key}"


def _redirect(
    links: Mapping[str, Ref | tuple[Ref, ...]], profile: str, merges: Mapping[str, str]
) -> dict[str, Ref | tuple[Ref, ...]]:
    def one(ref: Ref) -> Ref:
        if ref.match not in ("key", "before_dot"):
            return ref
        kept = merges.get(ref_key(profile, ref))
        if kept is None:
            return ref
        _, obj, key = kept.split("/", 2)
        return Ref(obj, key, "key")

    out: dict[str, Ref | tuple[Ref, ...]] = {}
    for name, link in links.items():
        if isinstance(link, Ref):
            out[name] = one(link)
        else:
            refs = tuple(dict.fromkeys(one(r) for r in link))
            out[name] = refs
    return out


def contact_sync_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A person's fields with birthday/postal_address moved to their custom fallbacks."""
    out = dict(fields)
    for native, (custom, _) in CONTACT_SYNC_FALLBACK.items():
        if native in out:
            value = out.pop(native)
            if _empty(out.get(custom)):
                out[custom] = value
    return out


def run_payloads(
    payloads: Iterable[Payload],
    *,
    profile: str,
    merges: Mapping[str, str],
    skips: frozenset[str] = frozenset(),
    contact_sync: bool = True,
) -> list[Payload]:
    """Payloads to load, decisions applied, in dependency order (pure, deterministic)."""
    records: dict[tuple[str, str], Payload] = {}
    updates: list[Payload] = []
    for p in payloads:
        if p.entity in DROPPED:
            continue
        if p.update_of is not None:
            updates.append(p)
            continue
        slot = (p.entity, p.source_key)
        if slot in records:  # the same record twice: fill, never duplicate
            first = records[slot]
            records[slot] = replace(
                first,
                fields=fill_empty(first.fields, p.fields),
                links={**p.links, **first.links},
            )
        else:
            records[slot] = p
    leftovers: list[Payload] = []
    for u in updates:
        assert u.update_of is not None
        target = ref_key(profile, u.update_of)
        target = merges.get(target, target)
        slot = (u.entity, target)
        if slot in records:
            base = records[slot]
            links = {k: v for k, v in u.links.items() if k not in base.links}
            records[slot] = replace(
                base, fields=fill_empty(base.fields, u.fields), links={**base.links, **links}
            )
        else:
            leftovers.append(u)
    # duplicates into the kept person
    for dup, kept in merges.items():
        dup_slot, kept_slot = ("person", dup), ("person", kept)
        if dup_slot not in records:
            continue
        gone = records.pop(dup_slot)
        if dup in skips or kept_slot not in records:
            continue
        base = records[kept_slot]
        records[kept_slot] = replace(base, fields=fill_empty(base.fields, gone.fields))
    out: list[Payload] = []
    for p in [*records.values(), *leftovers]:
        links = _redirect(p.links, profile, merges) if merges else dict(p.links)
        fields = p.fields
        if p.entity == "person" and not contact_sync:
            fields = contact_sync_fields(fields)
        out.append(replace(p, fields=fields, links=links))
    rank = {e: i for i, e in enumerate(ORDER)}
    indexed = sorted(
        enumerate(out),
        key=lambda ip: (rank.get(ip[1].entity, len(ORDER)), ip[1].update_of is not None, ip[0]),
    )
    return [p for _, p in indexed]


#: Links one of which a record of these entities needs (a note with no parent is refused).
ATTACH_LINKS = {
    "note": ("person_id", "deal_id", "org_id", "lead_id"),
    "file": ("person_id", "deal_id", "org_id", "product_id", "lead_id"),
    "deal_product": ("deal_id",),
}


def unattached(payloads: Iterable[Payload], profile: str, objects: Iterable[str]) -> list[Payload]:
    """Payloads ``run`` will refuse because what they hang on is not in the migration.

    Conservative: only links by key (``key``, ``before_dot``) to a mapped object are
    judged. A field update whose record is missing, or a note/file/line item whose every
    parent link points at a record that is not migrated, is unattached.
    """
    items = list(payloads)
    ids = set(objects)
    keys = {p.source_key for p in items if p.update_of is None}

    def absent(ref: Ref) -> bool:
        return (
            ref.to in ids
            and ref.match in ("key", "before_dot")
            and ref_key(profile, ref) not in keys
        )

    out: list[Payload] = []
    for p in items:
        if p.update_of is not None:
            if absent(p.update_of):
                out.append(p)
            continue
        names = ATTACH_LINKS.get(p.entity)
        if not names:
            continue
        refs: list[Ref] = []
        for name in names:
            link = p.links.get(name)
            refs.extend([link] if isinstance(link, Ref) else list(link or ()))
        if refs and all(absent(r) for r in refs):
            out.append(p)
    return out
