"""plan's pure parts: owners, dedup, run payloads, estimate, caps, complexity, target."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pdmigrate.cli import plan_cmd
from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan import dedup, estimate, owners
from pdmigrate.plan.account import AccountUser, snapshot_from_raw
from pdmigrate.plan.complexity import complexity, grade_of
from pdmigrate.plan.model import Owners, Plan, TargetPrep, plan_from_dict, plan_to_dict
from pdmigrate.plan.payloads import run_payloads
from pdmigrate.sandbox.plans import get_plan

USERS = (
    AccountUser(1, "Admin", "admin@practice.example", True, admin=True, is_you=True),
    AccountUser(2, "Lee Park", "lee@practice.example", True),
    AccountUser(3, "Gone Away", "gone@practice.example", False),
)


def person(key: str, name: str, email: str = "", birthday: str = "", **links: Ref) -> Payload:
    """A person payload as apply makes it."""
    fields: dict[str, object] = {"name": name}
    if email:
        fields["emails"] = [{"value": email, "primary": True, "label": "home"}]
    if birthday:
        fields["birthday"] = birthday
    return Payload("patient", "person", f"sys/patient/{key}", fields, dict(links), f"p.csv:{key}")


# --- owners ------------------------------------------------------------------------------


def test_owners_matched_unmatched_inactive_user_and_inactive_staff() -> None:
    """Active users match by email (any case); deactivated users and inactive staff do not."""
    staff = [
        owners.Staff("LP", "Park, Lee", "LEE@practice.example", True, 7),
        owners.Staff("GA", "Away, Gone", "gone@practice.example", True, 3),
        owners.Staff("OLD", "Old, Staff", "admin@practice.example", False, 2),
        owners.Staff("4", "4", "", True, 5),
        owners.Staff("XY", "", "nobody@practice.example", True, 1),
    ]
    who, rows, warnings = owners.resolve_owners(staff, USERS)
    assert who.by_staff == {"LP": 2}
    assert who.unmatched == ("GA", "OLD", "4", "XY")
    assert who.fallback_user_id is None
    assert not who.runnable
    assert [r.status for r in rows] == [
        "matched",
        "inactive_user",
        "inactive_staff",
        "no_email",
        "not_found",
        "unset",
    ]
    assert rows[-1].staff == owners.FALLBACK_ROW
    assert rows[-1].records == 11
    assert warnings == []


def test_owners_csv_edits_and_fallback_row_are_read_back() -> None:
    """A filled-in pipedrive_email matches the staff; the *fallback* row sets the fallback."""
    staff = [owners.Staff("4", "4", "", True, 5), owners.Staff("7", "7", "", True, 2)]
    _, rows, _ = owners.resolve_owners(staff, USERS)
    text = owners.render_owners_csv(rows)
    edited = text.replace("4,4,,5,no_email,,", "4,4,,5,no_email,Lee@Practice.example,")
    edited = edited.replace(
        "*fallback*,records of unmatched staff,,7,unset,,", "*fallback*,,,,,admin@practice.example,"
    )
    edits, fallback = owners.parse_owners_csv(edited)
    assert edits == {"4": "Lee@Practice.example"}
    assert fallback == "admin@practice.example"
    who, rows2, _ = owners.resolve_owners(staff, USERS, edits=edits, fallback_email=fallback)
    assert who.by_staff == {"4": 2}
    assert who.unmatched == ("7",)
    assert who.fallback_user_id == 1
    assert who.runnable
    assert who.user_for("7") == 1
    assert who.user_for("4") == 2
    assert [r.status for r in rows2] == ["edited", "no_email", "fallback"]


def test_owners_csv_edit_naming_a_deactivated_user_stays_unmatched() -> None:
    """An edit pointing at a deactivated user is unmatched, with a warning naming owners.csv."""
    who, rows, warnings = owners.resolve_owners(
        [owners.Staff("9", "9", "", True, 1)], USERS, edits={"9": "gone@practice.example"}
    )
    assert who.unmatched == ("9",)
    assert rows[0].status == "inactive_user"
    assert warnings == ["owners.csv: staff '9': the email written for it is a deactivated user"]


def test_fallback_owner_option_must_be_an_active_user() -> None:
    """--fallback-owner naming a deactivated user is a usage error (exit 2)."""
    with pytest.raises(UsageError, match="--fallback-owner: that email is a deactivated user"):
        owners.resolve_owners(
            [], USERS, fallback_email="gone@practice.example", fallback_from_option=True
        )


def test_collect_staff_reads_refs_fields_and_last_first_staff_records() -> None:
    """Owner refs and owner_id/user_id fields count records; staff records give emails."""
    payloads = [
        Payload(
            "staff",
            "user",
            "sys/staff/P01",
            {"name": "Park, Lee", "email": "lee@practice.example", "active": True},
        ),
        Payload(
            "appt", "activity", "sys/appt/1", {}, {"owner_id": Ref("user", "Park, Lee", "name")}
        ),
        Payload(
            "appt", "activity", "sys/appt/2", {}, {"owner_id": Ref("user", "Lee Park", "name")}
        ),
        Payload("pat", "person", "sys/pat/1", {"owner_id": "Park, Lee"}),
        Payload("note", "note", "sys/note/1", {"user_id": "GCHEN"}),
    ]
    staff = owners.collect_staff(payloads)
    assert staff == [
        owners.Staff("Park, Lee", "Park, Lee", "lee@practice.example", True, 2),
        owners.Staff("GCHEN", "", "", True, 1),
        owners.Staff("Lee Park", "Park, Lee", "lee@practice.example", True, 1),
    ]


def test_owners_csv_keeps_formulas_out_of_spreadsheets() -> None:
    """A staff value starting with = is written quoted and read back unchanged."""
    _, rows, _ = owners.resolve_owners([owners.Staff("=cmd", "", "", True, 1)], USERS)
    text = owners.render_owners_csv(rows)
    assert "\n'=cmd," in text
    edits, _ = owners.parse_owners_csv(
        text.replace("'=cmd,,,1,no_email,,", "'=cmd,,,1,no_email,lee@practice.example,")
    )
    assert edits == {"=cmd": "lee@practice.example"}


# --- dedup -------------------------------------------------------------------------------


def test_source_dedup_needs_email_plus_birth_date_or_close_name() -> None:
    """Email + DOB merges, email + 90% name merges, email alone never, different DOBs never."""
    people = dedup.candidates(
        [
            person("1", "Blake Sutton", "b@x.example", "1980-01-02"),
            person("2", "B. Sutton", "b@x.example", "1980-01-02"),
            person("3", "Sutton, Blake", "b@x.example"),
            person("4", "Mia Sutton", "b@x.example"),
            person("5", "Blake Sutton", "b@x.example", "2011-05-06"),
            person("6", "Blake Sutton", "other@x.example", "1980-01-02"),
        ]
    )
    pairs = dedup.propose_pairs(people)
    assert [(p.source_key, p.keep_key, p.decision) for p in pairs] == [
        ("sys/patient/2", "sys/patient/1", "merge"),
        ("sys/patient/3", "sys/patient/1", "merge"),
        ("sys/patient/6", "sys/patient/1", "keep apart"),
    ]
    assert pairs[0].reason == "same email and date of birth"
    assert pairs[1].reason == "same email, names 100% alike"


def test_decisions_csv_is_read_back_and_bad_values_name_the_line() -> None:
    """Edited decisions win; merge chains resolve to the root; skip is remembered."""
    pairs = [
        dedup.Proposal("k/2", "k/1", "merge", "r"),
        dedup.Proposal("k/3", "k/2", "merge", "r"),
        dedup.Proposal("k/4", "k/1", "merge", "r"),
        dedup.Proposal("k/5", "k/1", "keep apart", "r"),
    ]
    text = dedup.render_decisions_csv(pairs)
    text = text.replace("k/4,k/1,merge", "k/4,k/1,skip").replace(
        "k/5,k/1,keep apart", "k/5,k/1,Merge"
    )
    edits = dedup.parse_decisions_csv(text)
    decided = dedup.apply_decisions(pairs, edits)
    merges, skips = dedup.merges_of(decided)
    assert merges == {"k/2": "k/1", "k/3": "k/1", "k/4": "k/1", "k/5": "k/1"}
    assert skips == frozenset({"k/4"})
    with pytest.raises(ConfigError, match=r"decisions.csv:3: decision must be one of"):
        dedup.parse_decisions_csv(text.replace("k/3,k/2,merge", "k/3,k/2,maybe"))


def test_account_match_by_email_skips_merged_duplicates() -> None:
    """A kept person with an email already in the account links to that person's id."""
    people = dedup.candidates([person("1", "A", "a@x.example"), person("2", "A", "a@x.example")])
    found = dedup.match_existing(people, {"sys/patient/2": "sys/patient/1"}, {"a@x.example": 77})
    assert found == {"sys/patient/1": 77}


