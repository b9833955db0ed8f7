"""The store: records per account, id sequences, soft delete, SQLite persistence, dump."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmigrate.sandbox.app import Sandbox
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.store import Store, parse_time, v1_time

from .conftest import sandbox_client


def test_insert_stamps_ids_and_utc_times(clock: FakeClock) -> None:
    """Ids follow a per-account, per-entity sequence; times are RFC 3339 UTC."""
    store = Store(clock=clock)
    a = store.create_account().company_id
    b = store.create_account().company_id
    first = store.insert(a, "persons", {"name": "One"})
    clock.advance(5)
    second = store.insert(a, "persons", {"name": "Two"}, add_time="2020-02-02T02:02:02Z")
    other = store.insert(b, "persons", {"name": "Elsewhere"})
    assert (first["id"], second["id"], other["id"]) == (1, 2, 1)
    assert first["add_time"] == first["update_time"] == "2026-01-15T09:00:00Z"
    assert second["add_time"] == "2020-02-02T02:02:02Z"
    assert second["update_time"] == "2026-01-15T09:00:05Z"
    assert store.next_id(a, "persons") == 3
    assert store.next_id(a, "deals") == 1


def test_update_soft_delete_and_list(clock: FakeClock) -> None:
    """update merges and restamps; soft_delete hides from get/list unless asked."""
    store = Store(clock=clock)
    cid = store.create_account().company_id
    store.insert(cid, "persons", {"name": "Keep"})
    store.insert(cid, "persons", {"name": "Drop"})
    clock.advance(60)
    updated = store.update(cid, "persons", 1, {"name": "Kept"})
    assert updated == {
        "id": 1,
        "name": "Kept",
        "add_time": "2026-01-15T09:00:00Z",
        "update_time": "2026-01-15T09:01:00Z",
    }
    store.soft_delete(cid, "persons", 2)
    assert store.get(cid, "persons", 2) is None
    assert store.get(cid, "persons", 2, include_deleted=True)["is_deleted"] is True  # type: ignore[index]
    assert [d["name"] for d in store.list(cid, "persons")] == ["Kept"]
    assert store.count(cid, "persons") == 1
    assert store.count(cid, "persons", include_deleted=True) == 2
    with pytest.raises(KeyError):
        store.update(cid, "persons", 99, {"name": "x"})


def test_transaction_rolls_back_everything(clock: FakeClock) -> None:
    """An error inside transaction() leaves no partial write behind."""
    store = Store(clock=clock)
    cid = store.create_account().company_id

    def write_then_fail() -> None:
        with store.transaction():
            store.insert(cid, "persons", {"name": "Ghost"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert store.list(cid, "persons") == []


def test_sqlite_state_survives_two_app_instances(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox]
) -> None:
    """A second sandbox on the same db file sees the first one's account and records."""
    db = tmp_path / "sandbox.db"
    first = make_sandbox(db_path=db)
    with sandbox_client(first, token="persist") as c:
        created = c.post("/api/v2/persons", json={"name": "Persisted Person"}).json()["data"]
    first.store.close()
    second = make_sandbox(db_path=db)
    with sandbox_client(second, token="persist") as c:
        got = c.get(f"/api/v2/persons/{created['id']}")
        assert got.status_code == 200
        assert got.json()["data"]["name"] == "Persisted Person"
        assert c.post("/api/v2/persons", json={"name": "Next"}).json()["data"]["id"] == 2
    assert len(second.store.accounts()) == 1
    second.close()
    mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_tokens_are_stored_hashed(tmp_path: Path, clock: FakeClock) -> None:
    """The db file and the dump never contain the token itself."""
    db = tmp_path / "s.db"
    store = Store(db, clock)
    cid = store.create_account().company_id
    store.bind_token("super-secret-token-value", cid)
    assert store.company_for_token("super-secret-token-value") == cid
    store.close()
    assert b"super-secret-token-value" not in db.read_bytes()
    dumped = json.dumps(Store(db, clock).dump())
    assert "super-secret-token-value" not in dumped


def test_dump_lists_every_account_with_records(client: httpx.Client, sandbox: Sandbox) -> None:
    """dump() has each account's settings, token count and records including deleted."""
    client.post("/api/v2/persons", json={"name": "Dumped"})
    client.delete("/api/v2/persons/1")
    dump = sandbox.dump()
    assert len(dump["accounts"]) == 1
    account = dump["accounts"][0]
    assert account["account"]["plan"] == "growth"
    assert account["account"]["contact_sync"] is False
    assert account["tokens"] == 1
    assert [p["name"] for p in account["records"]["persons"]] == ["Dumped"]
    assert account["records"]["persons"][0]["is_deleted"] is True
    assert len(account["records"]["users"]) == 3
    assert len(account["records"]["stages"]) == 5
    json.dumps(dump)


