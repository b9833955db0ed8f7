"""What every new sandbox account starts with, and the `--users` / `--tokens` files.

A new Pipedrive company comes with its users and the default activity types
(call, meeting, task, deadline, email, lunch). The sandbox seeds the same into
every account it opens: :data:`DEFAULT_USERS` unless ``--users FILE`` gives the
list a test or demo needs, and :func:`default_activity_types` always.

File formats (both validated on load; a mistake raises
:class:`~pdmigrate.errors.ConfigError` naming ``file:line``, never a value from
the file and never a token):

``--users FILE``
    A JSON list of objects ``{"name": str, "email": str, "active_flag"?: bool,
    "is_admin"?: bool}``. The first user is the account owner (the token's
    ``/users/me``) and is an admin unless the file says otherwise. Emails are
    unique (case-insensitive). Example::

        [{"name": "Dana Reyes", "email": "dana@clinic.example", "is_admin": true},
         {"name": "Lee Park", "email": "lee@clinic.example"}]

``--tokens FILE``
    One token per line, optionally followed by the company id it opens
    (``TOKEN [COMPANY_ID]``); blank lines and ``#`` comments are ignored. Tokens
    that share a company id are users of one company (one shared daily budget,
    separate burst windows). A token without an id gets a company of its own.
    A JSON object ``{"TOKEN": COMPANY_ID}`` is accepted too. Example::

        # token                              company
        0123456789abcdef0123456789abcdef01234567 1
        fedcba9876543210fedcba9876543210fedcba98 1
        aaaabbbbccccddddeeeeffff0000111122223333
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

from pdmigrate.errors import ConfigError


def _user(name: str, email: str, *, admin: bool = False) -> dict[str, Any]:
    return {"name": name, "email": email, "active_flag": True, "is_admin": admin}


#: Users seeded in every new account when no ``--users`` file is given.
DEFAULT_USERS: tuple[dict[str, Any], ...] = (
    _user("Sandbox Admin", "admin@sandbox.example", admin=True),
    _user("Riley Example", "riley@sandbox.example"),
    _user("Casey Example", "casey@sandbox.example"),
)

#: Pipedrive's default activity types, in their order (id = position).
_DEFAULT_TYPES: tuple[tuple[str, str], ...] = (
    ("Call", "call"),
    ("Meeting", "meeting"),
    ("Task", "task"),
    ("Deadline", "deadline"),
    ("Email", "email"),
    ("Lunch", "lunch"),
)

#: The ``icon_key`` values the v1 spec allows (``addActivityTypeRequest.icon_key``), in its order.
ICON_KEY_LIST: tuple[str, ...] = (
    "task", "email", "meeting", "deadline", "call", "lunch", "calendar", "downarrow",
    "document", "smartphone", "camera", "scissors", "cogs", "bubble", "uparrow", "checkbox",
    "signpost", "shuffle", "addressbook", "linegraph", "picture", "car", "world", "search",
    "clip", "sound", "brush", "key", "padlock", "pricetag", "suitcase", "finish", "plane",
    "loop", "wifi", "truck", "cart", "bulb", "bell", "presentation",
)  # fmt: skip
ICON_KEYS: frozenset[str] = frozenset(ICON_KEY_LIST)

_USER_KEYS = {"name": str, "email": str, "active_flag": bool, "is_admin": bool}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,200}$")


def default_users() -> list[dict[str, Any]]:
    """A fresh copy of the users seeded when no ``--users`` file is given."""
    return [dict(user) for user in DEFAULT_USERS]


def default_activity_types() -> list[dict[str, Any]]:
    """The default activity types: ``name, key_string, icon_key, order_nr, active_flag,
    is_custom_flag, color``, in Pipedrive's order (the list position + 1 is the id)."""
    return [
        {
            "name": name,
            "key_string": key,
            "icon_key": key,
            "order_nr": order,
            "color": "FFFFFF",
            "active_flag": True,
            "is_custom_flag": False,
        }
        for order, (name, key) in enumerate(_DEFAULT_TYPES, start=1)
    ]


class _Inserter(Protocol):
    def insert(self, company_id: int, entity: str, doc: dict[str, Any]) -> dict[str, Any]: ...


def seed_account(
    store: _Inserter, company_id: int, users: list[dict[str, Any]] | None = None
) -> None:
    """Seed a new account: its users (``users`` or :data:`DEFAULT_USERS`; the first is
    the token owner, ``/users/me``) as ``users`` records and the default activity types
    as ``activityTypes`` records, ids 1..n in order. Call it inside the transaction that
    creates the account."""
    for user in users if users is not None else default_users():
        store.insert(company_id, "users", user_record(user))
    for activity_type in default_activity_types():
        store.insert(company_id, "activityTypes", activity_type)


def user_record(user: dict[str, Any]) -> dict[str, Any]:
    """The stored document of a user (``POST /users`` and seeding share it)."""
    return {
        "name": user["name"],
        "email": user["email"],
        "active_flag": bool(user.get("active_flag", True)),
        "is_admin": bool(user.get("is_admin", False)),
        "is_deleted": False,
        "default_currency": "USD",
        "locale": "en_US",
        "lang": 1,
        "phone": None,
        "timezone_name": "UTC",
        "timezone_offset": "+00:00",
        "role_id": 1,
    }


