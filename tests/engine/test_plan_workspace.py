"""`pdmigrate plan` end to end on synth workspaces against the workspace sandbox."""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pdmigrate.cli import plan_cmd
from pdmigrate.errors import ConfigError
from pdmigrate.mapping.workflow import confirm_workspace, map_workspace
from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.plan import load_plan
from pdmigrate.plan.account import snapshot_from_raw
from pdmigrate.plan.build import Edits, compose_plan, payloads_for_run, plan_workspace, read_source
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport
from pdmigrate.synth import synth
from pdmigrate.workspace import Workspace, create_workspace, load_workspace

PLAN = plan_cmd.COMMANDS[0]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synth exports (30 patients, seed 5) for three systems, written once."""
    root = tmp_path_factory.mktemp("plan-synth")
    out = {}
    for system in ("corepractice", "practicemaster", "visualpractice"):
        synth(system, root / system, patients=30, seed=5)
        out[system] = root / system
    return out


def _workspace(
    tmp_path: Path, exports: dict[str, Path], system: str, confirm: bool = True
) -> Workspace:
    folder = tmp_path / "exports"
    shutil.copytree(exports[system], folder)
    ws = create_workspace(tmp_path / "ws", source=system, exports=folder)
    map_workspace(ws)
    if confirm:
        confirm_workspace(ws)
    return load_workspace(ws.root)


@pytest.fixture
def core(tmp_path: Path, exports: dict[str, Path]) -> Workspace:
    """A confirmed corepractice sandbox workspace."""
    return _workspace(tmp_path, exports, "corepractice")


def run_plan(ws: Workspace, *args: str) -> dict[str, Any]:
    """`pdmigrate plan -w WS --json ARGS`; the JSON summary."""
    result = CliRunner().invoke(PLAN, ["-w", str(ws.root), "--json", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_plan_refuses_without_a_confirmed_mapping(tmp_path: Path, exports: dict[str, Path]) -> None:
    """No confirmed mapping: ConfigError (exit 2), and no plan.json."""
    ws = _workspace(tmp_path, exports, "corepractice", confirm=False)
    with pytest.raises(ConfigError, match="not confirmed"):
        run_plan(ws)
    assert not (ws.root / "plan.json").exists()


def test_plan_stops_when_visualpractice_date_order_is_unknown(
    tmp_path: Path, exports: dict[str, Path]
) -> None:
    """visualpractice takes its date order from the workspace: unset, plan stops (§6 Time)."""
    ws = _workspace(tmp_path, exports, "visualpractice", confirm=False)
    path = ws.root / "mapping.yaml"
    text = path.read_text(encoding="utf-8")
    order = next(o for o in ("dmy", "mdy") if f"date_order: {o}" in text)
    path.write_text(text.replace(f"date_order: {order}", "date_order: null"), encoding="utf-8")
    confirm_workspace(ws)
    with pytest.raises(ConfigError, match=r"mapping.yaml:\d+: settings.date_order is not set"):
        run_plan(ws)


def test_plan_json_summary_files_and_run_record(core: Workspace) -> None:
    """--json has ops, tokens, days and owners; plan.json, owners.csv, reports and a run exist."""
    summary = run_plan(core, "--fallback-owner", "candice.saunders@jonesstaddental.com.au")
    loaded = Counter(p.entity for p in payloads_for_run(core) if p.update_of is None)
    refused = Counter(summary["unattached"]["by_entity"])
    assert refused["note"] == 0  # invoice tables land on the joined plan, else on the patient
    for entity in ("person", "note", "activity", "deal", "lead", "product", "organization"):
        # nobody is in the account yet; records hanging on nothing are not called
        assert summary["ops"][entity] == loaded[entity] - refused[entity], entity
    assert summary["ops"]["person"] == 31  # 30 patients + 2 lead people - 1 merged duplicate
    assert summary["tokens"] == _tokens(summary["calls"])
    budget = summary["estimate"]["daily_budget"]
    assert budget == 60_000  # the workspace sandbox: Growth, one seat
    assert summary["days"] == round(max(summary["tokens"] / budget, summary["writes"] / 10_000), 4)
    ids = {u["email"].casefold(): u["id"] for u in summary["owners"]["users"]}
    rows = list(csv.DictReader((core.root / "owners.csv").read_text("utf-8").splitlines()))
    statuses = Counter(r["status"] for r in rows)
    assert summary["owners"]["matched"] == statuses["matched"] > 0
    assert summary["owners"]["unmatched"] == len(rows) - 1 - statuses["matched"] > 0
    assert summary["owners"]["fallback"] == {
        "id": ids["candice.saunders@jonesstaddental.com.au"],
        "email": "candice.saunders@jonesstaddental.com.au",
    }
    users = summary["owners"]["users"]
    assert all(isinstance(u["id"], int) and "@" in u["email"] for u in users)
    assert summary["runnable"] is True
    assert summary["visibility"]["company"] == 3
    assert summary["grade"] in "ABCD"
    plan = load_plan(core)
    assert plan.tokens == summary["tokens"]
    assert plan.owners.fallback_user_id == ids["candice.saunders@jonesstaddental.com.au"]
    assert plan.plan_name == "growth"
    assert (core.root / "owners.csv").is_file()
    assert (core.root / "decisions.csv").is_file()
    assert (core.reports_dir / "plan.md").read_text(encoding="utf-8").startswith("# Migration plan")
    assert json.loads((core.reports_dir / "plan.json").read_text())["tokens"] == summary["tokens"]
    token = core.config.sandbox_token
    assert token
    for written in (
        "plan.json",
        "owners.csv",
        "decisions.csv",
        "reports/plan.json",
        "reports/plan.md",
        "state.db",
    ):
        assert token.encode() not in (core.root / written).read_bytes(), written
    with core.state() as state:
        runs = state.runs("plan")
    assert [(r.status, r.summary["tokens"]) for r in runs] == [("done", summary["tokens"])]  # type: ignore[index]


def _tokens(calls: dict[str, int]) -> int:
    from pdmigrate.pipedrive import endpoints

    return sum(n * endpoints.get(name).cost for name, n in calls.items())


def test_owners_csv_edit_is_respected_on_the_next_plan(core: Workspace) -> None:
    """Filling pipedrive_email for an unmatched staff matches it; the fallback row sticks."""
    first = run_plan(core)
    assert first["runnable"] is False
    path = core.root / "owners.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = []
    for line in lines:
        if line.startswith("Dr P. Thomas,"):
            line = "Dr P. Thomas,,,3,no_email,ruben.jones@jonesstaddental.com.au,"
        if line.startswith("*fallback*"):
            line = "*fallback*,,,,,jack.martin@jonesstaddental.com.au,"
        edited.append(line)
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    second = run_plan(core)
    ids = {u["email"].casefold(): u["id"] for u in second["owners"]["users"]}
    assert "Dr P. Thomas" in first["owners"]["unmatched_staff"]
    assert second["owners"]["unmatched_staff"] == [
        s for s in first["owners"]["unmatched_staff"] if s != "Dr P. Thomas"
    ]
    assert second["owners"]["fallback"] == {
        "id": ids["jack.martin@jonesstaddental.com.au"],
        "email": "jack.martin@jonesstaddental.com.au",
    }
    assert second["runnable"] is True
    plan = load_plan(core)
    ruben = ids["ruben.jones@jonesstaddental.com.au"]
    assert plan.owners.by_staff["Dr P. Thomas"] == ruben
    assert f"Dr P. Thomas,,,3,edited,ruben.jones@jonesstaddental.com.au,{ruben}" in path.read_text()


def test_decisions_csv_is_read_back(core: Workspace) -> None:
    """Turning the proposed merge into keep apart migrates both people."""
    first = run_plan(core)
    assert first["dedup"]["merge"] == 1
    assert load_plan(core).merges == {
        "corepractice/patient_person/10029": "corepractice/patient_person/10000"
    }
    path = core.root / "decisions.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",merge,", ",keep apart,"), "utf-8")
    second = run_plan(core)
    assert second["dedup"]["keep_apart"] == 1
    assert second["ops"]["person"] == first["ops"]["person"] + 1
    assert load_plan(core).merges == {}
    keys = [p.source_key for p in payloads_for_run(core) if p.entity == "person"]
    assert "corepractice/patient_person/10029" in keys


def test_account_dedup_spends_one_listing_per_page(core: Workspace) -> None:
    """1,001 people in the account: 3 listing pages, no search; the shared email links.

    A person carrying a Source ID value (an earlier run's) is ours, never "existing".
    """
    source = read_source(core)
    emails = [
        p.fields["emails"][0]["value"]
        for p in source.payloads
        if p.entity == "person" and p.fields.get("emails")
    ]
    email, ours = emails[0], emails[1]
    assert email.casefold() != ours.casefold()
    keeper = next(
        p.source_key
        for p in source.payloads
        if p.entity == "person"
        and p.fields.get("emails")
        and p.fields["emails"][0]["value"] == email
    )
    sandbox = Sandbox(SandboxConfig(db_path=core.sandbox_path, rate_limits=False))
    try:
        token = core.config.sandbox_token
        assert token is not None
        cid = sandbox.store.company_for_token(token)
        assert cid is not None
        client = PipedriveClient(
            "http://sandbox.local", token, transport=AsyncSandboxTransport(app_for(sandbox))
        )
        sid = asyncio.run(
            client.person_fields.create({"field_name": "Source ID", "field_type": "varchar"})
        )["field_code"]
        with sandbox.store.transaction():
            for i in range(1000):
                value = email.upper() if i == 700 else f"someone{i}@elsewhere.example"
                sandbox.store.insert(cid, "persons", _person_doc(f"Existing {i}", value))
            # written by an earlier pdmigrate run: carries a Source ID, so it is not "existing"
            mine = _person_doc("Earlier Run", ours)
            mine["custom_fields"] = {sid: "corepractice/patient_person/earlier"}
            sandbox.store.insert(cid, "persons", mine)
        composed = plan_workspace(core, client)
        asyncio.run(client.aclose())
    finally:
        sandbox.close()
    calls = client.stats.by_endpoint
    assert calls["persons.list"] == 3
    assert calls["users.list"] == 1
    assert not [name for name in calls if name.endswith("search") or name == "itemSearch.field"]
    assert composed.report["dedup"]["listing_pages"] == 3
    assert composed.report["dedup"]["matched_existing"] == 1
    assert composed.plan.existing == {keeper: 701}
    assert composed.plan.counts["matched_existing"] == 1


def _person_doc(name: str, email: str) -> dict[str, Any]:
    return {
        "owner_id": 1,
        "org_id": None,
        "emails": [{"value": email, "primary": True, "label": "work"}],
        "phones": [],
        "is_deleted": False,
        "visible_to": 3,
        "label_ids": [],
        "picture_id": None,
        "custom_fields": {},
        "name": name,
        "first_name": name.split()[0],
        "last_name": name.split()[-1],
    }


@pytest.fixture
def pm_source(tmp_path: Path, exports: dict[str, Path]) -> Iterator[Any]:
    """The practicemaster source (confirmed mapping applied)."""
    return read_source(_workspace(tmp_path, exports, "practicemaster"))


def test_private_rows_are_counted_from_the_exports(
    pm_source: Any, exports: dict[str, Path]
) -> None:
    """Practice Master's private journal and calendar rows cannot be restricted: all counted."""
    expected = 0
    for name in ("CMJRNL.csv", "CMCALENDAR.csv"):
        with (exports["practicemaster"] / name).open(encoding="cp1252", newline="") as fh:
            expected += sum(1 for row in csv.DictReader(fh) if row["Private"].strip() == "Y")
    assert expected > 0
    assert pm_source.not_restrictable == expected
    assert pm_source.private == frozenset()


def _snapshot(*, contact_sync: bool, admin: bool = True, **extra: Any) -> Any:
    person_fields = [{"field_code": "name", "field_name": "Name", "field_type": "varchar"}]
    if contact_sync:
        person_fields += [
            {"field_code": "birthday", "field_name": "Birthday", "field_type": "date"},
            {
                "field_code": "postal_address",
                "field_name": "Postal address",
                "field_type": "address",
            },
        ]
    person_fields += extra.get("person_fields", [])
    return snapshot_from_raw(
        users=[{"id": 1, "email": "boss@firm.example", "is_you": True, "is_admin": admin}],
        fields={
            "person": person_fields,
            "organization": [],
            "deal": extra.get("deal_fields", []),
            "product": [],
        },
        pipelines=extra.get("pipelines", []),
        stages=extra.get("stages", []),
        activity_types=[{"key_string": "meeting", "name": "Meeting"}, *extra.get("types", [])],
        daily_token_limit=extra.get("daily_token_limit"),
    )


def test_target_preparation_without_and_with_contact_sync(pm_source: Any) -> None:
    """Without Contact Sync postal_address becomes the custom "Address"; with it, none is made."""
    without = compose_plan(pm_source, _snapshot(contact_sync=False), Edits(), emails={})
    names = {(f.entity, f.name): f.field_type for f in without.plan.target.fields}
    assert names[("person", "Source ID")] == "varchar"
    assert names[("deal", "Source ID")] == "varchar"
    assert names[("deal", "Source Created Date")] == "date"
    assert names[("person", "Address")] == "address"
    assert names[("person", "Email missing")] == "enum"
    assert "contact_sync_fallback" in without.report["complexity"]["inputs"]["workarounds"]
    moved = [p for p in run_payloads_of(without, pm_source) if "postal_address" in p.fields]
    assert moved == []
    with_sync = compose_plan(pm_source, _snapshot(contact_sync=True), Edits(), emails={})
    assert with_sync.plan.target.contact_sync is True
    assert "contact_sync_fallback" not in with_sync.report["complexity"]["inputs"]["workarounds"]
    # the mapping's own custom "Address" stays; no extra fallback field appears
    assert len(with_sync.plan.target.fields) == len(without.plan.target.fields)
    assert without.plan.target.pipelines[0].name == "Matters"
    assert [(s.name, s.probability) for s in without.plan.target.pipelines[0].stages] == [
        ("Open", 50),
        ("On Hold", 30),
        ("Billed", 80),
    ]
    assert [t.name for t in without.plan.target.activity_types] == ["Court date"]


def run_payloads_of(composed: Any, source: Any) -> list[Any]:
    """The run payloads of a composed plan over ``source``."""
    from pdmigrate.plan.payloads import run_payloads

    return run_payloads(
        source.payloads,
        profile=source.mapping.profile,
        merges=composed.plan.merges,
        skips=composed.plan.skips,
        contact_sync=composed.plan.target.contact_sync,
    )


def test_existing_fields_pipelines_and_types_are_reused_by_name(pm_source: Any) -> None:
    """Equivalent names reuse the account's field, pipeline, stage and activity type."""
    snap = _snapshot(
        contact_sync=False,
        admin=False,
        deal_fields=[
            {
                "field_code": "a" * 40,
                "field_name": "Matter_Number__c",
                "field_type": "varchar",
                "is_custom_field": True,
            }
        ],
        pipelines=[{"id": 9, "name": "matters"}],
        stages=[{"id": 91, "pipeline_id": 9, "name": "Open"}],
        types=[{"key_string": "court_date", "name": "Court date"}],
    )
    composed = compose_plan(pm_source, snap, Edits(plan_name="premium", seats=2), emails={})
    reuse = composed.plan.target.reuse
    assert reuse[("deal", "Matter Number")] == "a" * 40
    assert reuse[("pipeline", "Matters")] == "9"
    assert reuse[("stage", "Matters/Open")] == "91"
    assert reuse[("activity_type", "Court date")] == "court_date"
    assert composed.report["target"]["stages_to_create"] == 2
    assert composed.report["target"]["pipelines_to_create"] == 0
    assert composed.plan.target.visible_to_company == 7
    assert composed.report["estimate"]["daily_budget"] == 300_000
    assert any("not an admin" in w for w in composed.plan.warnings)


def test_seats_come_from_the_daily_token_limit_else_active_users(pm_source: Any) -> None:
    """450,000 tokens a day on Premium is 3 seats; without the header, active users count."""
    from_header = compose_plan(
        pm_source,
        _snapshot(contact_sync=False, daily_token_limit=450_000),
        Edits(plan_name="premium"),
        emails={},
    )
    assert from_header.plan.seats == 3
    assert from_header.report["estimate"]["daily_budget"] == 450_000
    from_users = compose_plan(
        pm_source, _snapshot(contact_sync=False), Edits(plan_name="premium"), emails={}
    )
    assert from_users.plan.seats == 1  # one active user in the snapshot
    forced = compose_plan(
        pm_source,
        _snapshot(contact_sync=False, daily_token_limit=450_000),
        Edits(plan_name="premium", seats=5),
        emails={},
    )
    assert forced.plan.seats == 5


def test_lite_plan_flags_the_custom_field_cap(pm_source: Any) -> None:
    """practicemaster needs more than Lite's 30 custom fields: the cap is flagged and raises A."""
    composed = compose_plan(
        pm_source, _snapshot(contact_sync=False), Edits(plan_name="lite"), emails={}
    )
    cap = composed.report["caps"][0]
    assert cap["cap"] == "custom_fields"
    assert cap["limit"] == 30
    assert cap["planned"] == composed.report["target"]["fields_to_create"] > 30
    assert cap["exceeded"] is True
    assert composed.report["complexity"]["inputs"]["exceeded_caps"] == 1
    assert any(w.startswith("plan cap exceeded: custom_fields") for w in composed.plan.warnings)


def test_within_says_what_would_fit(core: Workspace) -> None:
    """--within 72h on Lite with one seat: the synth practice fits, and the JSON says so."""
    summary = run_plan(core, "--plan", "lite", "--seats", "1", "--within", "72h")
    window = summary["within"]
    assert window["window_hours"] == 72
    assert window["capacity_tokens"] == 90_000
    assert window["fits"] is True
    assert window["seats_needed"] == 1
    assert window["topup_tokens"] == 0
    assert window["advice"] == f"fits: {summary['tokens'] / 30_000:.2f} budget days within 3 days"


@pytest.mark.slow
def test_plan_estimate_equals_what_run_spends(tmp_path: Path, exports: dict[str, Path]) -> None:
    """On the practicemaster synth workspace, run charges exactly the planned tokens and calls."""
    from pdmigrate.pipeline import run_workspace

    ws = _workspace(tmp_path, exports, "practicemaster")
    first = run_plan(ws)
    fallback = next(u["email"] for u in first["owners"]["users"] if u["active"])
    summary = run_plan(ws, "--fallback-owner", fallback)
    assert summary["runnable"] is True
    result = run_workspace(ws)
    assert (result.tokens, result.requests) == (summary["tokens"], summary["requests"])
    assert len(result.failed) == summary["unattached"]["count"] + summary["files"]["missing"]
