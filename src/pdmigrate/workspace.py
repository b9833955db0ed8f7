"""The migration workspace: one folder per migration.

``pdmigrate init DIR`` creates::

    DIR/pdmigrate.toml   source system, exports and attachments folders, target,
                         practice country / time zone / currency (editable)
    DIR/state.db         runs, and later ops, id map and audit log (mode 0600)
    DIR/reports/         HTML, CSV and JSON reports
    DIR/sandbox.db       only with ``--target sandbox``: the local Pipedrive account

The Pipedrive API token is never written here (it comes from PIPEDRIVE_API_TOKEN).
With ``--target sandbox`` a random token for the *local sandbox account only* is
kept in ``[sandbox]``; it opens nothing outside this folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.profiles import load_profile
from pdmigrate.state import State, hash_inputs, now_utc

CONFIG_NAME = "pdmigrate.toml"
STATE_NAME = "state.db"
REPORTS_NAME = "reports"
SANDBOX_DB_NAME = "sandbox.db"
#: The synth exports' list of Pipedrive users a sandbox account is seeded with.
USERS_FILE = "users.json"
SANDBOX = "sandbox"

_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/.*)?$")


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    """What ``pdmigrate.toml`` holds (paths resolved against the workspace folder)."""

    name: str
    source: str
    exports: Path
    attachments: Path | None
    target: str
    country: str
    timezone: str
    currency: str
    date_order: str
    max_file_mb: int = 50
    created: str = ""
    sandbox_db: str | None = None
    sandbox_token: str | None = None
    sandbox_plan: str = "growth"

    @property
    def is_sandbox(self) -> bool:
        """True when the target is the workspace's own sandbox account."""
        return self.target == SANDBOX


@dataclass(frozen=True, slots=True)
class Workspace:
    """An opened workspace: its folder and its configuration."""

    root: Path
    config: WorkspaceConfig

    @property
    def config_path(self) -> Path:
        """``pdmigrate.toml``."""
        return self.root / CONFIG_NAME

    @property
    def state_path(self) -> Path:
        """``state.db``."""
        return self.root / STATE_NAME

    @property
    def reports_dir(self) -> Path:
        """``reports/`` (created on demand)."""
        path = self.root / REPORTS_NAME
        path.mkdir(exist_ok=True)
        return path

    @property
    def sandbox_path(self) -> Path | None:
        """The sandbox database, when the target is the sandbox."""
        if not self.config.is_sandbox or not self.config.sandbox_db:
            return None
        return self.root / self.config.sandbox_db

    def state(self) -> State:
        """Open ``state.db`` (close it, or use ``with``)."""
        return State(self.state_path)

    def export_files(self) -> list[Path]:
        """Every file in the exports folder (recursively), sorted; hidden files skipped."""
        return list_exports(self.config.exports)