# --- run payloads --------------------------------------------------------------------------


def test_run_payloads_fold_merges_updates_and_contact_sync() -> None:
    """Duplicates fold into the kept person, links follow, updates fold, DOB moves to custom."""
    payloads = [
        Payload(
            "appt",
            "activity",
            "sys/appt/1",
            {"subject": "x"},
            {"participants": (Ref("patient", "2"),)},
        ),
        person("1", "Blake Sutton", "b@x.example"),
        person("2", "Blake Sutton", "b@x.example", "1980-01-02"),
        person("3", "Skip Me", "s@x.example", "1990-01-01"),
        Payload(
            "fund",
            "person",
            "sys/fund/1",
            {"Insurer": "NIB", "name": "ignored"},
            {},
            "",
            Ref("patient", "1"),
        ),
        Payload("staff", "user", "sys/staff/1", {"name": "Lee"}),
        Payload("org", "organization", "sys/org/1", {"name": "Family"}),
    ]
    out = run_payloads(
        payloads,
        profile="sys",
        merges={"sys/patient/2": "sys/patient/1", "sys/patient/3": "sys/patient/1"},
        skips=frozenset({"sys/patient/3"}),
        contact_sync=False,
    )
    assert [(p.entity, p.source_key) for p in out] == [
        ("organization", "sys/org/1"),
        ("person", "sys/patient/1"),
        ("activity", "sys/appt/1"),
    ]
    kept = out[1]
    assert kept.fields == {
        "name": "Blake Sutton",
        "emails": [{"value": "b@x.example", "primary": True, "label": "home"}],
        "Date of Birth": "1980-01-02",
        "Insurer": "NIB",
    }
    assert out[2].links["participants"] == (Ref("patient", "1", "key"),)


