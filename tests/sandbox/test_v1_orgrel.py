"""v1 organizationRelationships: parent/daughter links, the live rules, reads per organization."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox

ERROR_INFO = "Please check developers.pipedrive.com"
PATH = "/api/v1/organizationRelationships"


@pytest.fixture(autouse=True)
def _responses_follow_the_spec(sandbox: Sandbox) -> Iterator[None]:
    yield
    assert sandbox.spec_problems == []


def _org(client: httpx.Client, name: str) -> int:
    org_id: int = client.post("/api/v2/organizations", json={"name": name}).json()["data"]["id"]
    return org_id


def _link(client: httpx.Client, parent: int, daughter: int, kind: str = "parent") -> httpx.Response:
    return client.post(
        PATH, json={"type": kind, "rel_owner_org_id": parent, "rel_linked_org_id": daughter}
    )


def _bad(error: str) -> dict[str, Any]:
    return {
        "success": False,
        "error": error,
        "code": "ERR_BAD_REQUEST",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_create_parent_link(client: httpx.Client) -> None:
    """POST links a daughter to its parent; both sides carry name, id (value) and counts."""
    group = _org(client, "Bright Smiles Group")
    branch = _org(client, "Bright Smiles North")
    client.post("/api/v2/persons", json={"name": "Ann", "org_id": branch})
    response = _link(client, group, branch)
    assert response.status_code == 200
    body = response.json()
    data = body["data"]
    assert (data["id"], data["type"], data["active_flag"]) == (1, "parent", "true")
    assert data["rel_owner_org_id"]["value"] == group
    assert data["rel_owner_org_id"]["name"] == "Bright Smiles Group"
    assert data["rel_linked_org_id"]["value"] == branch
    assert data["rel_linked_org_id"]["people_count"] == 1
    assert data["add_time"] == "2026-01-15 09:00:00"
    assert set(body["related_objects"]["organization"]) == {str(group), str(branch)}


def test_list_from_each_side(client: httpx.Client) -> None:
    """GET ?org_id= gives the link from that organization's point of view."""
    group, north, south = _org(client, "Group"), _org(client, "North"), _org(client, "South")
    _link(client, group, north)
    _link(client, group, south)
    from_group = client.get(PATH, params={"org_id": group}).json()
    assert [(r["calculated_type"], r["calculated_related_org_id"]) for r in from_group["data"]] == [
        ("daughter", north),
        ("daughter", south),
    ]
    assert [r["related_organization_name"] for r in from_group["data"]] == ["North", "South"]
    assert from_group["additional_data"] == {
        "pagination": {"start": 0, "limit": 100, "more_items_in_collection": False}
    }
    from_north = client.get(PATH, params={"org_id": north}).json()["data"]
    assert [(r["calculated_type"], r["calculated_related_org_id"]) for r in from_north] == [
        ("parent", group)
    ]
    assert client.get(PATH, params={"org_id": _org(client, "Alone")}).json()["data"] == []


def test_list_needs_org_id(client: httpx.Client) -> None:
    """org_id is required on the list."""
    response = client.get(PATH)
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: org_id: Parameter 'org_id' is required"


def test_a_daughter_has_one_parent(client: httpx.Client) -> None:
    """A second parent for the same daughter is refused."""
    a, b, child = _org(client, "A"), _org(client, "B"), _org(client, "Child")
    assert _link(client, a, child).status_code == 200
    response = _link(client, b, child)
    assert response.status_code == 400
    assert response.json() == _bad(f"Organization {child} already has a parent organization")


def test_parent_links_never_form_a_cycle(client: httpx.Client) -> None:
    """Making a grandchild the parent of its grandparent is refused."""
    top, mid, low = _org(client, "Top"), _org(client, "Mid"), _org(client, "Low")
    _link(client, top, mid)
    _link(client, mid, low)
    response = _link(client, low, top)
    assert response.status_code == 400
    assert response.json() == _bad("This parent link would make an organization its own ancestor")


@pytest.mark.parametrize(
    ("owner", "linked", "error"),
    [
        (1, 1, "An organization cannot be related to itself"),
        (1, 99, "Organization with id 99 does not exist"),
    ],
)
def test_links_need_two_existing_organizations(
    client: httpx.Client, owner: int, linked: int, error: str
) -> None:
    """Both ids must be organizations of the account, and different."""
    _org(client, "Only")
    response = _link(client, owner, linked, "related")
    assert response.status_code == 400
    assert response.json() == _bad(error)


def test_same_pair_is_linked_once(client: httpx.Client) -> None:
    """The same two organizations cannot be linked twice, whatever the type."""
    a, b = _org(client, "A"), _org(client, "B")
    assert _link(client, a, b, "related").status_code == 200
    assert _link(client, b, a).json() == _bad("These organizations are already related")


def test_get_update_delete(client: httpx.Client) -> None:
    """GET by id, PUT to change the type, DELETE answers {id} and the link is gone."""
    a, b = _org(client, "A"), _org(client, "B")
    rel_id = _link(client, a, b).json()["data"]["id"]
    got = client.get(f"{PATH}/{rel_id}", params={"org_id": b}).json()["data"]
    assert (got["calculated_type"], got["calculated_related_org_id"]) == ("parent", a)
    updated = client.put(f"{PATH}/{rel_id}", json={"type": "related"}).json()["data"]
    assert updated["type"] == "related"
    deleted = client.delete(f"{PATH}/{rel_id}")
    assert deleted.json() == {"success": True, "data": {"id": rel_id}}
    missing = client.get(f"{PATH}/{rel_id}")
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "Organization relationship not found",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    assert client.get(PATH, params={"org_id": a}).json()["data"] == []