def list_exports(folder: Path) -> list[Path]:
    """The data files under ``folder``: every non-hidden file except ``users.json``."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.name != USERS_FILE
    )


# -- TOML -------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = json.dumps(str(value), ensure_ascii=False)
    return text.replace("\x7f", "\\u007f")


def render_config(config: WorkspaceConfig) -> str:
    """``pdmigrate.toml`` text for ``config`` (tomllib reads it back unchanged)."""
    sections: list[tuple[str, list[tuple[str, Any]]]] = [
        ("workspace", [("name", config.name), ("created", config.created)]),
        (
            "source",
            [("system", config.source), ("exports", str(config.exports))]
            + ([("attachments", str(config.attachments))] if config.attachments else []),
        ),
        (
            "practice",
            [
                ("country", config.country),
                ("timezone", config.timezone),
                ("currency", config.currency),
                ("date_order", config.date_order),
                ("max_file_mb", config.max_file_mb),
            ],
        ),
        ("target", [("url", config.target)]),
    ]
    if config.is_sandbox:
        sections.append(
            (
                "sandbox",
                [
                    ("db", config.sandbox_db or SANDBOX_DB_NAME),
                    ("token", config.sandbox_token or ""),
                    ("plan", config.sandbox_plan),
                ],
            )
        )
    lines = [
        "# pdmigrate workspace. Edit the practice settings if the defaults are wrong.",
        "# The Pipedrive API token is never stored here: set PIPEDRIVE_API_TOKEN.",
    ]
    if config.is_sandbox:
        lines.append("# [sandbox].token opens only the local sandbox account in this folder.")
    for title, items in sections:
        lines.append("")
        lines.append(f"[{title}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in items)
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def save_config(root: Path, config: WorkspaceConfig) -> Path:
    """Write ``pdmigrate.toml`` (mode 0600) into ``root``."""
    path = root / CONFIG_NAME
    _write_private(path, render_config(config))
    return path


def _get(data: dict[str, Any], where: str, section: str, key: str, *, required: bool = True) -> Any:
    table = data.get(section)
    if not isinstance(table, dict):
        if required:
            raise ConfigError(f"{where}: the {section} table is missing")
        return None
    if key not in table:
        if required:
            raise ConfigError(f"{where}: {section}.{key} is missing")
        return None
    return table[key]


def _str(data: dict[str, Any], where: str, section: str, key: str, required: bool = True) -> str:
    value = _get(data, where, section, key, required=required)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {section}.{key} must be a string")
    return value


def parse_config(data: dict[str, Any], root: Path, where: str) -> WorkspaceConfig:
    """Validate a parsed ``pdmigrate.toml``; ConfigError names the file and the key.

    Keys are named ``table.key`` (``practice.timezone``): square brackets would be
    read as markup by the CLI's rich console.
    """
    source = _str(data, where, "source", "system")
    try:
        load_profile(source)
    except ConfigError as exc:
        raise ConfigError(f"{where}: source.system: {exc.message}", hint=exc.hint) from None
    exports = root / Path(_str(data, where, "source", "exports")).expanduser()
    attachments_text = _str(data, where, "source", "attachments", required=False)
    attachments = root / Path(attachments_text).expanduser() if attachments_text else None
    target = _str(data, where, "target", "url")
    check_target(target, where)
    country = _str(data, where, "practice", "country")
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ConfigError(f"{where}: practice.country must be a 2-letter code such as AU")
    currency = _str(data, where, "practice", "currency")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(f"{where}: practice.currency must be a 3-letter code such as AUD")
    timezone = _str(data, where, "practice", "timezone")
    check_timezone(timezone, where)
    date_order = _str(data, where, "practice", "date_order", required=False) or "config"
    if date_order not in {"DMY", "MDY", "YMD", "config"}:
        raise ConfigError(f"{where}: practice.date_order must be DMY, MDY or YMD")
    max_mb = _get(data, where, "practice", "max_file_mb", required=False)
    if max_mb is None:
        max_mb = 50
    if not isinstance(max_mb, int) or isinstance(max_mb, bool) or max_mb < 1:
        raise ConfigError(f"{where}: practice.max_file_mb must be a positive whole number")
    sandbox_db = sandbox_token = None
    plan = "growth"
    if target == SANDBOX:
        sandbox_db = _str(data, where, "sandbox", "db")
        sandbox_token = _str(data, where, "sandbox", "token")
        plan = _str(data, where, "sandbox", "plan", required=False) or "growth"
    return WorkspaceConfig(
        name=_str(data, where, "workspace", "name", required=False) or root.name,
        source=source,
        exports=exports,
        attachments=attachments,
        target=target,
        country=country,
        timezone=timezone,
        currency=currency,
        date_order=date_order,
        max_file_mb=max_mb,
        created=_str(data, where, "workspace", "created", required=False),
        sandbox_db=sandbox_db,
        sandbox_token=sandbox_token,
        sandbox_plan=plan,
    )


def check_target(target: str, where: str = "--target") -> None:
    """Accept ``sandbox`` or an http(s) URL such as ``https://COMPANY.pipedrive.com``."""
    if target != SANDBOX and not _URL.match(target):
        raise ConfigError(
            f"{where}: target must be 'sandbox' or a URL such as https://company.pipedrive.com"
        )