def key_string_for(name: str) -> str:
    """The ``key_string`` Pipedrive derives from a new activity type's name."""
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return key or "activity"


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _json_items(text: str, where: str) -> list[tuple[int, Any]]:
    """Parse a top-level JSON list, returning ``(line, item)`` for each element."""
    decoder = json.JSONDecoder()
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    index = _skip_ws(text, 0)
    if index >= len(text) or text[index] != "[":
        raise ConfigError(
            f"{where}:{_line_of(text, index)}: expected a JSON list of users",
            hint='e.g. [{"name": "Dana Reyes", "email": "dana@clinic.example"}]',
        )
    items: list[tuple[int, Any]] = []
    index = _skip_ws(text, index + 1)
    while text[index] != "]":
        value, end = decoder.raw_decode(text, index)
        items.append((_line_of(text, index), value))
        index = _skip_ws(text, end)
        if text[index] == ",":
            index = _skip_ws(text, index + 1)
    return items


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def parse_users(text: str, where: str = "<users>") -> list[dict[str, Any]]:
    """Validate the text of a ``--users`` file; return the users, normalised.

    Each user gets ``active_flag`` (default true) and ``is_admin`` (default true
    for the first user, false for the rest). Raises :class:`ConfigError` with
    ``where:line``.
    """
    users: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for position, (line, item) in enumerate(_json_items(text, where)):
        at = f"{where}:{line}"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: each user must be a JSON object with name and email")
        unknown = sorted(set(item) - set(_USER_KEYS))
        if unknown:
            raise ConfigError(
                f"{at}: unknown key {unknown[0]!r}",
                hint="allowed keys: name, email, active_flag, is_admin",
            )
        for key in ("name", "email"):
            if key not in item:
                raise ConfigError(f"{at}: user has no {key!r}")
        for key, kind in _USER_KEYS.items():
            if key in item and not isinstance(item[key], kind):
                raise ConfigError(f"{at}: {key!r} must be a JSON {_kind_name(kind)}")
        name = item["name"].strip()
        email = item["email"].strip()
        if not name:
            raise ConfigError(f"{at}: 'name' is empty")
        if len(name) > 255:
            raise ConfigError(f"{at}: 'name' is longer than 255 characters")
        if not _EMAIL.match(email):
            raise ConfigError(f"{at}: 'email' is not an email address")
        folded = email.lower()
        if folded in seen:
            raise ConfigError(f"{at}: duplicate email (first on line {seen[folded]})")
        seen[folded] = line
        users.append(
            {
                "name": name,
                "email": email,
                "active_flag": item.get("active_flag", True),
                "is_admin": item.get("is_admin", position == 0),
            }
        )
    if not users:
        raise ConfigError(f"{where}:1: the list of users is empty; an account needs one")
    return users


def _kind_name(kind: type) -> str:
    return "boolean" if kind is bool else "string"


def load_users(path: Path) -> list[dict[str, Any]]:
    """Read and validate a ``--users`` JSON file (see the module docstring)."""
    return parse_users(_read(path), str(path))


def parse_tokens(text: str, where: str = "<tokens>") -> dict[str, int]:
    """Validate the text of a ``--tokens`` file; return ``{token: company_id}``.

    Tokens without a company id each get a new company, numbered after the
    highest id the file names. Raises :class:`ConfigError` with ``where:line``
    (the token itself is never part of a message).
    """
    if text.lstrip().startswith("{"):
        return _parse_tokens_json(text, where)
    given: dict[str, int] = {}
    bare: list[str] = []
    first_line: dict[str, int] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        at = f"{where}:{line_no}"
        parts = line.replace(",", " ").split()
        if len(parts) > 2:
            raise ConfigError(f"{at}: expected 'TOKEN [COMPANY_ID]', got {len(parts)} fields")
        token = parts[0]
        if not _TOKEN.match(token):
            raise ConfigError(f"{at}: the token has characters a token cannot have")
        if token in first_line:
            raise ConfigError(f"{at}: duplicate token (first on line {first_line[token]})")
        first_line[token] = line_no
        if len(parts) == 1:
            bare.append(token)
            continue
        given[token] = _company_id(parts[1], at)
    if not first_line:
        raise ConfigError(f"{where}:1: no tokens in the file")
    return _assign(given, bare)


def _company_id(raw: Any, at: str) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{at}: the company id must be a positive whole number")
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"{at}: the company id must be a positive whole number")
    return raw


def _assign(given: dict[str, int], bare: list[str]) -> dict[str, int]:
    tokens = dict(given)
    next_id = max(given.values(), default=0) + 1
    for token in bare:
        tokens[token] = next_id
        next_id += 1
    return tokens


def _parse_tokens_json(text: str, where: str) -> dict[str, int]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{where}:1: expected a JSON object {{token: company_id}} with tokens")
    lines = text.splitlines()
    tokens: dict[str, int] = {}
    for token, company in data.items():
        line = next((n for n, s in enumerate(lines, 1) if json.dumps(token) in s), 1)
        at = f"{where}:{line}"
        if not _TOKEN.match(token):
            raise ConfigError(f"{at}: the token has characters a token cannot have")
        tokens[token] = _company_id(company, at)
    return tokens


def load_tokens(path: Path) -> dict[str, int]:
    """Read and validate a ``--tokens`` file (see the module docstring)."""
    return parse_tokens(_read(path), str(path))
