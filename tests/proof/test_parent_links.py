"""verify checks organization parent links (advancedpm locations under the practice)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pdmigrate.cli import proof_cmd
from pdmigrate.demo import run_system
from pdmigrate.workspace import load_workspace

SAMPLE, VERIFY = proof_cmd.COMMANDS

pytestmark = pytest.mark.slow


def test_verify_reads_parent_links_and_names_one_removed_behind_its_back(
    tmp_path: Path,
) -> None:
    """Every location is the practice's daughter; a deleted relationship exits 3 on `parent`."""
    from pdmigrate.plan.account import workspace_client

    res = run_system("advancedpm", tmp_path, patients=20)
    assert res.ok
    locations = res.verify["objects"]["location_organization"]
    assert locations["links"] >= locations["records_migrated"] > 0
    assert locations["links_resolved"] == locations["links"]
    assert "organizationRelationships.list" in res.verify["by_endpoint"]

    ws = load_workspace(res.workspace)

    async def unlink() -> int:
        async with workspace_client(ws) as client:
            with ws.state() as st:
                (pid,) = st.conn.execute(
                    "SELECT pipedrive_id FROM id_map WHERE entity = 'organization' "
                    "AND source_key LIKE '%/location_organization/%' ORDER BY source_key LIMIT 1"
                ).fetchone()
            rels = await client.organization_relationships.for_org(int(pid))
            parent = next(r for r in rels if r["type"] == "parent")
            await client.organization_relationships.delete(int(parent["id"]))
            return int(pid)

    child = asyncio.run(unlink())
    result = CliRunner().invoke(VERIFY, ["-w", str(ws.root), "--json"])
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert [(m["field"], m["pipedrive_id"]) for m in summary["mismatches"]] == [
        ("parent", str(child))
    ]
