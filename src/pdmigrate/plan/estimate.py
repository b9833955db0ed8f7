"""Op counts, token cost, and the time a migration needs under a plan and seats. Pure.

Every op is a call to one endpoint of the table (:mod:`pdmigrate.pipedrive.endpoints`),
so tokens are ``Σ calls × x-token-cost``. Days follow landing rules §7:
``max(tokens / daily budget, writes / 10,000)`` with the budget
``30,000 × plan multiplier × seats`` and the fair-use cap of 10,000 POST/PUT/PATCH per
token per UTC day. ``burst_hours`` is the API time at the plan's burst ceiling.
:func:`within` says what fits a window (``--within 72h``): more seats or a token
top-up. :func:`caps` flags the plan's custom-field and deals-plus-leads limits.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.pipedrive import endpoints
from pdmigrate.sandbox.plans import FAIR_USE_DAILY_WRITES, Plan

#: What ``run`` reads again before it writes when it needs all of it (see prepare_reads).
PREPARE_READS = (
    "personFields.list",
    "organizationFields.list",
    "dealFields.list",
    "productFields.list",
    "pipelines.list",
    "stages.list",
    "activityTypes.list",
)
#: The create endpoint of each entity a payload can be.
CREATE = {
    "organization": "organizations.create",
    "person": "persons.create",
    "product": "products.create",
    "deal": "deals.create",
    "lead": "leads.create",
    "activity": "activities.create",
    "note": "notes.create",
    "file": "files.create",
}
UPDATE = {
    "organization": "organizations.update",
    "person": "persons.update",
    "product": "products.update",
    "deal": "deals.update",
    "lead": "leads.update",
}
FIELD_CREATE = {e: f"{e}Fields.create" for e in ("person", "organization", "deal", "product")}
FIELD_LIST = {e: f"{e}Fields.list" for e in FIELD_CREATE}
OPTIONS_CREATE = {e: f"{e}Fields.options.create" for e in FIELD_CREATE}
#: Deal products per bulk call (v2 ``/deals/{id}/products/bulk``).
BULK_ITEMS = 100


def cost(name: str) -> int:
    """Token cost of one call to the endpoint called ``name``."""
    return endpoints.get(name).cost


def deal_product_calls(items: int) -> dict[str, int]:
    """The cheapest calls adding ``items`` products to one deal: singles or bulk."""
    if items <= 0:
        return {}
    single = items * cost("dealProducts.create")
    bulk_calls = math.ceil(items / BULK_ITEMS)
    if bulk_calls * cost("dealProducts.bulkCreate") < single:
        return {"dealProducts.bulkCreate": bulk_calls}
    return {"dealProducts.create": items}


@dataclass(frozen=True)
class Ops:
    """Calls per endpoint and the op count per entity they came from."""

    calls: Mapping[str, int]
    counts: Mapping[str, int]

    @property
    def tokens(self) -> int:
        """Σ calls × cost."""
        return sum(n * cost(name) for name, n in self.calls.items())

    @property
    def writes(self) -> int:
        """POST/PUT/PATCH calls (what the fair-use cap counts)."""
        return sum(n for name, n in self.calls.items() if endpoints.get(name).is_write)

    @property
    def requests(self) -> int:
        """All calls."""
        return sum(self.calls.values())


def count_ops(
    payloads: Iterable[Payload],
    *,
    fields_to_create: Mapping[str, int],
    options_to_add: Mapping[str, int] | None = None,
    pipelines: int = 0,
    stages: int = 0,
    activity_types: int = 0,
    existing: Iterable[str] = (),
    prepare_reads: Iterable[str] | None = PREPARE_READS,
) -> Ops:
    """The op mix of a run over ``payloads`` (already merged and folded).

    ``existing`` person keys are linked to people in the account: one update each
    (fill empty fields) instead of a create. ``prepare_reads`` are the listings the
    run's preparation makes (:func:`prepare_reads`; all seven by default).
    """
    calls: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    linked = set(existing)
    for entity, n in fields_to_create.items():
        if n:
            calls[FIELD_CREATE[entity]] += n
            counts["field"] += n
    for entity, n in (options_to_add or {}).items():
        if n:
            calls[OPTIONS_CREATE[entity]] += n
            counts["field_options"] += n
    for name, n, label in (
        ("pipelines.create", pipelines, "pipeline"),
        ("stages.create", stages, "stage"),
        ("activityTypes.create", activity_types, "activity_type"),
    ):
        if n:
            calls[name] += n
            counts[label] += n
    per_deal: Counter[str] = Counter()
    for p in payloads:
        if p.entity == "deal_product":
            link = p.links.get("deal_id") or p.links.get("record")
            per_deal[link.key if isinstance(link, Ref) else p.source_key] += 1
            counts["deal_product"] += 1
            continue
        if p.entity not in CREATE:
            continue
        if p.update_of is not None:
            calls[UPDATE.get(p.entity, CREATE[p.entity])] += 1
            counts[f"{p.entity}_update"] += 1
            continue
        if p.entity == "person" and p.source_key in linked:
            calls["persons.update"] += 1
            counts["matched_existing"] += 1
            continue
        calls[CREATE[p.entity]] += 1
        counts[p.entity] += 1
        if p.entity == "organization" and isinstance(p.links.get("parent"), Ref):
            calls["organizationRelationships.create"] += 1
            counts["organization_parent"] += 1
    for items in per_deal.values():
        calls.update(deal_product_calls(items))
    for name in prepare_reads or ():
        calls[name] += 1
    return Ops(dict(calls), dict(counts))


def prepare_reads(
    field_entities: Iterable[str], *, pipelines: bool, activity_types: bool
) -> tuple[str, ...]:
    """The listings ``run``'s preparation reads: fields of each entity with specs, the
    pipelines and stages when there are pipelines, activity types when there are any."""
    out = [FIELD_LIST[e] for e in sorted(set(field_entities)) if e in FIELD_LIST]
    if pipelines:
        out += ["pipelines.list", "stages.list"]
    if activity_types:
        out.append("activityTypes.list")
    return tuple(out)


@dataclass(frozen=True)
class Estimate:
    """How long the op mix takes under a plan and seats."""

    plan: str
    seats: int
    tokens: int
    writes: int
    requests: int
    daily_budget: int
    budget_days: float
    fair_use_days: float
    days: float
    calendar_days: int
    burst_hours: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "plan": self.plan,
            "seats": self.seats,
            "tokens": self.tokens,
            "writes": self.writes,
            "requests": self.requests,
            "daily_budget": self.daily_budget,
            "budget_days": round(self.budget_days, 4),
            "fair_use_days": round(self.fair_use_days, 4),
            "days": round(self.days, 4),
            "calendar_days": self.calendar_days,
            "burst_hours": round(self.burst_hours, 4),
            "hours": round(self.hours, 4),
        }

    @property
    def hours(self) -> float:
        """Wall-clock hours: API time when it fits a day, else the days the budget needs."""
        if self.days <= 1:
            return self.burst_hours
        return max(
            self.burst_hours, (self.calendar_days - 1) * 24 + self.burst_hours / self.calendar_days
        )


def estimate(ops: Ops, plan: Plan, seats: int) -> Estimate:
    """Days (§7 formula), calendar days, and API hours at the plan's burst ceiling."""
    budget = plan.daily_budget(seats)
    budget_days = ops.tokens / budget
    fair_days = ops.writes / FAIR_USE_DAILY_WRITES
    days = max(budget_days, fair_days)
    per_second = plan.burst / plan.window_s
    return Estimate(
        plan=plan.name,
        seats=seats,
        tokens=ops.tokens,
        writes=ops.writes,
        requests=ops.requests,
        daily_budget=budget,
        budget_days=budget_days,
        fair_use_days=fair_days,
        days=days,
        calendar_days=max(1, math.ceil(days)) if ops.requests else 0,
        burst_hours=ops.requests / per_second / 3600,
    )