def test_time_helpers() -> None:
    """parse_time reads both formats; v1_time renders v1's format."""
    assert v1_time("2026-01-15T09:00:00Z") == "2026-01-15 09:00:00"
    assert parse_time("2026-01-15 09:00:00").isoformat() == "2026-01-15T09:00:00+00:00"
    assert v1_time(None) is None


def test_concurrent_writers_get_distinct_ids(tmp_path: Path, clock: FakeClock) -> None:
    """Four threads inserting into one SQLite store get 200 distinct, gap-free ids."""
    store = Store(tmp_path / "threads.db", clock)
    cid = store.create_account().company_id

    def work(n: int) -> None:
        for i in range(50):
            store.insert(cid, "persons", {"name": f"t{n}-{i}"})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = sorted(d["id"] for d in store.list(cid, "persons"))
    assert ids == list(range(1, 201))


def test_restarted_sandbox_applies_its_options_to_stored_accounts(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox]
) -> None:
    """An account stored with Contact Sync off gets it when the sandbox restarts with it on."""
    db = tmp_path / "opts.db"
    first = make_sandbox(db_path=db)
    with sandbox_client(first, token="opts") as c:
        birthday = {"name": "A", "birthday": "1990-01-02"}
        assert c.post("/api/v2/persons", json=birthday).status_code == 400
    first.store.close()
    second = make_sandbox(db_path=db, contact_sync=True, plan="premium", seats=3)
    with sandbox_client(second, token="opts") as c:
        assert c.post("/api/v2/persons", json=birthday).status_code == 200
    account = second.store.accounts()[0]
    assert (account.plan, account.seats, account.contact_sync) == ("premium", 3, True)


@pytest.mark.parametrize("descending", [False, True])
def test_query_pages_by_id_past_single_digits(clock: FakeClock, descending: bool) -> None:
    """query() pages 25 records by numeric id (10 after 9, not after 1), both directions."""
    store = Store(clock=clock)
    cid = store.create_account().company_id
    for i in range(25):
        store.insert(cid, "persons", {"name": f"p{i}"})
    seen: list[int] = []
    after = None
    while True:
        docs = store.query(cid, "persons", descending=descending, after=after, limit=11)
        page = docs[:10]
        seen += [d["id"] for d in page]
        if len(docs) <= 10:
            break
        after = [True, page[-1]["id"], page[-1]["id"]]
    expected = list(range(1, 26))
    assert seen == (expected[::-1] if descending else expected)


def test_query_filters_in_sql(clock: FakeClock) -> None:
    """equals, ids, updated_since and deleted filter like the list endpoints need."""
    store = Store(clock=clock)
    cid = store.create_account().company_id
    for i in range(12):
        store.insert(cid, "deals", {"title": f"d{i}", "owner_id": 1 + i % 2, "is_archived": i == 3})
        clock.advance(1)
    store.soft_delete(cid, "deals", 5)
    assert [d["id"] for d in store.query(cid, "deals", equals={"owner_id": 2})] == [
        2,
        4,
        6,
        8,
        10,
        12,
    ]
    live_unarchived = store.query(cid, "deals", equals={"is_archived": False})
    assert [d["id"] for d in live_unarchived] == [1, 2, 3, 6, 7, 8, 9, 10, 11, 12]
    assert [d["id"] for d in store.query(cid, "deals", deleted=True)] == [5]
    assert [d["id"] for d in store.query(cid, "deals", ids=[12, 5, 1])] == [1, 12]
    since = store.query(cid, "deals", updated_since="2026-01-15T09:00:10Z")
    assert [d["id"] for d in since] == [11, 12]


@settings(max_examples=40, deadline=None)
@given(
    dues=st.lists(st.one_of(st.none(), st.sampled_from(["2026-01-01", "2026-02-01"])), max_size=30),
    limit=st.integers(min_value=1, max_value=7),
    descending=st.booleans(),
)
def test_query_pages_match_a_plain_sort(
    dues: list[str | None], limit: int, descending: bool
) -> None:
    """Paging by due_date with query() visits records in exactly the [not-null, value, id] order."""
    store = Store(clock=FakeClock())
    cid = store.create_account().company_id
    for due in dues:
        store.insert(cid, "activities", {"due_date": due})

    def key(doc: dict[str, object]) -> list[object]:
        value = doc.get("due_date")
        return [value is not None, value if value is not None else 0, doc["id"]]

    expected = [d["id"] for d in sorted(store.list(cid, "activities"), key=key, reverse=descending)]
    seen: list[object] = []
    after = None
    while True:
        docs = store.query(
            cid, "activities", sort_by="due_date", descending=descending, after=after,
            limit=limit + 1,
        )  # fmt: skip
        page = docs[:limit]
        seen += [d["id"] for d in page]
        if len(docs) <= limit:
            break
        after = key(page[-1])
    assert seen == expected
    store.close()