# --- estimate ------------------------------------------------------------------------------


def _mix() -> list[Payload]:
    out = [person(str(i), f"P{i}") for i in range(10)]
    out += [Payload("n", "note", f"sys/n/{i}", {"content": "x"}) for i in range(4)]
    out += [Payload("d", "deal", f"sys/d/{i}", {"title": "x"}) for i in range(2)]
    out += [
        Payload("li", "deal_product", f"sys/li/a{i}", {}, {"deal_id": Ref("d", "0")})
        for i in range(3)
    ]
    out += [
        Payload("li", "deal_product", f"sys/li/b{i}", {}, {"deal_id": Ref("d", "1")})
        for i in range(10)
    ]
    out.append(Payload("o", "organization", "sys/o/1", {"name": "x"}, {"parent": Ref("o", "2")}))
    return out


def test_token_and_day_estimate_is_exact_for_a_known_op_mix() -> None:
    """Σ calls × x-token-cost, and days = max(tokens/budget, writes/10,000)."""
    ops = estimate.count_ops(
        _mix(),
        fields_to_create={"person": 2, "deal": 1},
        activity_types=1,
        existing={"sys/patient/9"},
    )
    assert ops.counts == {
        "field": 3,
        "activity_type": 1,
        "person": 9,
        "matched_existing": 1,
        "note": 4,
        "deal": 2,
        "deal_product": 13,
        "organization": 1,
        "organization_parent": 1,
    }
    # fields 3x5 + type 10 + persons 9x5 + update 5 + notes 4x10 + deals 2x5
    # + 3 single line items 3x5 + one bulk of 10 = 25 + org 5 + relationship 10
    # + prepare reads 4x10 + 5 + 5 + 20
    assert ops.tokens == 15 + 10 + 45 + 5 + 40 + 10 + 15 + 25 + 5 + 10 + 70
    assert ops.writes == 3 + 1 + 9 + 1 + 4 + 2 + 3 + 1 + 1 + 1
    est = estimate.estimate(ops, get_plan("growth"), 1)
    assert est.daily_budget == 60_000
    assert est.days == pytest.approx(250 / 60_000)
    assert est.calendar_days == 1
    assert est.burst_hours == pytest.approx(ops.requests / 20 / 3600)


