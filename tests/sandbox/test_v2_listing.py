"""v2 lists: cursor pagination, limit, ids, updated_since/until, sort_by, filters."""

from __future__ import annotations

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox
from pdmigrate.sandbox.clock import FakeClock


def _make_people(client: httpx.Client, clock: FakeClock, n: int) -> list[int]:
    ids = []
    for i in range(n):
        r = client.post("/api/v2/persons", json={"name": f"Person {i:03d}"})
        ids.append(r.json()["data"]["id"])
        clock.advance(10)
    return ids


def test_cursor_pagination_walks_every_page_once(
    client: httpx.Client, clock: FakeClock, sandbox: Sandbox
) -> None:
    """limit=2 over 5 people: pages of 2, 2, 1; next_cursor null on the last page."""
    _make_people(client, clock, 5)
    seen: list[int] = []
    cursors: list[str | None] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        body = client.get("/api/v2/persons", params=params).json()
        seen += [p["id"] for p in body["data"]]
        cursor = body["additional_data"]["next_cursor"]
        cursors.append(cursor)
        if cursor is None:
            break
        params = {"limit": 2, "cursor": cursor}
    assert seen == [1, 2, 3, 4, 5]
    assert len(cursors) == 3
    assert cursors[-1] is None
    assert all(isinstance(c, str) for c in cursors[:-1])
    assert sandbox.spec_problems == []


def test_pagination_is_stable_when_records_are_added_between_pages(
    client: httpx.Client, clock: FakeClock
) -> None:
    """A record created after page 1 appears on a later page, nothing is repeated."""
    _make_people(client, clock, 3)
    first = client.get("/api/v2/persons", params={"limit": 2}).json()
    _make_people(client, clock, 1)
    rest = client.get(
        "/api/v2/persons", params={"limit": 2, "cursor": first["additional_data"]["next_cursor"]}
    ).json()
    assert [p["id"] for p in first["data"]] == [1, 2]
    assert [p["id"] for p in rest["data"]] == [3, 4]


def test_limit_bounds(client: httpx.Client) -> None:
    """limit=500 is accepted; 501 and 0 are 400 validation errors."""
    assert client.get("/api/v2/persons", params={"limit": 500}).status_code == 200
    too_big = client.get("/api/v2/persons", params={"limit": 501})
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    assert too_big.json()["error"].startswith("Validation failed: limit:")
    assert client.get("/api/v2/persons", params={"limit": 0}).status_code == 400


