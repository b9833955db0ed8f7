"""v1 files: multipart upload to a parent, size limit, list, get, download, rename, delete."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.dump import compact
from pdmigrate.sandbox.inprocess import SandboxTransport

ERROR_INFO = "Please check developers.pipedrive.com"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _responses_follow_the_spec(sandbox: Sandbox) -> Iterator[None]:
    yield
    assert sandbox.spec_problems == []


def _person(client: httpx.Client) -> int:
    person_id: int = client.post("/api/v2/persons", json={"name": "Ada"}).json()["data"]["id"]
    return person_id


def _upload(
    client: httpx.Client,
    content: bytes = PDF,
    name: str = "xray.pdf",
    mime: str = "application/pdf",
    **parents: Any,
) -> httpx.Response:
    return client.post(
        "/api/v1/files",
        files={"file": (name, content, mime)},
        data={k: str(v) for k, v in parents.items()},
    )


def test_upload_to_a_person_returns_the_file(client: httpx.Client) -> None:
    """POST /v1/files stores the upload, linked to the person, with size and type."""
    person_id = _person(client)
    response = _upload(client, person_id=person_id)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == 1
    assert data["person_id"] == person_id
    assert data["person_name"] == "Ada"
    assert data["deal_id"] is None
    assert data["org_id"] is None
    assert data["file_name"] == "xray.pdf"
    assert data["name"] == "xray.pdf"
    assert data["file_type"] == "pdf"
    assert data["file_size"] == len(PDF)
    assert data["user_id"] == 1
    assert data["active_flag"] is True
    assert data["add_time"] == "2026-01-15 09:00:00"
    assert data["url"] == "http://sandbox/v1/files/1/download"


def test_download_returns_the_same_bytes(client: httpx.Client) -> None:
    """GET /v1/files/{id}/download answers the uploaded bytes with their content type."""
    person_id = _person(client)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
    file_id = _upload(client, jpeg, "smile.jpg", "image/jpeg", person_id=person_id).json()["data"][
        "id"
    ]
    download = client.get(f"/api/v1/files/{file_id}/download")
    assert download.status_code == 200
    assert download.content == jpeg
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''smile.jpg"
    assert client.get(f"/api/v1/files/{file_id}").json()["data"]["file_type"] == "img"


def test_upload_without_a_parent_is_rejected(client: httpx.Client) -> None:
    """A file must be attached to something: no parent id is a 400 and nothing is stored."""
    response = _upload(client)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "A file must be attached to a deal, person, organization, product, activity, "
        "lead or project (one of deal_id, person_id, org_id, product_id, activity_id, "
        "lead_id, project_id is required)",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    assert client.get("/api/v1/files").json()["data"] == []


def test_upload_to_a_missing_deal_is_rejected(client: httpx.Client) -> None:
    """A parent id that does not exist is a 400."""
    response = _upload(client, deal_id=42)
    assert response.status_code == 400
    assert response.json()["error"] == "Deal with id 42 does not exist"


def test_upload_without_a_file_part_is_rejected(client: httpx.Client) -> None:
    """A multipart body with no `file` part gets the required-parameter 400."""
    person_id = _person(client)
    response = client.post(
        "/api/v1/files", data={"person_id": str(person_id)}, files={"other": ("a", b"x")}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: file: Parameter 'file' is required"


def test_upload_over_the_size_limit_is_413(make_sandbox: Callable[..., Sandbox]) -> None:
    """With max_file_bytes=1000 a 1001-byte upload gets 413 ERR_FILE_TOO_LARGE; 1000 is fine."""
    sandbox = make_sandbox(max_file_bytes=1000)
    with httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url="http://sandbox",
        headers={"x-api-token": "t"},
    ) as client:
        person_id = _person(client)
        too_big = _upload(client, b"x" * 1001, "big.bin", "application/octet-stream",
                          person_id=person_id)  # fmt: skip
        assert too_big.status_code == 413
        assert too_big.json() == {
            "success": False,
            "error": "File is too large: the limit is 1000 bytes",
            "code": "ERR_FILE_TOO_LARGE",
            "error_info": ERROR_INFO,
            "data": None,
            "additional_data": None,
        }
        fits = _upload(client, b"x" * 1000, "ok.bin", "application/octet-stream",
                       person_id=person_id)  # fmt: skip
        assert fits.status_code == 200
        assert [f["file_name"] for f in client.get("/api/v1/files").json()["data"]] == ["ok.bin"]


def test_list_pages_and_caps_limit_at_100(client: httpx.Client) -> None:
    """GET /v1/files pages by start/limit; a limit over 100 is a 400."""
    person_id = _person(client)
    for i in range(3):
        _upload(client, PDF, f"f{i}.pdf", person_id=person_id)
    page = client.get("/api/v1/files", params={"limit": 2}).json()
    assert [f["file_name"] for f in page["data"]] == ["f0.pdf", "f1.pdf"]
    assert page["additional_data"]["pagination"] == {
        "start": 0,
        "limit": 2,
        "more_items_in_collection": True,
        "next_start": 2,
    }
    over = client.get("/api/v1/files", params={"limit": 101})
    assert over.status_code == 400
    assert over.json()["error"] == (
        "Validation failed: limit: This value should be less than or equal to 100."
    )


def test_rename_and_delete(client: httpx.Client) -> None:
    """PUT renames (form body); DELETE answers {id} and the file and its download are gone."""
    person_id = _person(client)
    file_id = _upload(client, person_id=person_id).json()["data"]["id"]
    renamed = client.put(
        f"/api/v1/files/{file_id}", data={"name": "Panoramic", "description": "2019"}
    )
    assert renamed.status_code == 200
    assert (renamed.json()["data"]["name"], renamed.json()["data"]["description"]) == (
        "Panoramic",
        "2019",
    )
    assert renamed.json()["data"]["file_name"] == "xray.pdf"
    deleted = client.delete(f"/api/v1/files/{file_id}")
    assert deleted.json() == {"success": True, "data": {"id": file_id}}
    for path in (f"/api/v1/files/{file_id}", f"/api/v1/files/{file_id}/download"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"] == "File not found"


def test_dump_shows_file_size_and_hash_not_bytes(client: httpx.Client, sandbox: Sandbox) -> None:
    """The compacted dump keeps a blob's size and sha256 and drops its base64 content."""
    _upload(client, b"hello", "a.txt", "text/plain", person_id=_person(client))
    (account,) = compact(sandbox.dump())["accounts"]
    (blob,) = account["records"]["fileBlobs"]
    assert blob["size"] == 5
    assert blob["sha256"] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert "content_b64" not in blob


def test_upload_to_a_lead_and_a_deal(client: httpx.Client) -> None:
    """A file can hang off a lead (UUID) and a deal at once; both names are filled."""
    person_id = _person(client)
    lead_id = client.post(
        "/api/v1/leads", json={"title": "Enquiry", "person_id": person_id}
    ).json()["data"]["id"]
    deal_id = client.post("/api/v2/deals", json={"title": "Plan"}).json()["data"]["id"]
    data = _upload(client, lead_id=lead_id, deal_id=deal_id).json()["data"]
    assert (data["lead_id"], data["lead_name"]) == (lead_id, "Enquiry")
    assert (data["deal_id"], data["deal_name"]) == (deal_id, "Plan")
    assert data["person_id"] is None


def test_multipart_fields_are_checked_against_the_spec(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """The form is spec-checked before the handler: a non-integer deal_id is a 400 even
    where the handler alone would have answered 413 for the oversized file first."""
    sandbox = make_sandbox(max_file_bytes=4)
    with httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url="http://sandbox",
        headers={"x-api-token": "t"},
    ) as client:
        response = client.post(
            "/api/v1/files", data={"deal_id": "twelve"}, files={"file": ("a.pdf", b"%PDF-1.4")}
        )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Validation failed: deal_id:")