def within(ops: Ops, plan: Plan, seats: int, window: timedelta) -> dict[str, Any]:
    """What fits ``window``: the seats needed, or the top-up tokens, and the fair-use check.

    The window holds ``window / 24 h`` daily budgets, and at least one: a window shorter
    than a day still has a whole day's budget and fair-use cap, and is bounded by the API
    time at the burst ceiling instead. Seats raise the budget but not the per-token
    fair-use cap; a top-up adds tokens to the current seats' budget.
    """
    window_days = window.total_seconds() / 86400
    if window_days <= 0:
        from pdmigrate.errors import UsageError

        raise UsageError("--within must be a positive duration such as 72h or 3d")
    budget_days = max(1.0, window_days)
    est = estimate(ops, plan, seats)
    capacity = est.daily_budget * budget_days
    per_seat = plan.daily_budget(1) * budget_days
    seats_needed = max(seats, math.ceil(ops.tokens / per_seat)) if per_seat else seats
    topup = max(0, math.ceil(ops.tokens - capacity))
    fair_ok = ops.writes <= FAIR_USE_DAILY_WRITES * budget_days
    burst_ok = est.burst_hours <= window.total_seconds() / 3600
    fits = ops.tokens <= capacity and fair_ok and burst_ok
    if fits:
        advice = f"fits: {est.days:.2f} budget days within {window_days:g} days"
    elif not fair_ok:
        advice = (
            f"{ops.writes} writes exceed the fair-use cap of {FAIR_USE_DAILY_WRITES} per token "
            f"per day over {budget_days:g} day(s); more seats do not lift it: allow "
            f"{math.ceil(ops.writes / FAIR_USE_DAILY_WRITES)} days"
        )
    elif not burst_ok:
        advice = f"the API time alone ({est.burst_hours * 60:.1f} min) exceeds the window"
    else:
        advice = f"needs {seats_needed} seats on {plan.name}, or a top-up of {topup} tokens"
    return {
        "window_hours": round(window.total_seconds() / 3600, 2),
        "fits": fits,
        "capacity_tokens": int(capacity),
        "seats_needed": seats_needed,
        "topup_tokens": topup,
        "fair_use_ok": fair_ok,
        "advice": advice,
    }


def caps(
    plan: Plan, seats: int, *, custom_fields_total: int, deals: int, leads: int
) -> list[dict[str, Any]]:
    """The plan caps this migration meets: custom fields per company, deals + leads."""
    return [
        {
            "cap": "custom_fields",
            "limit": plan.custom_field_cap,
            "planned": custom_fields_total,
            "exceeded": custom_fields_total > plan.custom_field_cap,
        },
        {
            "cap": "deals_plus_leads",
            "limit": plan.deals_leads_cap(seats),
            "planned": deals + leads,
            "exceeded": deals + leads > plan.deals_leads_cap(seats),
        },
    ]
