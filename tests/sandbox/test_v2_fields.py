"""v2 field schemas and custom fields: keys per account, options, value rules, plan caps."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox

from .conftest import sandbox_client

HEX40 = re.compile(r"^[0-9a-f]{40}$")


def _field(client: httpx.Client, obj: str = "person", **body: Any) -> dict[str, Any]:
    payload = {"field_name": "Source ID", "field_type": "varchar", **body}
    response = client.post(f"/api/v2/{obj}Fields", json=payload)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _enum(client: httpx.Client, kind: str = "enum") -> dict[str, Any]:
    return _field(
        client,
        field_name="Insurance",
        field_type=kind,
        options=[{"label": "Delta"}, {"label": "Aetna"}, {"label": "None"}],
    )


def test_created_field_has_40_hex_code_and_numeric_option_ids(client: httpx.Client) -> None:
    """POST personFields: field_code is 40 hex chars; options get integer ids in order."""
    field = _enum(client)
    assert HEX40.match(field["field_code"])
    assert field["field_name"] == "Insurance"
    assert field["field_type"] == "enum"
    assert field["is_custom_field"] is True
    assert [o["label"] for o in field["options"]] == ["Delta", "Aetna", "None"]
    ids = [o["id"] for o in field["options"]]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_two_accounts_get_different_keys_for_the_same_field(sandbox: Sandbox) -> None:
    """The same field name created in two accounts gets two different field_codes."""
    with sandbox_client(sandbox, "acct-1") as a, sandbox_client(sandbox, "acct-2") as b:
        key_a = _field(a)["field_code"]
        key_b = _field(b)["field_code"]
        assert key_a != key_b
        # each account knows only its own key
        body = b.post("/api/v2/persons", json={"name": "X", "custom_fields": {key_a: "S-1"}})
        assert body.status_code == 400
        assert body.json()["error"] == (
            f"Validation failed: custom_fields: Custom field '{key_a}' does not exist"
        )


def test_field_list_has_standard_and_custom_fields(client: httpx.Client) -> None:
    """GET personFields lists the standard fields then the custom ones."""
    field = _field(client)
    data = client.get("/api/v2/personFields").json()["data"]
    codes = [f["field_code"] for f in data]
    assert codes[:3] == ["id", "name", "first_name"]
    assert codes[-1] == field["field_code"]
    assert sum(f["is_custom_field"] for f in data) == 1
    got = client.get(f"/api/v2/personFields/{field['field_code']}").json()["data"]
    assert got["field_name"] == "Source ID"
    assert client.get("/api/v2/personFields/" + "0" * 40).status_code == 404


def test_activity_fields_are_read_only(client: httpx.Client) -> None:
    """activityFields lists fields but has no POST (404 like an unknown route)."""
    data = client.get("/api/v2/activityFields").json()["data"]
    assert "subject" in [f["field_code"] for f in data]
    response = client.post("/api/v2/activityFields", json={"field_name": "x", "field_type": "text"})
    assert response.status_code == 404


def test_custom_values_roundtrip_and_null_for_unset(client: httpx.Client) -> None:
    """custom_fields values come back as sent; unset custom fields read as null."""
    source = _field(client)["field_code"]
    insurance = _enum(client)
    tags = _field(
        client, field_name="Tags", field_type="set", options=[{"label": "a"}, {"label": "b"}]
    )
    money = _field(client, field_name="Balance", field_type="monetary")["field_code"]
    opt = insurance["options"][1]["id"]
    set_ids = [o["id"] for o in tags["options"]]
    person = client.post(
        "/api/v2/persons",
        json={"name": "Pat", "custom_fields": {source: "PM-0042", insurance["field_code"]: opt,
                                               tags["field_code"]: set_ids,
                                               money: {"value": 12.5, "currency": "USD"}}},
    ).json()["data"]  # fmt: skip
    assert person["custom_fields"] == {
        source: "PM-0042",
        insurance["field_code"]: opt,
        tags["field_code"]: set_ids,
        money: {"value": 12.5, "currency": "USD"},
    }
    other = client.post("/api/v2/persons", json={"name": "Unset"}).json()["data"]
    assert other["custom_fields"] == {
        source: None,
        insurance["field_code"]: None,
        tags["field_code"]: None,
        money: None,
    }
    cleared = client.patch(
        f"/api/v2/persons/{person['id']}", json={"custom_fields": {source: None}}
    ).json()["data"]
    assert cleared["custom_fields"][source] is None
    assert cleared["custom_fields"][insurance["field_code"]] == opt


def test_custom_key_at_top_level_is_rejected(client: httpx.Client) -> None:
    """A 40-hex key beside name is ERR_SCHEMA_VALIDATION_FAILED, worded like Pipedrive."""
    key = _field(client)["field_code"]
    response = client.post("/api/v2/persons", json={"name": "A", key: "x"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": f"Validation failed: {key}: Parameter '{key}' is not allowed for this request",
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("enum", "Delta", "Expected 'number' as value for single option custom field"),
        ("enum", 999999, "Option 999999 does not exist for field '{key}'"),
        ("set", [], "Expected a non-empty 'array' of option ids for multiple option custom field"),
        (
            "set",
            "1,2",
            "Expected a non-empty 'array' of option ids for multiple option custom field",
        ),
        (
            "varchar",
            "y" * 256,
            "Value for custom field '{key}' must be at most 255 characters long",
        ),
        ("double", "12", "Expected 'number' as value for numeric custom field"),
        ("date", "03/04/2020", "Expected 'YYYY-MM-DD' for custom field '{key}'"),
    ],
)
def test_custom_value_rules(client: httpx.Client, kind: str, value: Any, message: str) -> None:
    """Each custom field type rejects a wrongly typed value with an exact message."""
    if kind in ("enum", "set"):
        key = _enum(client, kind)["field_code"]
    else:
        key = _field(client, field_name=f"F {kind}", field_type=kind)["field_code"]
    response = client.post("/api/v2/persons", json={"name": "A", "custom_fields": {key: value}})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: custom_fields: " + message.format(
        key=key
    )
    assert response.json()["code"] == "ERR_SCHEMA_VALIDATION_FAILED"


def test_options_add_rename_delete_atomically(client: httpx.Client) -> None:
    """Option POST/PATCH/DELETE return only affected options; a bad item changes nothing."""
    field = _enum(client)
    code = field["field_code"]
    url = f"/api/v2/personFields/{code}/options"
    added = client.post(url, json=[{"label": "Cigna"}]).json()
    assert added["success"] is True
    assert added["additional_data"] is None
    assert [o["label"] for o in added["data"]] == ["Cigna"]
    new_id = added["data"][0]["id"]
    renamed = client.patch(url, json=[{"id": new_id, "label": "Cigna Dental"}]).json()["data"]
    assert renamed == [{"id": new_id, "label": "Cigna Dental"}]
    first = field["options"][0]["id"]
    bad = client.request("DELETE", url, json=[{"id": first}, {"id": 987654}])
    assert bad.status_code == 400
    labels = [
        o["label"] for o in client.get(f"/api/v2/personFields/{code}").json()["data"]["options"]
    ]
    assert labels == ["Delta", "Aetna", "None", "Cigna Dental"]
    gone = client.request("DELETE", url, json=[{"id": first}]).json()["data"]
    assert gone == [{"id": first, "label": "Delta"}]
    after = client.get(f"/api/v2/personFields/{code}").json()["data"]["options"]
    assert [o["label"] for o in after] == ["Aetna", "None", "Cigna Dental"]


def test_field_rename_and_delete(client: httpx.Client) -> None:
    """PATCH renames a custom field; DELETE removes it from lists and record bodies."""
    code = _field(client)["field_code"]
    renamed = client.patch(f"/api/v2/personFields/{code}", json={"field_name": "Chart no."})
    assert renamed.json()["data"]["field_name"] == "Chart no."
    assert client.patch("/api/v2/personFields/name", json={"field_name": "x"}).status_code == 403
    assert client.delete(f"/api/v2/personFields/{code}").status_code == 200
    assert client.get(f"/api/v2/personFields/{code}").status_code == 404
    person = client.post("/api/v2/persons", json={"name": "A"}).json()["data"]
    assert person["custom_fields"] == {}


def test_custom_field_cap_is_403_with_code(make_sandbox: Any) -> None:
    """Lite allows 30 custom fields per company; the 31st is 403 with the capping code."""
    sandbox: Sandbox = make_sandbox(plan="lite", rate_limits=False)
    with sandbox_client(sandbox) as client:
        for i in range(30):
            obj = ("person", "organization", "deal")[i % 3]
            _field(client, obj, field_name=f"F{i}")
        response = client.post(
            "/api/v2/productFields", json={"field_name": "one more", "field_type": "text"}
        )
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "You have reached the limit of custom fields for your plan",
        "code": "feature_capping_custom_fields_limit",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }


def test_field_create_validation(client: httpx.Client) -> None:
    """enum without options and unknown field types are 400."""
    no_opts = client.post("/api/v2/dealFields", json={"field_name": "Kind", "field_type": "enum"})
    assert no_opts.status_code == 400
    assert no_opts.json()["error"] == (
        "Validation failed: options: Required for enum and set field types"
    )
    bad_type = client.post("/api/v2/dealFields", json={"field_name": "K", "field_type": "blob"})
    assert bad_type.status_code == 400


def test_include_option_labels_and_custom_fields_filter(client: httpx.Client) -> None:
    """include_option_labels shows {id, label}; custom_fields= keeps only the named keys."""
    insurance = _enum(client)
    source = _field(client)["field_code"]
    opt = insurance["options"][0]["id"]
    key = insurance["field_code"]
    client.post("/api/v2/persons", json={"name": "A", "custom_fields": {key: opt, source: "S1"}})
    labelled = client.get("/api/v2/persons/1", params={"include_option_labels": "true"})
    assert labelled.json()["data"]["custom_fields"] == {
        key: {"id": opt, "label": "Delta"},
        source: "S1",
    }
    only = client.get("/api/v2/persons", params={"custom_fields": source}).json()["data"]
    assert only[0]["custom_fields"] == {source: "S1"}


def test_optional_field_keys_only_with_include_fields(client: httpx.Client) -> None:
    """ui_visibility appears only when include_fields asks for it."""
    code = _field(client)["field_code"]
    plain = client.get(f"/api/v2/personFields/{code}").json()["data"]
    assert "ui_visibility" not in plain
    asked = client.get(
        f"/api/v2/personFields/{code}", params={"include_fields": "ui_visibility"}
    ).json()["data"]
    assert asked["ui_visibility"] == {"add_visible_flag": False, "details_visible_flag": True}
    assert "required_fields" not in asked


def test_composite_fields_list_their_subfields(client: httpx.Client) -> None:
    """Address and monetary fields name their parts <field_code>_<part>."""
    address = _field(client, field_name="Home", field_type="address")
    codes = [sub["field_code"] for sub in address["subfields"]]
    assert codes[0] == address["field_code"] + "_country"
    assert len(codes) == 9
    money = _field(client, field_name="Balance", field_type="monetary")
    assert money["subfields"] == [
        {"field_code": money["field_code"] + "_currency", "field_name": "Currency",
         "field_type": "varchar"}
    ]  # fmt: skip
    assert _field(client, field_name="Plain")["subfields"] is None
