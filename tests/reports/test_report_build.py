"""`pdmigrate report`: pages from state.db and workspace files, links, escaping, crash rebuild."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.reports.conftest import csv_rows

from pdmigrate.cli.report_cmd import report_command
from pdmigrate.errors import UsageError
from pdmigrate.plan import FieldSpec, Owners, PipelineSpec, Plan, StageSpec, TargetPrep
from pdmigrate.plan.model import plan_to_dict
from pdmigrate.reports.build import build_reports
from pdmigrate.state import State
from pdmigrate.workspace import Workspace, create_workspace

AS_OF = date(2025, 6, 30)
SCRIPT = "<script>alert('x')</script>"


class Links(HTMLParser):
    """Collects href/src attributes and tag names of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "href" and value is not None:
                self.hrefs.append(value)
            if name == "src" and value is not None:
                self.srcs.append(value)


def parse(path: Path) -> Links:
    """The links and tags of an HTML file."""
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


@pytest.fixture
def workspace(tmp_path: Path, synth_exports: Callable[[str], Path]) -> Workspace:
    """A fresh practicebynumbers workspace over synth exports (remote target: no sandbox)."""
    return create_workspace(
        tmp_path / "ws",
        source="practicebynumbers",
        exports=synth_exports("practicebynumbers"),
        target="https://example.pipedrive.com",
    )


def read_csv(path: Path) -> list[list[str]]:
    """A report CSV's rows (BOM stripped)."""
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def add_op(state: State, run_id: int, **values: Any) -> None:
    """Insert one op as the engine writes it."""
    row = {"stage": "person", "entity": "person", "kind": "create", "status": "done"}
    row |= {"updated_at": "2025-06-30T10:00:00Z", "run_id": run_id, **values}
    cols = ", ".join(row)
    state.conn.execute(
        f"INSERT INTO ops ({cols}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
    )


def test_fresh_workspace_links_only_sections_that_exist(workspace: Workspace) -> None:
    """Before any run the summary links source data and workflows; the rest is 'not run yet'."""
    summary = build_reports(workspace, as_of=AS_OF)
    reports = workspace.root / "reports"
    assert summary["available"] == ["source", "workflows"]
    assert summary["pages"] == ["index.html", "source.html", "workflows.html"]
    for key in ("audit", "owners", "plan", "progress", "sample", "verify", "failures"):
        assert summary["sections"][key] is None
    index = parse(reports / "index.html")
    pages = {h for h in index.hrefs if h.endswith(".html")}
    assert pages == {"index.html", "source.html", "workflows.html"}
    for href in index.hrefs:
        assert (reports / href).is_file(), href
    text = (reports / "index.html").read_text(encoding="utf-8")
    assert text.count("not run yet") == 7  # 6 sections + the reconciliation placeholder
    assert 'id="reconciliation" data-placeholder="not-run"' in text
    recalls = csv_rows(workspace.config.exports, "recalls")
    assert summary["sections"]["source"]["objects"]["recalls"]["rows"] == len(recalls)
    assert (workspace.root / "workflows.yaml").is_file()


def test_pages_are_self_contained(workspace: Workspace) -> None:
    """No page loads a script, stylesheet, font or image from anywhere; links stay local."""
    build_reports(workspace, as_of=AS_OF)
    for page in (workspace.root / "reports").glob("*.html"):
        links = parse(page)
        text = page.read_text(encoding="utf-8")
        assert not links.tags & {"script", "link", "img", "iframe", "object"}, page.name
        assert links.srcs == [], page.name
        assert "@import" not in text
        assert "url(" not in text
        assert all("://" not in h for h in links.hrefs), page.name
        assert "@media print" in text


