"""What plan reads from the target account: one listing each, never a search per record.

:class:`AccountSnapshot` is the pure view the other plan modules take (tests build it
directly); :func:`read_account` fills it with one ``GET /v1/users``, the four
``*Fields`` lists, pipelines, stages and activity types. :func:`existing_emails` reads
the people already in the account through the paged persons listing (one request per
page of 500). :func:`workspace_client` opens the workspace's client: the local sandbox
in process, or the URL in ``pdmigrate.toml`` with ``PIPEDRIVE_API_TOKEN``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import ConfigError

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient
    from pdmigrate.workspace import Workspace

#: Entities with custom fields, and the client attribute listing them.
FIELD_LISTS: dict[str, str] = {
    "person": "person_fields",
    "organization": "organization_fields",
    "deal": "deal_fields",
    "product": "product_fields",
}
#: Persons per page of the account-dedup listing (v2 maximum).
PERSON_PAGE = 500
#: Burst limit (x-ratelimit-limit) -> plan name.
PLAN_BY_BURST = {20: "lite", 40: "growth", 100: "premium", 120: "ultimate"}


@dataclass(frozen=True)
class AccountUser:
    """A Pipedrive user as the user listing shows it."""

    id: int
    name: str
    email: str
    active: bool
    admin: bool = False
    is_you: bool = False


@dataclass(frozen=True)
class AccountField:
    """An existing field: key (40-char hash or native code), name, type, option labels."""

    key: str
    name: str
    field_type: str
    custom: bool
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountSnapshot:
    """The account's users, fields, pipelines, stages and activity types."""

    users: tuple[AccountUser, ...] = ()
    fields: Mapping[str, tuple[AccountField, ...]] = field(default_factory=dict)
    pipelines: tuple[tuple[int, str], ...] = ()  # (id, name)
    stages: tuple[tuple[int, int, str], ...] = ()  # (id, pipeline_id, name)
    activity_types: tuple[tuple[str, str], ...] = ()  # (key_string, name), active only
    burst_limit: int | None = None
    daily_token_limit: int | None = None  # x-daily-ratelimit-token-limit, when sent

    @property
    def contact_sync(self) -> bool:
        """True when personFields lists ``birthday`` and ``postal_address`` (Contact Sync)."""
        keys = {f.key for f in self.fields.get("person", ())}
        return {"birthday", "postal_address"} <= keys

    @property
    def me(self) -> AccountUser | None:
        """The token's user (``is_you`` in the listing)."""
        return next((u for u in self.users if u.is_you), None)

    @property
    def plan_hint(self) -> str | None:
        """The plan the burst limit header implies, if the server sent one."""
        return None if self.burst_limit is None else PLAN_BY_BURST.get(self.burst_limit)

    def seats_hint(self, multiplier: int, base: int = 30_000) -> int | None:
        """Seats the daily token limit implies on a plan (None unless it divides evenly)."""
        limit = self.daily_token_limit
        if not limit or limit % (base * multiplier):
            return None
        return limit // (base * multiplier)

    def custom_field_count(self) -> int:
        """Custom fields the company already has (the plan cap counts them)."""
        return sum(1 for fs in self.fields.values() for f in fs if f.custom)


def parse_user(raw: Mapping[str, Any]) -> AccountUser:
    """A v1 user record -> AccountUser (admin from ``is_admin`` or any ``access[].admin``)."""
    access = raw.get("access") or []
    admin = bool(raw.get("is_admin")) or any(
        isinstance(a, Mapping) and a.get("admin") for a in access
    )
    return AccountUser(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        email=str(raw.get("email") or ""),
        active=bool(raw.get("active_flag", True)) and not raw.get("is_deleted", False),
        admin=admin,
        is_you=bool(raw.get("is_you", False)),
    )


def parse_field(raw: Mapping[str, Any]) -> AccountField:
    """A v2 (``field_code``/``field_name``) or v1 (``key``/``name``) field record."""
    key = str(raw.get("field_code") or raw.get("key") or "")
    custom = raw.get("is_custom_field")
    if custom is None:
        custom = len(key) == 40 and all(c in "0123456789abcdef" for c in key)
    options = tuple(
        str(o.get("label")) for o in (raw.get("options") or []) if isinstance(o, Mapping)
    )
    return AccountField(
        key=key,
        name=str(raw.get("field_name") or raw.get("name") or ""),
        field_type=str(raw.get("field_type") or ""),
        custom=bool(custom),
        options=options,
    )


