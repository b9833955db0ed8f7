"""docs/mapping-file.md and docs/landing.md stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from pdmigrate.mapping.landing_doc import render
from pdmigrate.mapping.model import GROUP_OPERATIONS, FieldLine, Link, Mapping, MappingObject
from pdmigrate.transforms import registry

DOCS = Path(__file__).resolve().parents[2] / "docs"
MAPPING_DOC = (DOCS / "mapping-file.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", MAPPING_DOC, re.M | re.S)
    assert match, f"docs/mapping-file.md has no section {title!r}"
    return match.group(1)


def _first_cells(text: str) -> set[str]:
    return set(re.findall(r"^\| `([^`]+)`", text, re.M))


def test_every_transform_is_listed_and_no_other() -> None:
    """The Transforms table lists exactly the registry's transforms."""
    assert _first_cells(_section("Transforms")) == set(registry())


def test_every_grouping_operation_is_documented() -> None:
    """The rollups table lists exactly the named grouping operations."""
    assert _first_cells(_section("Rollups and grouping")) == set(GROUP_OPERATIONS)


def test_every_link_is_documented() -> None:
    """The links table lists every link name the model accepts."""
    names = set(MappingObject.model_fields["links"].annotation.__args__[0].__args__)  # type: ignore[union-attr]
    assert _first_cells(_section("Objects")) == names
    for key in Link.model_fields:
        assert f"`{key}`" in _section("Objects"), key


def test_every_key_of_the_file_is_documented() -> None:
    """Top-level keys, object keys and field-line keys all appear in their sections."""
    top = _section("Top level")
    for key in Mapping.model_fields:
        assert f"`{key}`" in top, key
    objects = _section("Objects")
    for key in MappingObject.model_fields:
        assert f"{key}:" in objects or f"`{key}`" in objects, key
    lines = _section("Field lines")
    for key in FieldLine.model_fields:
        assert f"`{key}`" in lines, key


def test_landing_page_is_current() -> None:
    """docs/landing.md is what landing_doc renders from the profiles now."""
    assert (DOCS / "landing.md").read_text(encoding="utf-8") == render()