def _sample_with_diff(state: Any, line: tuple[str, ...]) -> int:
    """A sample run with one sample_diff line (the table as the sample engine writes it)."""
    run_id: int = state.start_run("sample", profile="practicebynumbers")
    state.conn.execute(
        "CREATE TABLE sample_diff (run_id INTEGER, entity TEXT, source_key TEXT, field TEXT, "
        "source_value TEXT, expected TEXT, actual TEXT, status TEXT)"
    )
    state.conn.execute("INSERT INTO sample_diff VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (run_id, *line))
    return run_id


def test_source_values_are_escaped_everywhere(workspace: Workspace) -> None:
    """A <script> in a note, a Pipedrive error and owners.csv is shown as text on every page."""
    with workspace.state() as state:
        run_id = _sample_with_diff(
            state, ("note", "PR1/notes/1", "content", SCRIPT, SCRIPT, "alert", "mismatch")
        )
        add_op(state, run_id, source_key="PR1/patients/9", status="failed", error=SCRIPT)
        state.finish_run(run_id, "attention", {"note": SCRIPT})
    (workspace.root / "owners.csv").write_text(
        "staff,name,source_email,records,status,pipedrive_email,user_id\r\n"
        f"DOC1,{SCRIPT},,3,no_email,,\r\n",
        encoding="utf-8",
    )
    summary = build_reports(workspace, as_of=AS_OF)
    reports = workspace.root / "reports"
    for name in ("sample.html", "failures.html", "owners.html", "index.html"):
        assert name in summary["pages"]
        text = (reports / name).read_text(encoding="utf-8")
        assert "<script" not in text, name
        escaped = "&lt;script&gt;" if name == "index.html" else "&lt;script&gt;alert(&#39;x&#39;)"
        assert escaped in text, name
    diff_csv = read_csv(reports / "sample_diff.csv")
    assert diff_csv[1][4] == SCRIPT  # CSV keeps the value (a spreadsheet shows text)


def test_report_rebuilds_after_a_crashed_run(workspace: Workspace) -> None:
    """A run left 'running' with ops, id map and audit rows is reported with every record."""
    with workspace.state() as state:
        run_id = state.start_run("run", profile="practicebynumbers")
        add_op(state, run_id, source_key="k1", pipedrive_id="101", src_where="patients.csv:2")
        add_op(state, run_id, source_key="k2", kind="update", pipedrive_id="102",
               src_where="patients.csv:3")  # fmt: skip
        add_op(state, run_id, source_key="k3", status="failed",
               error="name: is required", src_where="patients.csv:4")  # fmt: skip
        add_op(state, run_id, stage="note", entity="note", source_key="n1", status="skipped",
               error="parent person failed", src_where="notes.csv:2")  # fmt: skip
        add_op(state, run_id, source_key="k4", status="started")
        state.conn.executemany(
            "INSERT INTO id_map (entity, source_key, pipedrive_id, origin, run_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [("person", "k1", "101", "created", run_id),
             ("person", "k2", "102", "matched_existing", run_id)],
        )  # fmt: skip
        state.conn.execute(
            "INSERT INTO audit (run_id, source_object, source_key, entity, pipedrive_id, field, "
            "old_value, new_value, at) VALUES (?, 'patients', 'k2', 'person', '102', 'phone', "
            "NULL, '=HYPERLINK(1)', '2025-06-30T10:00:01Z')",
            (run_id,),
        )
    summary = build_reports(workspace, as_of=AS_OF)
    reports = workspace.root / "reports"
    assert summary["incomplete_runs"] == [run_id]
    run = next(r for r in summary["runs"] if r["id"] == run_id)
    assert run["ops"] == {"done": 2, "failed": 1, "skipped": 1, "started": 1}
    assert "incomplete (crashed or still running)" in (reports / "index.html").read_text("utf-8")
    assert read_csv(reports / "success_person.csv") == [
        ["ID", "SOURCE_KEY", "SOURCE_PLACE", "KIND", "RUN_ID", "STATUS"],
        ["101", "k1", "patients.csv:2", "create", str(run_id), "Item Created"],
        ["102", "k2", "patients.csv:3", "update", str(run_id), "Item Updated"],
    ]
    assert read_csv(reports / "error_person.csv") == [
        ["SOURCE_KEY", "SOURCE_PLACE", "KIND", "RUN_ID", "STATUS", "ERROR"],
        ["k3", "patients.csv:4", "create", str(run_id), "failed", "name: is required"],
    ]
    assert read_csv(reports / "error_note.csv")[1][-1] == "parent person failed"
    assert read_csv(reports / "audit_log.csv")[1] == [
        str(run_id), "patients", "k2", "person", "102", "phone", "", "'=HYPERLINK(1)",
        "2025-06-30T10:00:01Z",
    ]  # fmt: skip
    assert summary["sections"]["progress"] == {
        "ops": {
            "note": {"skipped": 1},
            "person": {"done": 2, "failed": 1, "started": 1},
        },
        "id_map": {"person": {"created": 1, "matched_existing": 1}},
    }
    failures = summary["sections"]["failures"]
    assert [(o["source_key"], o["status"], o["reason"]) for o in failures["ops"]] == [
        ("n1", "skipped", "parent person failed"),
        ("k3", "failed", "name: is required"),
    ]
    assert "failures.html" in parse(reports / "index.html").hrefs


