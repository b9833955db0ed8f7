"""Pipedrive plans and the limits each one sets (reference/pipedrive-api.md §5 and §8).

One frozen :class:`Plan` per plan name. The rate limiter, the custom-field and deal
caps in the sandbox, and the client's planner all read their numbers from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdmigrate.errors import UsageError

#: Base tokens per seat per day before the plan multiplier.
BASE_DAILY_TOKENS = 30_000
#: Length of the rolling burst window, in seconds.
BURST_WINDOW_S = 2.0
#: Search API requests per token per window, on every plan.
SEARCH_BURST = 10
#: Fair-use cap: POST/PUT/PATCH requests per user (token) per UTC day.
FAIR_USE_DAILY_WRITES = 10_000
#: Deals plus leads per company never exceed this, whatever the seats.
DEALS_LEADS_HARD_CAP = 300_000


@dataclass(frozen=True, slots=True)
class Plan:
    """The limits of one Pipedrive plan."""

    name: str
    burst: int  # requests per token per BURST_WINDOW_S (API token auth)
    daily_multiplier: int  # x BASE_DAILY_TOKENS x seats = company's daily token budget
    custom_field_cap: int  # custom fields per company
    deals_leads_per_seat: int  # open deals + leads per seat, capped at DEALS_LEADS_HARD_CAP
    visible_to_company: int  # the visible_to value meaning "entire company"
    search_burst: int = SEARCH_BURST
    window_s: float = BURST_WINDOW_S

    def daily_budget(self, seats: int) -> int:
        """Tokens per company per day for ``seats`` seats."""
        if seats < 1:
            raise UsageError(f"seats must be at least 1, not {seats}")
        return BASE_DAILY_TOKENS * self.daily_multiplier * seats

    def deals_leads_cap(self, seats: int) -> int:
        """How many deals plus leads the company may hold."""
        if seats < 1:
            raise UsageError(f"seats must be at least 1, not {seats}")
        return min(self.deals_leads_per_seat * seats, DEALS_LEADS_HARD_CAP)


PLANS: dict[str, Plan] = {
    "lite": Plan("lite", 20, 1, 30, 2_500, 3),
    "growth": Plan("growth", 40, 2, 100, 5_000, 3),
    "premium": Plan("premium", 100, 5, 300, 15_000, 7),
    "ultimate": Plan("ultimate", 120, 7, 500, 20_000, 7),
}


def get_plan(name: str | Plan) -> Plan:
    """The plan called ``name`` (case-insensitive); a :class:`Plan` is returned as is.

    Raises UsageError listing the known plans for an unknown name.
    """
    if isinstance(name, Plan):
        return name
    plan = PLANS.get(name.strip().lower())
    if plan is None:
        raise UsageError(f"unknown plan {name!r}: choose one of {', '.join(PLANS)}")
    return plan