def check_timezone(name: str, where: str = "--timezone") -> None:
    """Accept an IANA time zone name such as ``Australia/Darwin``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: unknown IANA time zone", hint="e.g. Australia/Sydney"
        ) from None


def load_workspace(root: Path) -> Workspace:
    """Open the workspace at ``root``; ConfigError naming ``pdmigrate.toml`` if it is unusable."""
    root = Path(root)
    path = root / CONFIG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: not found; {root} is not a pdmigrate workspace",
            hint="create one with `pdmigrate init DIR --source SYSTEM --exports PATH`",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return Workspace(root, parse_config(data, root, str(path)))


def create_workspace(
    root: Path,
    *,
    source: str,
    exports: Path,
    attachments: Path | None = None,
    target: str = SANDBOX,
    name: str | None = None,
    country: str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
) -> Workspace:
    """Create a workspace (``pdmigrate init``); defaults come from the source's profile.

    Records an ``init`` run with the sha256 of every export file. With ``target``
    ``sandbox`` it also creates the local sandbox account, seeded with the exports'
    ``users.json`` when there is one.
    """
    root = Path(root)
    if (root / CONFIG_NAME).exists():
        raise UsageError(
            f"{root / CONFIG_NAME}: already exists; {root} is a workspace",
            hint="use another folder, or edit pdmigrate.toml",
        )
    profile = load_profile(source)
    exports = Path(exports).expanduser().resolve()
    if not exports.is_dir():
        raise UsageError(f"--exports {exports}: no such folder")
    if attachments is not None:
        attachments = Path(attachments).expanduser().resolve()
        if not attachments.is_dir():
            raise UsageError(f"--attachments {attachments}: no such folder")
    check_target(target)
    config = WorkspaceConfig(
        name=name or root.resolve().name,
        source=source,
        exports=exports,
        attachments=attachments,
        target=target,
        country=(country or profile.system.country).upper(),
        timezone=timezone or profile.system.timezone,
        currency=(currency or profile.system.currency).upper(),
        date_order=profile.system.date_order,
        created=now_utc(),
    )
    # Validate overrides the same way a hand-edited file is validated.
    parse_config(_as_data(config), root, "--options")
    if config.is_sandbox:
        config = replace(config, sandbox_db=SANDBOX_DB_NAME, sandbox_token=secrets.token_hex(20))
    root.mkdir(parents=True, exist_ok=True)
    (root / REPORTS_NAME).mkdir(exist_ok=True)
    workspace = Workspace(root, config)
    users = exports / USERS_FILE
    if config.is_sandbox:
        create_sandbox_account(workspace, users if users.is_file() else None)
    save_config(root, config)
    with workspace.state() as state:
        run_id = state.start_run(
            "init", profile=source, inputs=hash_inputs(list_exports(exports), exports)
        )
        state.finish_run(run_id, "done", {"target": config.target})
    return workspace


def _as_data(config: WorkspaceConfig) -> dict[str, Any]:
    return tomllib.loads(render_config(replace(config, target="https://example.invalid")))


def create_sandbox_account(workspace: Workspace, users_file: Path | None) -> int:
    """Create the workspace's sandbox account (its own token), seeded with ``users_file``."""
    from pdmigrate.sandbox.seed import parse_users, seed_account
    from pdmigrate.sandbox.store import Store

    path = workspace.sandbox_path
    token = workspace.config.sandbox_token
    if path is None or not token:
        raise ConfigError(f"{workspace.config_path}: sandbox.db and sandbox.token are needed")
    users = None
    if users_file is not None:
        users = parse_users(users_file.read_text(encoding="utf-8-sig"), str(users_file))
    store = Store(path)
    try:
        with store.transaction():
            account = store.create_account(plan=workspace.config.sandbox_plan)
            seed_account(store, account.company_id, users)
            store.bind_token(token, account.company_id)
    finally:
        store.close()
    os.chmod(path, 0o600)
    return account.company_id