def test_summary_covers_every_run_kind_and_shows_the_reconciliation(workspace: Workspace) -> None:
    """Samples, runs, deltas, rollbacks and verify appear; the verify buckets fill the table."""
    verify = {
        "ok": True,
        "objects": {
            "patients": {"source_rows": 40, "migrated": 37, "merged": 1, "skipped": 1,
                         "failed": 1, "quarantined": 0, "found": 37, "fill": {"Email": 92.5}},
        },
        "fields": {"checked": 370, "mismatched": 0},
        "accuracy": 1.0,
        "tokens": 14,
    }  # fmt: skip
    with workspace.state() as state:
        for kind in ("sample", "run", "delta", "rollback"):
            state.finish_run(state.start_run(kind), "done", {"created": {"person": 3, "deal": 2}})
        verify_id = state.start_run("verify")
        state.finish_run(verify_id, "done", verify)
    summary = build_reports(workspace, as_of=AS_OF)
    kinds = [r["kind"] for r in summary["runs"]]
    assert kinds == ["init", "sample", "run", "delta", "rollback", "verify"]
    assert summary["sections"]["verify"]["objects"] == verify["objects"]
    reports = workspace.root / "reports"
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert '<table id="reconciliation">' in index
    row = (
        '<tr><td>patients</td><td class="n">40</td><td class="n">37</td><td class="n">1</td>'
        '<td class="n">1</td><td class="n">1</td><td class="n">0</td><td class="n">37</td></tr>'
    )
    assert row in index
    assert "Fields checked <b>370</b>" in index
    assert index.count("created: deal 2, person 3") == 4
    assert "verify.html" in parse(reports / "index.html").hrefs
    verify_page = (reports / "verify.html").read_text(encoding="utf-8")
    assert 'data-value="92.5"' in verify_page


def test_plan_page_shows_each_fields_key_per_account(workspace: Workspace) -> None:
    """A field's key comes from field_keys, else the plan's reuse, else 'created by run'."""
    prep = TargetPrep(
        fields=(
            FieldSpec("person", "Source ID", "varchar"),
            FieldSpec("person", "Insurance Provider", "varchar"),
            FieldSpec("deal", "Insurance Estimate", "monetary"),
        ),
        pipelines=(PipelineSpec("Hygiene", (StageSpec("Planned", 10), StageSpec("Won", None))),),
        activity_types=(),
        contact_sync=False,
        visible_to_company=3,
        reuse={("person", "Insurance Provider"): "b" * 40},
    )
    plan = Plan(target=prep, owners=Owners({}, None, ()), merges={}, existing={},
                counts={"person": 40}, tokens=900, days=0.02, grade="B")  # fmt: skip
    (workspace.root / "plan.json").write_text(json.dumps(plan_to_dict(plan)), encoding="utf-8")
    with workspace.state() as state:
        state.conn.execute(
            "INSERT INTO field_keys (account, entity, name, key, origin) "
            "VALUES ('1', 'person', 'Source ID', ?, 'created')",
            ("a" * 40,),
        )
        state.conn.executemany(
            "INSERT INTO field_keys (account, entity, name, key, origin) VALUES ('1', ?, ?, ?, ?)",
            [("pipeline", "Hygiene", "7", "created"), ("stage", "Hygiene/Planned", "21", "reused")],
        )
    summary = build_reports(workspace, as_of=AS_OF, scan=False)
    fields = summary["sections"]["plan"]["fields"]
    assert [(f["name"], f["key"], f["origin"]) for f in fields] == [
        ("Source ID", "a" * 40, "created"),
        ("Insurance Provider", "b" * 40, "reused"),
        ("Insurance Estimate", "", "pending"),
    ]
    assert summary["sections"]["plan"]["pipelines"] == [
        {"name": "Hygiene", "id": "7", "stages": [["Planned", 10, "21"], ["Won", None, None]]}
    ]
    page = (workspace.root / "reports" / "plan.html").read_text(encoding="utf-8")
    assert f"<code>{'a' * 40}</code>" in page
    assert "created by run" in page
    assert summary["sections"]["workflows"] is None  # --no-scan