def test_invalid_cursor_is_400(client: httpx.Client) -> None:
    """A cursor the sandbox did not issue is rejected."""
    response = client.get("/api/v2/persons", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: cursor: Invalid cursor"


def test_ids_filter_and_its_cap(client: httpx.Client, clock: FakeClock) -> None:
    """ids picks records (missing ids dropped silently); more than 100 ids is a 400."""
    _make_people(client, clock, 4)
    body = client.get("/api/v2/persons", params={"ids": "4,2,99"}).json()
    assert [p["id"] for p in body["data"]] == [2, 4]
    many = ",".join(str(i) for i in range(1, 102))
    response = client.get("/api/v2/persons", params={"ids": many})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: ids: Must contain at most 100 ids"


def test_updated_since_and_until(client: httpx.Client, clock: FakeClock) -> None:
    """updated_since is inclusive, updated_until exclusive, on update_time."""
    _make_people(client, clock, 3)  # update_time 09:00:00, 09:00:10, 09:00:20
    since = client.get("/api/v2/persons", params={"updated_since": "2026-01-15T09:00:10Z"})
    assert [p["id"] for p in since.json()["data"]] == [2, 3]
    until = client.get("/api/v2/persons", params={"updated_until": "2026-01-15T09:00:10Z"})
    assert [p["id"] for p in until.json()["data"]] == [1]
    client.patch("/api/v2/persons/1", json={"name": "Touched"})  # now 09:00:30
    since = client.get("/api/v2/persons", params={"updated_since": "2026-01-15T09:00:25Z"})
    assert [p["id"] for p in since.json()["data"]] == [1]
    bad = client.get("/api/v2/persons", params={"updated_since": "yesterday"})
    assert bad.status_code == 400


def test_sort_by_and_direction_page_together(client: httpx.Client, clock: FakeClock) -> None:
    """sort_by=update_time desc pages newest first, across pages."""
    _make_people(client, clock, 3)
    client.patch("/api/v2/persons/2", json={"name": "Newest"})
    params: dict[str, str | int] = {"sort_by": "update_time", "sort_direction": "desc", "limit": 2}
    first = client.get("/api/v2/persons", params=params).json()
    assert [p["id"] for p in first["data"]] == [2, 3]
    params["cursor"] = first["additional_data"]["next_cursor"]
    second = client.get("/api/v2/persons", params=params).json()
    assert [p["id"] for p in second["data"]] == [1]
    bad = client.get("/api/v2/persons", params={"sort_by": "name"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("status", "expected"),
    [(None, [1, 2]), ("open", [1]), ("won", [2]), ("lost", []), ("deleted", [3])],
)
def test_deals_status_filter(client: httpx.Client, status: str | None, expected: list[int]) -> None:
    """status picks open/won/lost deals; deleted lists only soft-deleted ones."""
    client.post("/api/v2/deals", json={"title": "Open"})
    client.post("/api/v2/deals", json={"title": "Won", "status": "won"})
    client.post("/api/v2/deals", json={"title": "Gone"})
    client.delete("/api/v2/deals/3")
    params = {} if status is None else {"status": status}
    body = client.get("/api/v2/deals", params=params).json()
    assert [d["id"] for d in body["data"]] == expected


def test_stages_filter_by_pipeline(client: httpx.Client) -> None:
    """GET /stages?pipeline_id= lists only that pipeline's stages, by order."""
    pipeline = client.post("/api/v2/pipelines", json={"name": "Recall"}).json()["data"]
    for name in ("Due", "Booked"):
        client.post("/api/v2/stages", json={"name": name, "pipeline_id": pipeline["id"]})
    body = client.get("/api/v2/stages", params={"pipeline_id": pipeline["id"]}).json()
    assert [(s["name"], s["order_nr"]) for s in body["data"]] == [("Due", 1), ("Booked", 2)]
    everything = client.get("/api/v2/stages").json()["data"]
    assert len(everything) == 7


def test_soft_deleted_records_leave_lists(client: httpx.Client) -> None:
    """A deleted organization is gone from the list and from get (404)."""
    client.post("/api/v2/organizations", json={"name": "Alpha Dental"})
    client.post("/api/v2/organizations", json={"name": "Beta Dental"})
    assert client.delete("/api/v2/organizations/1").status_code == 200
    names = [o["name"] for o in client.get("/api/v2/organizations").json()["data"]]
    assert names == ["Beta Dental"]
    assert client.get("/api/v2/organizations/1").status_code == 404
    assert client.delete("/api/v2/organizations/1").status_code == 404


def test_sort_by_due_date_pages_nulls_first(client: httpx.Client) -> None:
    """Activities sorted by due_date: undated first, then by date, stable across pages."""
    client.post("/api/v2/persons", json={"name": "Pat"})
    dates = ["2026-03-01", None, "2026-02-01", None, "2026-02-01"]
    for i, due in enumerate(dates):
        body: dict[str, object] = {"subject": f"a{i}", "done": i % 2 == 0}
        if due:
            body["due_date"] = due
        if i == 4:
            body["participants"] = [{"person_id": 1, "primary": True}]
        assert client.post("/api/v2/activities", json=body).status_code == 200
    order: list[int] = []
    params: dict[str, str | int] = {"sort_by": "due_date", "limit": 2}
    while True:
        page = client.get("/api/v2/activities", params=params).json()
        order += [a["id"] for a in page["data"]]
        if page["additional_data"]["next_cursor"] is None:
            break
        params["cursor"] = page["additional_data"]["next_cursor"]
    assert order == [2, 4, 3, 5, 1]
    desc = client.get(
        "/api/v2/activities", params={"sort_by": "due_date", "sort_direction": "desc"}
    )
    assert [a["id"] for a in desc.json()["data"]] == [1, 5, 3, 4, 2]
    done = client.get("/api/v2/activities", params={"done": "true"}).json()["data"]
    assert [a["id"] for a in done] == [1, 3, 5]
    with_pat = client.get("/api/v2/activities", params={"person_id": 1}).json()["data"]
    assert [a["id"] for a in with_pat] == [5]


def test_cursor_from_another_sort_is_rejected(client: httpx.Client, clock: FakeClock) -> None:
    """A cursor issued for sort_by=id cannot continue a sort_by=add_time listing."""
    _make_people(client, clock, 3)
    cursor = client.get("/api/v2/persons", params={"limit": 1}).json()["additional_data"]
    response = client.get(
        "/api/v2/persons", params={"sort_by": "add_time", "cursor": cursor["next_cursor"]}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: cursor: Invalid cursor"


def test_pages_of_ten_over_twenty_three_people(client: httpx.Client, clock: FakeClock) -> None:
    """23 people in pages of 10: 10, 10, 3, in id order, each once."""
    _make_people(client, clock, 23)
    sizes: list[int] = []
    seen: list[int] = []
    params: dict[str, str | int] = {"limit": 10}
    while True:
        body = client.get("/api/v2/persons", params=params).json()
        sizes.append(len(body["data"]))
        seen += [p["id"] for p in body["data"]]
        if body["additional_data"]["next_cursor"] is None:
            break
        params["cursor"] = body["additional_data"]["next_cursor"]
    assert sizes == [10, 10, 3]
    assert seen == list(range(1, 24))


def test_deleted_deals_are_listed_for_thirty_days(client: httpx.Client, clock: FakeClock) -> None:
    """status=deleted shows a deal deleted 29 days ago but not one deleted 31 days ago."""
    client.post("/api/v2/deals", json={"title": "Early"})
    client.post("/api/v2/deals", json={"title": "Late"})
    client.delete("/api/v2/deals/1")
    clock.advance(2 * 86_400)
    client.delete("/api/v2/deals/2")
    clock.advance(29 * 86_400)
    listed = client.get("/api/v2/deals", params={"status": "deleted"}).json()["data"]
    assert [d["title"] for d in listed] == ["Late"]