def test_fair_use_cap_and_budget_days_for_a_large_migration() -> None:
    """150k tokens on Lite: 5 budget days; 25,000 writes: 2.5 fair-use days."""
    ops = estimate.Ops({"persons.create": 25_000, "persons.list": 2_500}, {"person": 25_000})
    assert ops.tokens == 150_000
    assert ops.writes == 25_000
    est = estimate.estimate(ops, get_plan("lite"), 1)
    assert (est.budget_days, est.fair_use_days, est.days, est.calendar_days) == (5.0, 2.5, 5.0, 5)
    fit = estimate.within(ops, get_plan("lite"), 1, timedelta(hours=72))
    assert fit["fits"] is False
    assert (fit["capacity_tokens"], fit["seats_needed"], fit["topup_tokens"]) == (90_000, 2, 60_000)
    assert fit["advice"] == "needs 2 seats on lite, or a top-up of 60000 tokens"
    writes_bound = estimate.within(
        estimate.Ops({"persons.create": 40_000}, {}), get_plan("ultimate"), 5, timedelta(days=3)
    )
    assert writes_bound["fair_use_ok"] is False
    assert writes_bound["fits"] is False
    assert "more seats do not lift it: allow 4 days" in writes_bound["advice"]
    quick = estimate.Ops({"persons.create": 5_000}, {"person": 5_000})
    short = estimate.within(quick, get_plan("ultimate"), 10, timedelta(seconds=10))
    assert short["capacity_tokens"] == 2_100_000
    assert short["fits"] is False
    assert short["advice"] == "the API time alone (1.4 min) exceeds the window"
    assert estimate.within(quick, get_plan("ultimate"), 10, timedelta(minutes=2))["fits"] is True


def test_plan_caps_are_flagged() -> None:
    """Lite: 30 custom fields, 2,500 deals + leads per seat."""
    caps = estimate.caps(get_plan("lite"), 1, custom_fields_total=31, deals=2_400, leads=100)
    assert [(c["cap"], c["limit"], c["planned"], c["exceeded"]) for c in caps] == [
        ("custom_fields", 30, 31, True),
        ("deals_plus_leads", 2_500, 2_500, False),
    ]
    many = estimate.caps(get_plan("ultimate"), 20, custom_fields_total=0, deals=300_001, leads=0)
    assert many[1]["limit"] == 300_000
    assert many[1]["exceeded"] is True


# --- complexity ------------------------------------------------------------------------------


def test_grade_for_the_landing_rules_example_inputs() -> None:
    """practicemaster 64% compatibility, confidence 0.9, 2 days, 3 workarounds -> B (0.276)."""
    c = complexity(
        compatibility_percent=64,
        confidences=[1.0, 0.8, 0.9],
        days=2.0,
        workarounds=["markers", "deal_date_fields", "organization_relationships"],
        exceeded_caps=0,
    )
    assert c.scores == pytest.approx({"O": 0.36, "F": 0.1, "V": 0.2, "A": 0.5})
    assert c.overall == pytest.approx(0.35 * 0.36 + 0.25 * 0.1 + 0.25 * 0.2 + 0.15 * 0.5)
    assert c.grade == "B"
    assert c.grades == {"O": "C", "F": "A", "V": "B", "A": "D"}
    assert c.to_dict()["inputs"]["W"] == 3
    capped = complexity(
        compatibility_percent=64,
        confidences=[1.0, 0.8, 0.9],
        days=12.0,
        workarounds=["markers", "deal_date_fields", "organization_relationships"],
        exceeded_caps=1,
    )
    assert capped.scores["V"] == 1.0
    assert capped.scores["A"] == 5 / 6
    assert capped.overall == pytest.approx(0.126 + 0.025 + 0.25 + 0.15 * 5 / 6)
    assert capped.grade == "D"
    assert [grade_of(x) for x in (0.0, 0.1999, 0.2, 0.3499, 0.35, 0.4999, 0.5)] == list("AABBCCD")