def test_cli_json_matches_report_json(workspace: Workspace) -> None:
    """`report --json` prints the summary that report.json holds; a bad --as-of is a UsageError."""
    runner = CliRunner()
    result = runner.invoke(
        report_command, ["-w", str(workspace.root), "--json", "--as-of", "2025-06-30"]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    saved = json.loads((workspace.root / "reports" / "report.json").read_text(encoding="utf-8"))
    assert printed == saved
    assert {"runs", "sections", "available", "pages", "files", "incomplete_runs", "index"} <= set(
        printed
    )
    assert printed["as_of"] == "2025-06-30"
    bad = runner.invoke(report_command, ["-w", str(workspace.root), "--as-of", "30/06/2025"])
    assert isinstance(bad.exception, UsageError)


def test_audit_section_links_the_audits_own_page_and_quarantine(workspace: Workspace) -> None:
    """After `pdmigrate audit` the summary links audit.html and lists quarantined rows."""
    from pdmigrate.cli import cli

    result = CliRunner().invoke(cli, ["audit", "-w", str(workspace.root)])
    assert result.exit_code == 0, result.output
    summary = build_reports(workspace, as_of=AS_OF, scan=False)
    reports = workspace.root / "reports"
    assert "audit.html" in parse(reports / "index.html").hrefs
    assert "audit.html" in summary["pages"]
    quarantined = read_csv(reports / "quarantine.csv")[1:]
    audit = summary["sections"]["audit"]
    assert audit["summary"]["quarantined"] == len(quarantined)
    assert len(summary["sections"]["failures"]["quarantine"]) == len(quarantined)
    assert summary["sections"]["failures"]["ops_run"] is False
    page = (reports / "failures.html").read_text(encoding="utf-8")
    assert "No migration run yet." in page


def test_report_without_the_exports_still_builds_from_state(
    tmp_path: Path, synth_exports: Callable[[str], Path]
) -> None:
    """When the exports folder is gone, the source and workflow sections are 'not run yet'."""
    import shutil

    exports = tmp_path / "exports"
    shutil.copytree(synth_exports("visualpractice"), exports)
    ws = create_workspace(
        tmp_path / "ws", source="visualpractice", exports=exports, target="sandbox"
    )
    shutil.rmtree(exports)
    summary = build_reports(ws, as_of=AS_OF)
    assert summary["sections"]["source"] is None
    assert summary["sections"]["workflows"] is None
    assert summary["available"] == []
    assert summary["pages"] == ["index.html"]
    assert [r["kind"] for r in summary["runs"]] == ["init"]


def test_sample_page_lists_the_strata_it_could_not_cover(workspace: Workspace) -> None:
    """The sample run's strata summary shows on sample.html, each uncovered stratum listed."""
    with workspace.state() as state:
        run_id = _sample_with_diff(
            state, ("person", "PR1/patients/1", "name", "A", "A", "A", "match")
        )
        strata = {"total": 12, "covered": 10, "uncovered": ["deal stage: Lost", "file"]}
        state.finish_run(run_id, "done", {"strata": strata})
    build_reports(workspace, as_of=AS_OF)
    page = (workspace.root / "reports" / "sample.html").read_text(encoding="utf-8")
    assert "covers <b>10</b> of 12 strata" in page
    assert '<ul id="uncovered"><li>deal stage: Lost</li><li>file</li></ul>' in page


def test_reconciliation_shows_skip_reasons_and_rows_accounted(workspace: Workspace) -> None:
    """Skipped rows carry their reasons; the line under the table says rows accounted for."""
    verify = {
        "ok": True,
        "objects": {
            "family": {"source": 30, "migrated": 6, "merged": 0, "skipped": 24, "failed": 0,
                       "quarantined": 0, "records": 2, "why": {"no family": 24}},
        },
        "rows": {"total": 247, "accounted": 247},
        "fields": {"checked": 10, "mismatched": 0},
        "accuracy": 100.0,
        "tokens": 14,
    }  # fmt: skip
    with workspace.state() as state:
        state.finish_run(state.start_run("verify"), "done", verify)
    build_reports(workspace, as_of=AS_OF)
    page = (workspace.root / "reports" / "verify.html").read_text(encoding="utf-8")
    assert '<td class="why">no family (24)</td>' in page
    assert 'accounted for <b class="good">247</b>' in page
