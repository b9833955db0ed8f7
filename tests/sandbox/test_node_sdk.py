"""Pipedrive's official Node SDK (npm `pipedrive`, pinned) against the sandbox over real HTTP."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import create_app
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.server import ServerThread

# slow: starts uvicorn and a Node process (3-4 s), and needs `make node-deps`, which
# `make test-fast` does not run.
pytestmark = [pytest.mark.node, pytest.mark.conformance, pytest.mark.slow]

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "roundtrip.cjs"
TOKEN = "node-sdk-token-0001"
HEX40 = re.compile(r"^[0-9a-f]{40}$")
USERS = [
    {"name": "Quinn Example", "email": "quinn@practice.example"},
    {"name": "Morgan Example", "email": "morgan@practice.example", "is_admin": False},
]


def _node() -> str:
    """The node binary, or a clear failure (CI installs it and runs `make node-deps`)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 18+ to run the SDK conformance test")
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["pipedrive"]
    installed = NODE_DIR / "node_modules" / "pipedrive" / "package.json"
    if not installed.is_file():
        pytest.fail(f"npm package pipedrive is not installed in {NODE_DIR}: run `make node-deps`")
    version = json.loads(installed.read_text())["version"]
    if version != pinned:
        pytest.fail(f"pipedrive {version} installed, {pinned} pinned: run `make node-deps`")
    return node


@pytest.fixture(scope="module")
def roundtrip() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Run the SDK script once against a fresh sandbox; return its output, a dump, problems."""
    node = _node()
    app = create_app(SandboxConfig(users=USERS))
    with ServerThread(app) as server:
        env = {**os.environ, "PDM_BASE_URL": server.url, "PDM_TOKEN": TOKEN}
        done = subprocess.run(
            [node, str(SCRIPT)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"SDK script failed: {done.stderr.strip()[-2000:]}"
        with httpx.Client(base_url=server.url, headers={"x-api-token": TOKEN}) as http:
            fields = http.get("/api/v2/personFields").json()["data"]
            deal_fields = http.get("/api/v2/dealFields").json()["data"]
    sandbox = app.state.sandbox
    server_view = {"personFields": fields, "dealFields": deal_fields}
    return json.loads(done.stdout), server_view, list(sandbox.spec_problems)


def test_sdk_traffic_conforms_to_the_spec(
    roundtrip: tuple[dict[str, Any], dict[str, Any], list[str]],
) -> None:
    """Every request the SDK sent and every response it got passed spec validation."""
    _, _, problems = roundtrip
    assert problems == []


def test_custom_fields_round_trip_under_their_account_keys(
    roundtrip: tuple[dict[str, Any], dict[str, Any], list[str]],
) -> None:
    """Fields made through personFields/dealFields carry values under the account's key."""
    out, server, _ = roundtrip
    person_key = out["fields"]["person"]["field_code"]
    deal_key = out["fields"]["deal"]["field_code"]
    assert HEX40.match(person_key)
    assert HEX40.match(deal_key)
    assert person_key != deal_key
    by_name = {f["field_name"]: f for f in server["personFields"]}
    assert by_name["Patient number"]["field_code"] == person_key
    deal_field = {f["field_name"]: f for f in server["dealFields"]}["Treatment type"]
    assert deal_field["field_code"] == deal_key
    options = out["fields"]["deal"]["options"]
    assert [o["label"] for o in options] == ["Orthodontics", "Implant"]
    assert all(isinstance(o["id"], int) for o in options)
    implant = next(o["id"] for o in options if o["label"] == "Implant")
    for view in ("created", "got"):
        assert out["person"][view]["custom_fields"] == {person_key: "P-000123"}
        assert out["deal"][view]["custom_fields"] == {deal_key: implant}


def test_v2_entities_round_trip(
    roundtrip: tuple[dict[str, Any], dict[str, Any], list[str]],
) -> None:
    """Organizations, persons, deals and activities read back as created, and are listed."""
    out, _, _ = roundtrip
    org = out["organization"]
    assert org["created"] == org["got"] == {"id": org["created"]["id"], "name": org["got"]["name"]}
    assert org["got"]["name"] == "Harbour Dental (synthetic)"
    assert org["listed_ids"] == [org["created"]["id"]]

    person = out["person"]
    assert person["created"] == person["got"]
    assert person["got"]["name"] == "Ada Example"
    assert person["got"]["org_id"] == org["created"]["id"]
    assert person["got"]["emails"] == [
        {"value": "ada.example@example.test", "primary": True, "label": "work"}
    ]
    assert person["got"]["phones"] == [
        {"value": "+61 8 8000 0000", "primary": True, "label": "mobile"}
    ]
    assert person["listed_ids"] == [person["created"]["id"]]
    assert person["next_cursor"] is None

    deal = out["deal"]
    assert deal["created"] == deal["got"]
    got = deal["got"]
    assert (got["title"], got["value"], got["currency"]) == (
        "Implant plan (synthetic)",
        4200,
        "AUD",
    )
    assert (got["person_id"], got["org_id"]) == (person["created"]["id"], org["created"]["id"])
    assert deal["listed_ids"] == [deal["created"]["id"]]

    activity = out["activity"]
    assert activity["created"] == activity["got"]
    act = activity["got"]
    assert (act["subject"], act["type"]) == ("Implant consult", "meeting")
    assert (act["due_date"], act["due_time"], act["duration"]) == ("2026-03-04", "09:30", "00:45")
    assert act["deal_id"] == deal["created"]["id"]
    # linked through participants; person_id is derived from the primary participant
    assert act["participants"] == [{"person_id": person["created"]["id"], "primary": True}]
    assert act["person_id"] == person["created"]["id"]
    assert activity["listed_ids"] == [activity["created"]["id"]]


def test_v1_notes_and_users_round_trip(
    roundtrip: tuple[dict[str, Any], dict[str, Any], list[str]],
) -> None:
    """A backdated note reads back as sent; seeded users list, find by email and get."""
    out, _, _ = roundtrip
    note = out["note"]
    assert note["created"] == note["got"]
    assert note["got"]["content"] == "<p>Consult notes (synthetic)</p>"
    assert note["got"]["add_time"] == "2019-05-06 07:08:09"
    assert note["got"]["person_id"] == out["person"]["created"]["id"]
    assert note["got"]["deal_id"] == out["deal"]["created"]["id"]
    assert note["listed_ids"] == [note["created"]["id"]]

    users = out["users"]
    assert [(u["name"], u["email"]) for u in users["listed"]] == [
        (u["name"], u["email"]) for u in USERS
    ]
    assert all(u["active_flag"] is True for u in users["listed"])
    assert users["me"]["email"] == "quinn@practice.example"
    assert users["found_ids"] == [users["me"]["id"]]
    assert users["got"] == users["me"]


def test_sdk_sees_pipedrive_400s_for_live_rules(
    roundtrip: tuple[dict[str, Any], dict[str, Any], list[str]],
) -> None:
    """The SDK rejects with Pipedrive's exact 400 bodies (activity person_id, enum label)."""
    out, _, _ = roundtrip
    info = "Please check developers.pipedrive.com"
    assert out["errors"]["activity_person_id"] == {
        "success": False,
        "error": "'person_id' is a read-only field. Add a primary participant to set "
        "'person_id' instead.",
        "code": "ERR_BAD_REQUEST",
        "error_info": info,
        "data": None,
        "additional_data": None,
    }
    assert out["errors"]["enum_as_string"] == {
        "success": False,
        "error": "Validation failed: custom_fields: Expected 'number' as value for single "
        "option custom field",
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": info,
        "data": None,
        "additional_data": None,
    }
