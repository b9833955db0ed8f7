"""The blocking facade keeps one client (limits, ledger, connections) across calls."""

from __future__ import annotations

from collections import deque

import httpx

from pdmigrate.pipedrive.sync import SyncPipedriveClient
from pdmigrate.pipedrive.testing import FakeSleep, ScriptedPipedrive, json_response
from pdmigrate.sandbox.clock import FakeClock

TOKEN = "sync-token-0123456789abcdef0123456789abcd"


def test_sync_facade_runs_calls_and_listings_on_one_client() -> None:
    """Creates, a get and a paged listing run blocking; stats and ledger carry over."""
    limited = json_response(
        429, {"success": False, "code": "RATE_LIMIT_BURST"}, {"retry-after": "2"}
    )
    api = ScriptedPipedrive(script=deque([limited]))
    clock = FakeClock()
    with SyncPipedriveClient(
        "https://acme.pipedrive.com",
        TOKEN,
        transport=httpx.MockTransport(api),
        clock=clock,
        sleep=FakeSleep(clock),
    ) as pd:
        created = [pd.run(pd.client.persons.create({"name": f"S{i}"})) for i in range(3)]
        assert [p["id"] for p in created] == [1, 2, 3]
        assert pd.run(pd.client.persons.get(2)) == {"id": 2, "name": "S1"}
        listed = pd.collect(pd.client.persons.list(page_size=2))
        assert [p["id"] for p in listed] == [1, 2, 3]
        assert pd.client.stats.rate_limited == 1
        assert pd.client.stats.requests == 1 + 3 + 1 + 2
        assert pd.client.ledger.tokens_left() == api.budget_remaining
        assert TOKEN not in repr(pd)