# --- target and the plan model -----------------------------------------------------------------


def test_snapshot_contact_sync_admin_and_plan_hint() -> None:
    """personFields with birthday/postal_address means Contact Sync; is_you gives the token user."""
    snap = snapshot_from_raw(
        users=[
            {"id": 5, "email": "a@x", "is_you": True, "access": [{"app": "sales", "admin": False}]}
        ],
        fields={
            "person": [
                {"field_code": "birthday", "field_name": "Birthday", "field_type": "date"},
                {
                    "field_code": "postal_address",
                    "field_name": "Postal address",
                    "field_type": "address",
                },
            ]
        },
        burst_limit=100,
    )
    assert snap.contact_sync is True
    assert snap.me is not None
    assert snap.me.admin is False
    assert snap.plan_hint == "premium"


def test_plan_json_round_trip_and_visibility() -> None:
    """plan.json keeps every decision; private source keys are owner-only (visible_to 1)."""
    prep = TargetPrep((), (), (), False, 7, {("person", "Source ID"): "k" * 40})
    plan = Plan(
        prep,
        Owners({"4": 2}, 1, ("7",), "admin@practice.example"),
        {"a": "b"},
        {"b": 9},
        {"person": 1},
        5,
        0.1,
        "A",
        private=frozenset({"sys/patient/1"}),
        plan_name="premium",
    )
    assert plan_from_dict(plan_to_dict(plan)) == plan
    assert plan.visible_to("sys/patient/1") == 1
    assert plan.visible_to("sys/patient/2") == 7


# --- the command's own parsing ----------------------------------------------------------------


def test_within_durations_parse_and_bad_ones_are_usage_errors() -> None:
    """72h, 3d, 1d12h, 90m parse; 72, 0h and 3 weeks are usage errors naming --within."""
    assert plan_cmd.parse_window("72h") == timedelta(hours=72)
    assert plan_cmd.parse_window("3d") == timedelta(days=3)
    assert plan_cmd.parse_window("1d12h") == timedelta(hours=36)
    assert plan_cmd.parse_window("90m") == timedelta(minutes=90)
    for bad in ("72", "0h", "3 weeks", ""):
        with pytest.raises(UsageError, match="--within"):
            plan_cmd.parse_window(bad)


def test_plan_help_has_every_option_and_an_example() -> None:
    """--help lists the options and keeps the Example block unwrapped."""
    result = CliRunner().invoke(plan_cmd.COMMANDS[0], ["--help"])
    assert result.exit_code == 0
    for option in ("--fallback-owner", "--within", "--plan", "--seats", "--workspace", "--json"):
        assert option in result.output
    assert "Example:\n    pdmigrate plan -w clinic\n" in result.output


# --- field specs from a mapping ------------------------------------------------------------

MAPPING = """\
version: 1
profile: sys
settings: {country: AU, timezone: Australia/Sydney, currency: AUD, date_order: dmy}
value_maps:
  status: {A: Active, I: Inactive, X: null}
activity_types: [Appointment, Call]
objects:
- id: patient
  source: [patients]
  targets: [person]
  cardinality: one_to_one
  key: [ID]
  source_id: true
  email_missing: true
  fields:
  - {column: DOB, field: birthday}
  - {column: Status, field: Patient Status, custom: enum, values: status}
  - {column: Notes, field: Medical Alerts, custom: varchar}
- id: enquiry
  source: [enquiries]
  targets: [lead]
  cardinality: one_to_one
  key: [ID]
  fields:
  - {column: Source, field: Lead Source, custom: varchar}
"""


