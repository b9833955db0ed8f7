"""Sample, verify and demo on a synth corepractice workspace against its embedded sandbox.

The ``flow`` fixture (conftest) runs the demo flow for one profile (synth 30 patients, init, audit,
map, confirm, plan, sample, run, verify, report); the tests read what it left and then
tamper with the sandbox behind the tool's back.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from click.testing import CliRunner

from pdmigrate.cli import proof_cmd
from pdmigrate.demo import DemoResult
from pdmigrate.verify import BUCKETS
from pdmigrate.workspace import load_workspace

SAMPLE, VERIFY = proof_cmd.COMMANDS

pytestmark = pytest.mark.slow


def _manifest(res: DemoResult) -> dict[str, Any]:
    path = res.workspace.parent / "exports" / "synth_manifest.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_demo_flow_verifies_and_writes_the_report(flow: DemoResult) -> None:
    """The one-profile demo ends with verify ok, accuracy 100 and the HTML summary written."""
    assert flow.ok
    assert flow.verify["fields"]["mismatched"] == 0
    assert flow.verify["fields"]["checked"] > 500
    assert flow.verify["accuracy"] == 100.0
    assert flow.report is not None
    html = flow.report.read_text(encoding="utf-8")
    assert "sample.html" in html
    assert "verify.html" in html
    assert flow.sample["diff"]["mismatch"] == 0


def test_buckets_add_up_to_the_synth_composition(flow: DemoResult) -> None:
    """Each object's buckets sum to its source count, which equals the manifest's rows."""
    objects = flow.verify["objects"]
    for name, row in objects.items():
        assert row["source"] == sum(row[b] for b in BUCKETS), name
    counts = _manifest(flow)["objects"]
    assert objects["patient_person"]["source"] == counts["patients"]
    assert objects["appointment_activity"]["source"] == counts["appointments"]
    assert objects["clinical_note"]["source"] == counts["clinical_notes"]
    assert objects["product"]["source"] == counts["products"]
    assert objects["practitioner_user"]["source"] == counts["practitioners"]
    assert objects["practitioner_user"]["skipped"] == counts["practitioners"]  # -> owners
    assert objects["health_fund_fields"]["source"] == counts["health_funds"]
    dups = _manifest(flow)["defect_counts"]["duplicate_patients"]
    assert objects["patient_person"]["merged"] == dups
    assert objects["patient_person"]["found"] == objects["patient_person"]["migrated"]


def test_sample_covers_every_stratum_it_can_and_lists_the_rest(flow: DemoResult) -> None:
    """The 50-record sample covers every stratum, files (the invoice PDFs) included."""
    strata = flow.sample["strata"]
    assert strata["covered"] == strata["total"]
    assert strata["uncovered"] == []
    ws = load_workspace(flow.workspace)
    with ws.state() as st:
        rows = st.conn.execute(
            "SELECT status, COUNT(*) FROM sample_diff GROUP BY status"
        ).fetchall()
        entities = {e for (e,) in st.conn.execute("SELECT DISTINCT entity FROM sample_diff")}
    counts = dict(rows)
    assert counts.get("mismatch", 0) == 0
    assert counts["match"] > 0
    assert counts["transformed"] > 0
    assert {"person", "activity", "deal", "note"} <= entities


def test_verify_reads_back_with_listings_and_batch_gets_only(flow: DemoResult) -> None:
    """No per-record GET: every request is an ids= list, a listing or a deal-products listing."""
    by_endpoint: dict[str, int] = flow.verify["by_endpoint"]
    assert all(name.endswith((".list", ".listMany")) for name in by_endpoint), by_endpoint
    ws = load_workspace(flow.workspace)
    with ws.state() as st:
        per_entity = dict(
            st.conn.execute(
                "SELECT entity, COUNT(*) FROM id_map WHERE origin = 'created' GROUP BY entity"
            ).fetchall()
        )
    for entity, plural in (("person", "persons"), ("activity", "activities")):
        assert by_endpoint[f"{plural}.list"] == math.ceil(per_entity[entity] / 100)
    assert flow.verify["requests"] == sum(by_endpoint.values())
    assert flow.verify["tokens"] > 0


def test_verify_exits_3_naming_a_field_edited_behind_the_tools_back(flow: DemoResult) -> None:
    """A person renamed directly in Pipedrive makes verify exit 3 naming the record and field."""
    from pdmigrate.plan.account import workspace_client

    ws = load_workspace(flow.workspace)
    with ws.state() as st:
        key, pid = st.conn.execute(
            "SELECT source_key, pipedrive_id FROM id_map WHERE entity = 'person' "
            "AND origin = 'created' ORDER BY source_key LIMIT 1"
        ).fetchone()

    async def rename() -> None:
        async with workspace_client(ws) as client:
            await client.persons.update(int(pid), {"name": "Edited In Pipedrive"})

    asyncio.run(rename())
    result = CliRunner().invoke(VERIFY, ["-w", str(ws.root), "--json"])
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is False
    assert summary["fields"]["mismatched"] == 1
    assert summary["mismatches"] == [
        {
            "object": summary["mismatches"][0]["object"],
            "entity": "person",
            "source_key": key,
            "pipedrive_id": pid,
            "field": "name",
            "where": summary["mismatches"][0]["where"],
            "problem": "differs from the source",
        }
    ]
    assert summary["accuracy"] < 100.0


def test_sample_diff_shows_the_source_cell_of_activity_times(flow: DemoResult) -> None:
    """An appointment's due_time line shows the export's local time, not the UTC value sent:
    the source value differs from the expected one and the line is 'transformed'."""
    ws = load_workspace(flow.workspace)
    with ws.state() as st:
        lines = st.conn.execute(
            "SELECT source_value, expected, status FROM sample_diff "
            "WHERE entity = 'activity' AND field = 'due_time'"
        ).fetchall()
    assert lines
    assert all(status == "transformed" for _, _, status in lines)
    assert all(source != expected for source, expected, _ in lines)
