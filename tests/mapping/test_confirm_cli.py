"""`pdmigrate map` and `pdmigrate confirm` on a workspace, and the lock every write checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pdmigrate.cli import mapping_cmd
from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.mapping.confirm import require_confirmed
from pdmigrate.mapping.io import load_mapping
from pdmigrate.workspace import create_workspace, load_workspace

COMMANDS = {c.name: c for c in mapping_cmd.COMMANDS}


def run(name: str, *args: str) -> tuple[int, str, str]:
    """Invoke a command; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(COMMANDS[name], list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workspace(tmp_path: Path, synth_exports: dict[str, Path]) -> Path:
    """A sandbox workspace over the practicemaster synth exports."""
    exports = tmp_path / "exports"
    shutil.copytree(synth_exports["practicemaster"], exports)
    create_workspace(tmp_path / "ws", source="practicemaster", exports=exports)
    return tmp_path / "ws"


def test_map_writes_the_mapping_and_reports_compatibility(workspace: Path) -> None:
    """map --json: objects with source/target/cardinality and §7 compatibility."""
    code, out, err = run("map", "-w", str(workspace), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["compatibility"] == {"mapped": 11, "total": 11, "native": 7, "percent": 64}
    first = summary["objects"][0]
    assert (first["source"], first["target"], first["cardinality"]) == (
        "cmclient",
        "person",
        "grouped",
    )
    assert "11 of 11 source objects map: 7 one to one onto a native Pipedrive object" in err
    mapping, _, sha = load_mapping(workspace / "mapping.yaml")
    assert sha == summary["sha256"]
    assert mapping.profile == "practicemaster"


def test_map_does_not_overwrite_without_force(workspace: Path) -> None:
    """A second map refuses (exit 2) unless --force, which keeps a .bak."""
    assert run("map", "-w", str(workspace), "--offline")[0] == 0
    with pytest.raises(UsageError, match="already exists"):
        run("map", "-w", str(workspace), "--offline")
    assert run("map", "-w", str(workspace), "--offline", "--force")[0] == 0
    assert (workspace / "mapping.yaml.bak").is_file()


def test_confirm_locks_and_an_edit_blocks_writes(workspace: Path) -> None:
    """confirm stores the sha256; an edit afterwards makes require_confirmed refuse."""
    ws = load_workspace(workspace)
    with pytest.raises(ConfigError, match="no mapping"):
        require_confirmed(ws)
    run("map", "-w", str(workspace))
    with pytest.raises(ConfigError, match="not confirmed"):
        require_confirmed(ws)
    code, out, _ = run("confirm", "-w", str(workspace), "--yes", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["confirmed"] is True
    assert require_confirmed(ws) == summary["sha256"]
    path = workspace / "mapping.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("probability: 50", "probability: 55"))
    with pytest.raises(ConfigError, match="changed since it was confirmed") as err:
        require_confirmed(ws)
    assert err.value.exit_code == 2
    run("confirm", "-w", str(workspace), "--yes")
    assert require_confirmed(ws) != summary["sha256"]


def test_confirm_errors_name_the_mapping_line(workspace: Path) -> None:
    """A bad transform and an unknown column are reported at their lines; nothing is locked."""
    run("map", "-w", str(workspace), "--offline")
    path = workspace / "mapping.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    target = next(i for i, t in enumerate(lines) if "columns: [Email], field: emails" in t)
    lines[target] = lines[target].replace("transform: email", "transform: emial")
    other = next(i for i, t in enumerate(lines) if "columns: [Phone], field: phones" in t)
    lines[other] = lines[other].replace("columns: [Phone]", "columns: [Fone]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        run("confirm", "-w", str(workspace), "--yes", "--offline")
    message = err.value.message
    assert f"mapping.yaml:{target + 1}: object client_person: unknown transform 'emial'" in message
    assert f"mapping.yaml:{other + 1}: object client_person: field line column 'Fone'" in message
    with pytest.raises(ConfigError, match="not confirmed"):
        require_confirmed(load_workspace(workspace))


def test_confirm_checks_the_account_schema(workspace: Path) -> None:
    """An account field with the mapping's name but another type is an error at its line."""
    from pdmigrate.mapping.workflow import confirm_workspace

    run("map", "-w", str(workspace), "--offline")
    text = (workspace / "mapping.yaml").read_text(encoding="utf-8")
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if "field: Matter Number" in t)
    fields = {"deal": {"Matter Number": "date"}}
    with pytest.raises(ConfigError) as err:
        confirm_workspace(load_workspace(workspace), fields=fields)
    assert (
        f"mapping.yaml:{line}: object matter_deal: the account's deal field 'Matter Number' "
        "is date, the mapping says varchar"
    ) in err.value.message


def test_confirm_without_yes_asks(workspace: Path) -> None:
    """Without --yes, answering no refuses and leaves the mapping unconfirmed."""
    run("map", "-w", str(workspace), "--offline")
    result = CliRunner().invoke(COMMANDS["confirm"], ["-w", str(workspace)], input="n\n")
    assert isinstance(result.exception, UsageError)
    assert "Confirm 11 objects and" in result.stderr
    with pytest.raises(ConfigError, match="not confirmed"):
        require_confirmed(load_workspace(workspace))


@pytest.mark.parametrize(
    "system",
    [
        "advancedpm",
        "corepractice",
        "generic",
        "practicebynumbers",
        "practicemaster",
        "visualpractice",
    ],
)
def test_map_then_confirm_works_for_every_profile(
    system: str, tmp_path: Path, synth_exports: dict[str, Path]
) -> None:
    """map followed by confirm --yes succeeds on each profile's synth exports."""
    create_workspace(tmp_path / "ws", source=system, exports=synth_exports[system])
    ws = tmp_path / "ws"
    assert run("map", "-w", str(ws), "--offline")[0] == 0
    code, out, _ = run("confirm", "-w", str(ws), "--yes", "--offline", "--json")
    assert code == 0
    assert require_confirmed(load_workspace(ws)) == json.loads(out)["sha256"]


def _add_account_field(workspace: Path, entity_fields: str, name: str, ftype: str) -> None:
    """Create a custom field in the workspace's sandbox account through the client."""
    import asyncio

    from pdmigrate.pipedrive.client import PipedriveClient
    from pdmigrate.sandbox.app import Sandbox, app_for
    from pdmigrate.sandbox.config import SandboxConfig
    from pdmigrate.sandbox.inprocess import AsyncSandboxTransport

    ws = load_workspace(workspace)
    assert ws.sandbox_path is not None
    assert ws.config.sandbox_token is not None
    sandbox = Sandbox(SandboxConfig(db_path=ws.sandbox_path, rate_limits=False))
    client = PipedriveClient(
        "http://sandbox.local",
        ws.config.sandbox_token,
        transport=AsyncSandboxTransport(app_for(sandbox)),
    )

    async def create() -> None:
        payload: dict[str, object] = {"field_name": name, "field_type": ftype}
        if ftype == "enum":
            payload["options"] = [{"label": "Individual"}]
        await getattr(client, entity_fields).create(payload)
        await client.aclose()

    try:
        asyncio.run(create())
    finally:
        sandbox.store.close()


def test_map_reuses_a_field_the_account_already_has(workspace: Path) -> None:
    """An account person field "client_category" is reused by name; no duplicate proposed."""
    _add_account_field(workspace, "person_fields", "client_category", "enum")
    run("map", "-w", str(workspace))
    mapping, _, _ = load_mapping(workspace / "mapping.yaml")
    line = next(f for f in mapping.object("client_person").fields if f.columns == ["Category"])
    assert (line.field, line.reuse, line.custom) == ("client_category", True, "enum")
    assert run("confirm", "-w", str(workspace), "--yes")[0] == 0


def test_confirm_checks_the_data_files_and_pick_list_values(workspace: Path) -> None:
    """A value the data has but the map lacks is a warning at the field line; a missing
    export file is an error at its sources line."""
    run("map", "-w", str(workspace), "--offline")
    path = workspace / "mapping.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("  cmclient.Area of Practice:")
    removed = lines.pop(start + 1)
    assert removed.startswith("    ")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    field_line = next(
        i + 1 for i, t in enumerate(lines) if "values: cmclient.Area of Practice" in t
    )
    code, out, _ = run("confirm", "-w", str(workspace), "--yes", "--offline", "--json")
    assert code == 0
    warnings = json.loads(out)["warnings"]
    assert any(
        w.endswith(
            f"mapping.yaml:{field_line}: object matter_deal: 1 value(s) of 'Area of Practice' in "
            "the data are not in value map 'cmclient.Area of Practice' and will be left empty"
        )
        for w in warnings
    ), warnings
    (load_workspace(workspace).config.exports / "CMCOST.csv").unlink()
    cost_line = next(i + 1 for i, t in enumerate(lines) if t.strip() == "files: [CMCOST.csv]")
    with pytest.raises(ConfigError) as err:
        run("confirm", "-w", str(workspace), "--yes", "--offline")
    assert f"mapping.yaml:{cost_line}: sources: cmcost file 'CMCOST.csv' is not in the exports" in (
        err.value.message
    )


PATIENTS_CSV = (
    "PATIENT_NO,FIRST,LAST,BIRTHDATE,ADDRESS,ZIP,EMAIL_ADDR,PHONE_HOME,GENDER,SSN,VIP\n"
    "1001,Ann,Lee,03/14/1980,1 Main St,02110,ann@example.com,(617) 555-0100,F,123-45-6789,Y\n"
    "1002,Bo,Ng,12/01/1975,2 High St,94107,,415-555-0101,M,987-65-4321,N\n"
    "1003,Cy,Oh,07/30/2001,3 Low Rd,10001,none@none.com,212 555 0102,F,111-22-3333,N\n"
)


def test_generic_workspace_maps_confirms_and_applies_an_unknown_csv(tmp_path: Path) -> None:
    """An unprofiled patients.csv: map, confirm --yes, then apply gives usable persons."""
    from pdmigrate.mapping.apply import apply_rows
    from pdmigrate.mapping.gather import read_rows

    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "patients.csv").write_text(PATIENTS_CSV, encoding="utf-8")
    create_workspace(tmp_path / "ws", source="generic", exports=exports)
    assert run("map", "-w", str(tmp_path / "ws"), "--offline")[0] == 0
    assert run("confirm", "-w", str(tmp_path / "ws"), "--yes", "--offline")[0] == 0
    mapping, _, _ = load_mapping(tmp_path / "ws" / "mapping.yaml")
    people = apply_rows(mapping, read_rows(mapping, exports)).payloads
    assert [p.fields["name"] for p in people] == ["Ann Lee", "Bo Ng", "Cy Oh"]
    assert [p.fields.get("Email missing") for p in people] == [None, "Yes", "Yes"]
    assert people[0].fields["birthday"] == "1980-03-14"
    assert people[0].fields["postal_address"] == "1 Main St, 02110"
    assert people[0].fields["phones"] == [
        {"value": "+16175550100", "label": "work", "primary": True}
    ]
    assert people[0].fields["Source ID"] == "generic/contact_person/1001"
    assert all("123-45-6789" not in str(p.fields) for p in people)