def test_field_specs_from_lines_value_maps_identity_fields_and_long_values() -> None:
    """Value-map labels become options; long varchar values make text; leads use deal fields."""
    from pdmigrate.mapping.io import parse_text
    from pdmigrate.plan.target import activity_type_specs, field_specs

    mapping, _ = parse_text(MAPPING)
    payloads = [
        Payload(
            "patient",
            "person",
            "sys/patient/1",
            {"Patient Status": "Active", "Medical Alerts": "x" * 256},
        ),
        Payload("patient", "person", "sys/patient/2", {"Patient Status": "Archived"}),
        Payload("enquiry", "lead", "sys/enquiry/1", {"Lead Source": "Web"}),
        Payload("appt", "activity", "sys/appt/1", {"type": "Recall visit"}),
    ]
    specs = field_specs(mapping, payloads, contact_sync=False)
    assert [(f.entity, f.name, f.field_type, f.options) for f in specs] == [
        ("person", "Source ID", "varchar", ()),
        ("person", "Email missing", "enum", ("Yes",)),
        ("person", "Date of Birth", "date", ()),
        ("person", "Patient Status", "enum", ("Active", "Inactive", "Archived")),
        ("person", "Medical Alerts", "text", ()),
        ("deal", "Lead Source", "varchar", ()),
    ]
    with_sync = field_specs(mapping, payloads, contact_sync=True)
    assert ("person", "Date of Birth") not in {(f.entity, f.name) for f in with_sync}
    types = activity_type_specs(mapping, payloads)
    assert [(t.name, t.icon_key) for t in types] == [
        ("Appointment", "calendar"),
        ("Recall visit", "calendar"),
    ]


def test_unattached_records_are_found_by_key_links_only() -> None:
    """A note whose every parent is missing, or an update of a missing record, is unattached."""
    from pdmigrate.plan.payloads import unattached

    payloads = [
        person("1", "A"),
        Payload("n", "note", "sys/n/1", {}, {"person_id": Ref("patient", "1")}),
        Payload(
            "n", "note", "sys/n/2", {}, {"person_id": Ref("patient", "9"), "deal_id": Ref("d", "9")}
        ),
        Payload(
            "n",
            "note",
            "sys/n/3",
            {},
            {"person_id": Ref("patient", "9"), "deal_id": Ref("user", "x", "name")},
        ),
        Payload("f", "person", "sys/f/1", {"X": 1}, {}, "", Ref("patient", "9")),
        Payload("f", "person", "sys/f/2", {"X": 1}, {}, "", Ref("patient", "1")),
    ]
    found = unattached(payloads, "sys", ["patient", "n", "d", "f"])
    assert [p.source_key for p in found] == ["sys/n/2", "sys/f/1"]


def test_missing_and_oversized_attachments(tmp_path: Path) -> None:
    """A file missing from the attachments folder, or over max_file_mb, is reported."""
    from pdmigrate.plan.source import file_problems

    (tmp_path / "small.pdf").write_bytes(b"%PDF" + b"0" * 100)
    (tmp_path / "big.pdf").write_bytes(b"0" * (1024 * 1024 + 1))
    files = [
        Payload("doc", "file", f"sys/doc/{n}", {"file_name": n})
        for n in ("small.pdf", "big.pdf", "gone.pdf")
    ]
    missing, big = file_problems(files, tmp_path, 1)
    assert [p.source_key for p in missing] == ["sys/doc/gone.pdf"]
    assert [p.source_key for p in big] == ["sys/doc/big.pdf"]
    nowhere, _ = file_problems(files, None, 1)
    assert len(nowhere) == 3


def test_owners_csv_accepts_a_user_id_instead_of_an_email() -> None:
    """A user_id written in owners.csv (no email) matches that active user, fallback too."""
    staff = [owners.Staff("PBN-JD", "", "", True, 4)]
    _, rows, _ = owners.resolve_owners(staff, USERS)
    text = owners.render_owners_csv(rows)
    text = text.replace("PBN-JD,,,4,no_email,,", "PBN-JD,,,4,no_email,,2")
    text = text.replace("*fallback*,records of unmatched staff,,4,unset,,", "*fallback*,,,,,,1")
    edits, fallback = owners.parse_owners_csv(text)
    assert edits == {"PBN-JD": "#2"}
    assert fallback == "#1"
    who, rows2, _ = owners.resolve_owners(staff, USERS, edits=edits, fallback_email=fallback)
    assert who.by_staff == {"PBN-JD": 2}
    assert who.fallback_user_id == 1
    assert who.fallback_email == "admin@practice.example"
    assert (rows2[0].status, rows2[0].pipedrive_email) == ("edited", "lee@practice.example")
    assert rows2[1].pipedrive_email == "admin@practice.example"