def snapshot_from_raw(
    *,
    users: Iterable[Mapping[str, Any]],
    fields: Mapping[str, Iterable[Mapping[str, Any]]],
    pipelines: Iterable[Mapping[str, Any]] = (),
    stages: Iterable[Mapping[str, Any]] = (),
    activity_types: Iterable[Mapping[str, Any]] = (),
    burst_limit: int | None = None,
    daily_token_limit: int | None = None,
) -> AccountSnapshot:
    """Build a snapshot from raw API records (pure; tests inject these)."""
    return AccountSnapshot(
        users=tuple(parse_user(u) for u in users),
        fields={e: tuple(parse_field(f) for f in fs) for e, fs in fields.items()},
        pipelines=tuple((int(p["id"]), str(p["name"])) for p in pipelines),
        stages=tuple((int(s["id"]), int(s["pipeline_id"]), str(s["name"])) for s in stages),
        activity_types=tuple(
            (str(t.get("key_string") or ""), str(t.get("name") or ""))
            for t in activity_types
            if t.get("active_flag", True)
        ),
        burst_limit=burst_limit,
        daily_token_limit=daily_token_limit,
    )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "")
    return int(value) if value.isdigit() else None


async def read_account(client: PipedriveClient) -> AccountSnapshot:
    """One listing each: users (v1, once), four field lists, pipelines, stages, types."""
    resp = await client.call("users.list")
    users = resp.data if isinstance(resp.data, list) else []
    fields = {e: await getattr(client, attr).list() for e, attr in FIELD_LISTS.items()}
    pipelines = [p async for p in client.pipelines.list()]
    stages = [s async for s in client.stages.list()]
    types = await client.activity_types.list()
    return snapshot_from_raw(
        users=users,
        fields=fields,
        pipelines=pipelines,
        stages=stages,
        activity_types=types,
        burst_limit=_int_header(resp.headers, "x-ratelimit-limit"),
        daily_token_limit=_int_header(resp.headers, "x-daily-ratelimit-token-limit"),
    )


def person_emails(record: Mapping[str, Any]) -> list[str]:
    """Normalised emails of a person record (v2 ``emails`` or v1 ``email``)."""
    raw = record.get("emails", record.get("email")) or []
    if isinstance(raw, str):
        raw = [raw]
    out: list[str] = []
    for item in raw:
        value = item.get("value") if isinstance(item, Mapping) else item
        if isinstance(value, str) and "@" in value:
            out.append(value.strip().casefold())
    return out


async def existing_emails(
    client: PipedriveClient, *, source_id_key: str | None = None, page_size: int = PERSON_PAGE
) -> dict[str, int]:
    """Email -> person id of the people in the account, from the paged persons listing.

    One request per page; no search. People carrying a Source ID value (written by an
    earlier pdmigrate run) are left out: they are ours, not pre-existing. The lowest id
    wins when two people share an email.
    """
    out: dict[str, int] = {}
    async for person in client.persons.list(page_size=page_size):
        custom = person.get("custom_fields") or {}
        if source_id_key and isinstance(custom, Mapping) and custom.get(source_id_key):
            continue
        for email in person_emails(person):
            pid = int(person["id"])
            if email not in out or pid < out[email]:
                out[email] = pid
    return out


@asynccontextmanager
async def workspace_client(workspace: Workspace) -> AsyncIterator[PipedriveClient]:
    """The workspace's Pipedrive client: the sandbox in process, or the configured URL."""
    from pdmigrate.pipedrive.client import PipedriveClient

    config = workspace.config
    if config.is_sandbox:
        from pdmigrate.sandbox.app import Sandbox, app_for
        from pdmigrate.sandbox.config import SandboxConfig
        from pdmigrate.sandbox.inprocess import AsyncSandboxTransport

        path = workspace.sandbox_path
        if path is None or not config.sandbox_token:
            raise ConfigError(f"{workspace.config_path}: [sandbox] needs db and token")
        sandbox = Sandbox(SandboxConfig(db_path=path, plan=config.sandbox_plan, rate_limits=False))
        transport = AsyncSandboxTransport(app_for(sandbox))
        client = PipedriveClient(
            "http://sandbox.local",
            config.sandbox_token,
            transport=transport,
            plan=config.sandbox_plan,
        )
        try:
            yield client
        finally:
            await client.aclose()
            sandbox.close()
        return
    token = os.environ.get("PIPEDRIVE_API_TOKEN", "")
    client = PipedriveClient(config.target, token)
    try:
        yield client
    finally:
        await client.aclose()
