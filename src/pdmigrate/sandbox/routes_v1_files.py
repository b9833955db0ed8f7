"""v1 files: multipart upload with a size limit, list, get, download, rename, delete.

``POST /v1/files`` takes ``multipart/form-data`` with one ``file`` part and at least
one parent id (``deal_id``, ``person_id``, ``org_id``, ``product_id``,
``activity_id``, ``lead_id`` or ``project_id``) that exists in the account. A file
over ``SandboxConfig.max_file_bytes`` gets a 413 with code ``ERR_FILE_TOO_LARGE``
(Pipedrive documents no limit; the sandbox makes one configurable so clients can
test their handling). The bytes are kept as a ``fileBlobs`` record (base64) beside
the ``files`` record; ``sandbox dump`` shows their size and SHA-256 only.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response

from pdmigrate.sandbox.envelope import ApiError, ApiRoute, RequestContext, ok, validation_error
from pdmigrate.sandbox.routes_v1_common import (
    body_object,
    existing,
    me,
    opt_int,
    opt_str,
    paginate,
    parent_name,
    required,
    sort_records,
    v1_out,
)

ENTITY = "files"
BLOBS = "fileBlobs"
_INT_PARENTS = {
    "deal_id": ("deals", "title", "deal_name"),
    "person_id": ("persons", "name", "person_name"),
    "org_id": ("organizations", "name", "org_name"),
    "product_id": ("products", "name", "product_name"),
    "activity_id": ("activities", "subject", None),
    "project_id": (None, None, "project_name"),
}
_PARENT_KEYS = (*_INT_PARENTS, "lead_id")
_FILE_TYPES = {
    "image": "img",
    "application/pdf": "pdf",
    "text": "text",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xls",
}


def _not_found() -> ApiError:
    return ApiError(404, "File not found")


def too_large(limit: int) -> ApiError:
    """413 for an upload over the configured size limit."""
    return ApiError(
        413,
        f"File is too large: the limit is {limit} bytes",
        code="ERR_FILE_TOO_LARGE",
    )


def file_type(name: str) -> str:
    """Pipedrive's short ``file_type`` for a file name (``img``, ``pdf``, ``doc``...)."""
    mime = mimetypes.guess_type(name)[0] or ""
    if mime in _FILE_TYPES:
        return _FILE_TYPES[mime]
    top = mime.split("/", 1)[0]
    return _FILE_TYPES.get(top, "other")


def _url(ctx: RequestContext, file_id: int) -> str:
    base = str(ctx.request.base_url).rstrip("/")
    return f"{base}/v1/files/{file_id}/download"


def render(ctx: RequestContext, record: dict[str, Any]) -> dict[str, Any]:
    """A stored file in v1's response shape."""
    out: dict[str, Any] = {
        "id": record["id"],
        "user_id": record["user_id"],
        "log_id": None,
        "add_time": v1_out(record["add_time"]),
        "update_time": v1_out(record["update_time"]),
        "file_name": record["file_name"],
        "file_type": record["file_type"],
        "file_size": record["file_size"],
        "active_flag": record.get("active_flag", True),
        "inline_flag": False,
        "remote_location": "s3",
        "remote_id": "",
        "cid": "",
        "s3_bucket": "",
        "mail_message_id": "",
        "mail_template_id": "",
        "url": _url(ctx, record["id"]),
        "name": record["name"],
        "description": record.get("description", ""),
    }
    for key in _PARENT_KEYS:
        out[key] = record.get(key)
    for key, (entity, name_key, out_key) in _INT_PARENTS.items():
        if out_key is None:
            continue
        linked = None
        if entity is not None and record.get(key) is not None:
            linked = existing(ctx, entity, record[key])
        out[out_key] = parent_name(linked, name_key or "name")
    lead = existing(ctx, "leads", record["lead_id"]) if record.get("lead_id") else None
    out["lead_name"] = parent_name(lead, "title")
    return out


async def _form(ctx: RequestContext) -> FormData:
    if isinstance(ctx.body, FormData):
        return ctx.body
    if "multipart/form-data" not in ctx.content_type.lower():
        raise validation_error("Content-Type", "Expected one of: multipart/form-data")
    try:
        return await ctx.request.form(max_files=1, max_fields=50)
    except (HTTPException, MultiPartException, ValueError):
        raise ApiError(400, "The multipart/form-data body could not be read") from None


