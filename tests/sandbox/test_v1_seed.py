"""The users and activity types every new account starts with, and the --users/--tokens files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdmigrate.errors import ConfigError
from pdmigrate.sandbox import seed


def test_default_activity_types_are_pipedrives_six_in_order() -> None:
    """New accounts get call, meeting, task, deadline, email and lunch, numbered 1-6."""
    types = seed.default_activity_types()
    assert [(t["key_string"], t["name"], t["order_nr"]) for t in types] == [
        ("call", "Call", 1),
        ("meeting", "Meeting", 2),
        ("task", "Task", 3),
        ("deadline", "Deadline", 4),
        ("email", "Email", 5),
        ("lunch", "Lunch", 6),
    ]
    assert all(t["icon_key"] == t["key_string"] for t in types)
    assert all(t["active_flag"] is True and t["is_custom_flag"] is False for t in types)


def test_default_users_have_one_admin_first() -> None:
    """Without --users an account has three users and the first is the admin."""
    users = seed.default_users()
    assert [u["email"] for u in users] == [
        "admin@sandbox.example",
        "riley@sandbox.example",
        "casey@sandbox.example",
    ]
    assert [u["is_admin"] for u in users] == [True, False, False]
    users[0]["name"] = "changed"
    assert seed.default_users()[0]["name"] == "Sandbox Admin"


def test_key_string_is_derived_from_the_name() -> None:
    """A custom activity type named 'Video call' gets key_string 'video_call'."""
    assert seed.key_string_for("Video call") == "video_call"
    assert seed.key_string_for("  Recall / check-up! ") == "recall_check_up"
    assert seed.key_string_for("!!!") == "activity"


def test_users_file_is_normalised(tmp_path: Path) -> None:
    """The first user is admin by default, active_flag defaults to true, names are trimmed."""
    path = tmp_path / "users.json"
    path.write_text(
        '[\n  {"name": " Dana Reyes ", "email": "dana@clinic.example"},\n'
        '  {"name": "Lee Park", "email": "lee@clinic.example", "active_flag": false}\n]\n',
        encoding="utf-8",
    )
    assert seed.load_users(path) == [
        {
            "name": "Dana Reyes",
            "email": "dana@clinic.example",
            "active_flag": True,
            "is_admin": True,
        },
        {
            "name": "Lee Park",
            "email": "lee@clinic.example",
            "active_flag": False,
            "is_admin": False,
        },
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "x"}', "u.json:1: expected a JSON list of users"),
        ("[\n  {\"name\": \"A\",\n", "u.json:3: not valid JSON (Expecting property name"),
        ('[\n  {"name": "A"}\n]', "u.json:2: user has no 'email'"),
        ('[\n\n  "dana@clinic.example"\n]', "u.json:3: each user must be a JSON object"),
        ('[{"name": "A", "email": "not-an-email"}]', "u.json:1: 'email' is not an email address"),
        ('[{"name": "  ", "email": "a@b.example"}]', "u.json:1: 'name' is empty"),
        ('[{"name": "A", "email": "a@b.example", "is_admin": "yes"}]',
         "u.json:1: 'is_admin' must be a JSON boolean"),
        ('[{"name": "A", "email": "a@b.example", "emial": "x"}]', "u.json:1: unknown key 'emial'"),
        ('[\n {"name": "A", "email": "a@b.example"},\n {"name": "B", "email": "A@B.example"}\n]',
         "u.json:3: duplicate email (first on line 2)"),
        ("[]", "u.json:1: the list of users is empty"),
    ],
)  # fmt: skip
def test_bad_users_file_names_file_and_line(text: str, message: str) -> None:
    """Every mistake in a --users file is a ConfigError that starts with file:line."""
    with pytest.raises(ConfigError) as info:
        seed.parse_users(text, "u.json")
    assert str(info.value).startswith(message)


def test_missing_users_file_is_a_config_error(tmp_path: Path) -> None:
    """A --users path that does not exist says so, with the path."""
    with pytest.raises(ConfigError, match=r"nope\.json: file not found"):
        seed.load_users(tmp_path / "nope.json")


def test_tokens_file_lines_and_company_ids(tmp_path: Path) -> None:
    """Tokens sharing an id share a company; a bare token gets the next free company id."""
    path = tmp_path / "tokens.txt"
    path.write_text("# token company\ntok-a 7\n\ntok-b   # no company\ntok-c,7\n", encoding="utf-8")
    assert seed.load_tokens(path) == {"tok-a": 7, "tok-c": 7, "tok-b": 8}


def test_tokens_file_as_json_object() -> None:
    """A JSON object {token: company_id} is accepted too."""
    assert seed.parse_tokens('{"t1": 1, "t2": 2}', "t.json") == {"t1": 1, "t2": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("secret-one 1\nsecret-one 2\n", "t.txt:2: duplicate token (first on line 1)"),
        ("secret-one zero\n", "t.txt:1: the company id must be a positive whole number"),
        ("secret-one 0\n", "t.txt:1: the company id must be a positive whole number"),
        ("secret-one 1 extra\n", "t.txt:1: expected 'TOKEN [COMPANY_ID]', got 3 fields"),
        ("# only a comment\n", "t.txt:1: no tokens in the file"),
        ('{\n "secret-one": 1,\n "secret-two": -4\n}', "t.txt:3: the company id must be"),
        ('{"secret-one": }', "t.txt:1: not valid JSON"),
    ],
)
def test_bad_tokens_file_names_line_never_the_token(text: str, message: str) -> None:
    """Mistakes in a --tokens file name file:line and never echo the token itself."""
    with pytest.raises(ConfigError) as info:
        seed.parse_tokens(text, "t.txt")
    assert str(info.value).startswith(message)
    assert "secret" not in str(info.value)


def test_seed_account_stores_users_then_types() -> None:
    """seed_account() gives users ids 1..n in file order and the six types ids 1..6."""
    from pdmigrate.sandbox.store import Store

    store = Store()
    account = store.create_account()
    users = seed.parse_users('[{"name": "A", "email": "a@x.example"}, '
                             '{"name": "B", "email": "b@x.example"}]')  # fmt: skip
    seed.seed_account(store, account.company_id, users)
    stored = store.list(account.company_id, "users")
    assert [(u["id"], u["email"], u["is_admin"]) for u in stored] == [
        (1, "a@x.example", True),
        (2, "b@x.example", False),
    ]
    types = store.list(account.company_id, "activityTypes")
    assert [(t["id"], t["key_string"]) for t in types][:2] == [(1, "call"), (2, "meeting")]
    assert len(types) == 6
    store.close()
