"""The I/O edge of the proposal: sample the workspace's exports and list the account's fields.

:func:`sample_exports` reads each recognised export once (streaming) and keeps, per
header, up to ``sample`` non-blank values and the distinct values while there are at
most ``max_distinct`` of them. :func:`account_field_names` lists the target account's
field names per entity (persons, organizations, deals, products, activities) with the
client, for the workspace sandbox or a real account.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Iterator
from pathlib import Path

from pdmigrate.extract import open_table
from pdmigrate.mapping.model import Mapping
from pdmigrate.mapping.propose import TableSample
from pdmigrate.profiles import Profile
from pdmigrate.records import Finding, Row
from pdmigrate.workspace import Workspace

MAX_DISTINCT = 40


def _expected(profile: Profile) -> set[str]:
    names = {c.name for o in profile.objects for c in o.columns}
    return names | {a for o in profile.objects for c in o.columns for a in c.aliases}


def sample_exports(
    profile: Profile, exports: Path, *, sample: int = 200, max_distinct: int = MAX_DISTINCT
) -> list[TableSample]:
    """One :class:`TableSample` per data file in ``exports`` (object None when unrecognised)."""
    from pdmigrate.sources import discover

    tables: list[TableSample] = []
    for source in discover(profile, exports):
        headers = tuple(h for h in source.info.header if h is not None)
        samples: dict[str, list[str]] = {h: [] for h in headers}
        distinct: dict[str, set[str] | None] = {h: set() for h in headers}
        rows = 0
        info = source.info
        with open_table(
            source.path,
            name=source.name,
            encoding=info.encoding,
            delimiter=info.delimiter,
            sheet=info.sheet,
            expected=_expected(profile),
        ) as table:
            for item in table:
                if not isinstance(item, Row):
                    continue
                rows += 1
                for header, value in item.values.items():
                    text = value.strip()
                    if not text or header not in samples:
                        continue
                    if len(samples[header]) < sample:
                        samples[header].append(text)
                    seen = distinct[header]
                    if seen is not None:
                        seen.add(text)
                        if len(seen) > max_distinct:
                            distinct[header] = None
        tables.append(
            TableSample(
                name=source.name,
                object=source.object,
                headers=headers,
                samples={h: tuple(v) for h, v in samples.items()},
                distinct={
                    h: (None if v is None else tuple(sorted(v))) for h, v in distinct.items()
                },
                rows=rows,
            )
        )
    return tables


FIELD_LISTS = {
    "person": "person_fields",
    "organization": "organization_fields",
    "deal": "deal_fields",
    "product": "product_fields",
    "activity": "activity_fields",
}


def account_fields(workspace: Workspace) -> dict[str, dict[str, str]]:
    """``{entity: {field name: field type}}`` in the workspace's target account.

    One list call per entity; the sandbox target is called in process.
    """
    from pdmigrate.pipedrive.client import PipedriveClient

    config = workspace.config
    if config.is_sandbox:
        from pdmigrate.sandbox.app import Sandbox, app_for
        from pdmigrate.sandbox.config import SandboxConfig
        from pdmigrate.sandbox.inprocess import AsyncSandboxTransport

        path = workspace.sandbox_path
        if path is None or not config.sandbox_token:
            return {}
        sandbox = Sandbox(SandboxConfig(db_path=path, rate_limits=False, validate=False))
        transport = AsyncSandboxTransport(app_for(sandbox))
        client = PipedriveClient("http://sandbox.local", config.sandbox_token, transport=transport)
        try:
            return asyncio.run(_list_fields(client))
        finally:
            sandbox.store.close()
    token = os.environ.get("PIPEDRIVE_API_TOKEN", "")
    client = PipedriveClient(config.target, token)
    return asyncio.run(_list_fields(client))


async def _list_fields(client: object) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    try:
        for entity, attr in FIELD_LISTS.items():
            fields = await getattr(client, attr).list()
            out[entity] = {
                str(f.get("field_name") or f.get("name")): str(f.get("field_type") or "")
                for f in fields
            }
    finally:
        await client.aclose()  # type: ignore[attr-defined]
    return out


def names_only(fields: dict[str, dict[str, str]]) -> dict[str, Collection[str]]:
    """The field names per entity, as the proposal takes them."""
    return {k: tuple(v) for k, v in fields.items()}


def iter_source_rows(
    exports: Path, files: Collection[str], profile: Profile | None = None
) -> Iterator[Row | Finding]:
    """Stream the rows (raw headers) and findings of a source object's files in order."""
    expected: set[str] | None = None
    if profile is not None:
        expected = {c.name for o in profile.objects for c in o.columns}
        expected |= {a for o in profile.objects for c in o.columns for a in c.aliases}
    for name in files:
        path = exports / name
        if not path.is_file():
            continue
        with open_table(path, name=name, expected=expected) as table:
            yield from table


def read_rows(
    mapping: Mapping, exports: Path, profile: Profile | None = None
) -> dict[str, list[Row]]:
    """Every source object's rows (for apply in tests and small exports)."""
    out: dict[str, list[Row]] = {}
    for obj_name, source in mapping.sources.items():
        out[obj_name] = [
            r for r in iter_source_rows(exports, source.files, profile) if isinstance(r, Row)
        ]
    return out


def attachment_names(folder: Path | None) -> tuple[str, ...]:
    """Every file below the attachments folder, as ``/``-separated paths relative to it.

    Pass them as :attr:`~pdmigrate.mapping.payload.ApplyContext.attachments`; apply
    matches an object's ``options.attachments`` pattern against them (invoice PDFs).
    """
    if folder is None or not folder.is_dir():
        return ()
    return tuple(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()))