def _parents(ctx: RequestContext, form: FormData) -> dict[str, Any]:
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    parents: dict[str, Any] = {}
    for key, (entity, _, _) in _INT_PARENTS.items():
        if fields.get(key, "") == "":
            continue
        value = opt_int(fields, key)
        if entity is not None and existing(ctx, entity, value) is None:
            raise ApiError(400, f"{_label(key)} with id {value} does not exist")
        parents[key] = value
    if fields.get("lead_id"):
        lead = fields["lead_id"]
        if existing(ctx, "leads", lead) is None:
            raise ApiError(400, f"Lead with id {lead} does not exist")
        parents["lead_id"] = lead
    return parents


def _label(key: str) -> str:
    return {"org_id": "Organization"}.get(key, key[:-3].capitalize())


async def add_file(ctx: RequestContext) -> Response:
    """POST /v1/files (multipart/form-data)."""
    limit = ctx.sandbox.config.max_file_bytes
    form = await _form(ctx)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise required("file")
        if upload.size is not None and upload.size > limit:
            raise too_large(limit)
        content = await upload.read()
        if len(content) > limit:
            raise too_large(limit)
        with ctx.store.transaction():
            parents = _parents(ctx, form)
            if not parents:
                raise ApiError(
                    400,
                    "A file must be attached to a deal, person, organization, product, "
                    "activity, lead or project (one of deal_id, person_id, org_id, "
                    "product_id, activity_id, lead_id, project_id is required)",
                )
            name = PurePosixPath((upload.filename or "file").replace("\\", "/")).name or "file"
            doc: dict[str, Any] = {key: parents.get(key) for key in _PARENT_KEYS}
            doc.update(
                {
                    "user_id": me(ctx)["id"],
                    "file_name": name,
                    "name": name,
                    "description": "",
                    "file_type": file_type(name),
                    "file_size": len(content),
                    "content_type": upload.content_type or "application/octet-stream",
                    "active_flag": True,
                }
            )
            record = ctx.store.insert(ctx.cid, ENTITY, doc)
            ctx.store.insert(
                ctx.cid,
                BLOBS,
                {
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "content_b64": base64.b64encode(content).decode("ascii"),
                },
                record_id=record["id"],
            )
            return ok(render(ctx, record))
    finally:
        await form.close()


def _file(ctx: RequestContext) -> dict[str, Any]:
    record = existing(ctx, ENTITY, ctx.path_params["id"])
    if record is None:
        raise _not_found()
    return record


async def list_files(ctx: RequestContext) -> Response:
    """GET /v1/files (``limit`` at most 100)."""
    records = sort_records(
        ctx.store.list(ctx.cid, ENTITY),
        ctx.query.get("sort"),
        {"id", "update_time", "add_time", "file_name", "file_size", "name"},
    )
    page, additional = paginate(ctx, records, max_limit=100)
    return ok([render(ctx, r) for r in page], additional)


async def get_file(ctx: RequestContext) -> Response:
    """GET /v1/files/{id}."""
    return ok(render(ctx, _file(ctx)))


async def download_file(ctx: RequestContext) -> Response:
    """GET /v1/files/{id}/download: the uploaded bytes."""
    record = _file(ctx)
    blob = ctx.store.get(ctx.cid, BLOBS, record["id"], include_deleted=True)
    if blob is None:
        raise _not_found()
    content = base64.b64decode(blob["content_b64"])
    disposition = f"attachment; filename*=UTF-8''{quote(record['file_name'])}"
    return Response(
        content,
        media_type=record.get("content_type", "application/octet-stream"),
        headers={"Content-Disposition": disposition},
    )


async def update_file(ctx: RequestContext) -> Response:
    """PUT /v1/files/{id}: ``name`` and ``description``."""
    body = body_object(ctx)
    with ctx.store.transaction():
        record = _file(ctx)
        changes: dict[str, Any] = {}
        for key in ("name", "description"):
            value = opt_str(body, key)
            if value is not None:
                changes[key] = value
        updated = ctx.store.update(ctx.cid, ENTITY, record["id"], changes)
        return ok(render(ctx, updated))


async def delete_file(ctx: RequestContext) -> Response:
    """DELETE /v1/files/{id}: ``data`` is ``{"id": id}``."""
    with ctx.store.transaction():
        record = _file(ctx)
        ctx.store.soft_delete(ctx.cid, ENTITY, record["id"], {"active_flag": False})
    return ok({"id": record["id"]})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/files", list_files),
    ApiRoute("POST", "/api/v1/files", add_file),
    ApiRoute("GET", "/api/v1/files/{id:int}", get_file),
    ApiRoute("PUT", "/api/v1/files/{id:int}", update_file),
    ApiRoute("DELETE", "/api/v1/files/{id:int}", delete_file),
    ApiRoute("GET", "/api/v1/files/{id:int}/download", download_file),
]
