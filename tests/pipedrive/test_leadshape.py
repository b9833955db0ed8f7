"""Leads' custom fields: v2-shaped inside pdmigrate, v1 top-level keys on the wire."""

from __future__ import annotations

from pdmigrate.pipedrive.leadshape import from_wire, to_wire

M, D, A = "a" * 40, "b" * 40, "c" * 40


def test_to_wire_flattens_custom_fields_of_lead_bodies_only() -> None:
    """Monetary -> amount + <key>_currency, address -> text; other endpoints untouched."""
    body = {"title": "T", "custom_fields": {M: {"value": 5, "currency": "AUD"},
                                           A: {"value": "1 Main St"}, D: "2026-01-02"}}  # fmt: skip
    assert to_wire("leads.create", body) == {
        "title": "T", M: 5, f"{M}_currency": "AUD", A: "1 Main St", D: "2026-01-02",
    }  # fmt: skip
    assert to_wire("deals.create", body) is body
    assert to_wire("leads.update", {"title": "T"}) == {"title": "T"}


def test_from_wire_gathers_the_keys_back_for_one_lead_and_lists() -> None:
    """Answered leads (get, list) hold their keys under custom_fields, currencies folded."""
    lead = {"id": "u1", "title": "T", M: 5, f"{M}_currency": "AUD", D: "2026-01-02"}
    want = {"id": "u1", "title": "T",
            "custom_fields": {M: {"value": 5, "currency": "AUD"}, D: "2026-01-02"}}  # fmt: skip
    assert from_wire("leads.get", lead) == want
    assert from_wire("leads.list", [lead, {"id": "u2", "title": "U"}]) == [
        want,
        {"id": "u2", "title": "U", "custom_fields": {}},
    ]
    assert from_wire("leads.delete", {"id": "u1"}) == {"id": "u1"}
    assert from_wire("notes.get", lead) is lead
