"""mapping.yaml: the model, YAML with line numbers, and the round trip."""

from __future__ import annotations

import pytest
from tests.mapping.conftest import documented_tables, settings_for

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.io import parse_text, to_yaml
from pdmigrate.mapping.model import GROUP_OPERATIONS
from pdmigrate.mapping.propose import propose
from pdmigrate.profiles import load_profile

BASE = """\
version: 1
profile: corepractice
settings: {country: AU, timezone: Australia/Sydney, currency: AUD, date_order: dmy}
pipelines:
- name: Plans
  stages:
  - {name: Proposed, probability: 20}
objects:
- id: patient_person
  source: [patients]
  targets: [person]
  cardinality: one_to_one
  key: [Patient ID]
  fields:
  - {column: First Name, field: first_name, transform: strip}
  - {column: Email, field: emails, transform: email}
"""


def test_valid_mapping_parses_with_column_shorthand() -> None:
    """`column:` is shorthand for a one-element `columns:` list."""
    mapping, lines = parse_text(BASE)
    assert mapping.object("patient_person").fields[0].columns == ["First Name"]
    assert lines.line(("objects", 0, "fields", 1)) == 16


def test_error_names_the_line_of_the_bad_field_line() -> None:
    """A bad rollup on the second field line is reported at that line (16)."""
    text = BASE.replace("transform: email}", "transform: email, rollup: average}")
    with pytest.raises(ConfigError) as err:
        parse_text(text, "mapping.yaml")
    assert err.value.message.startswith("mapping.yaml:16: objects.0.fields.1.rollup")


def test_error_names_the_line_of_a_bad_stage_probability() -> None:
    """A probability over 100 is reported at its stage line (7)."""
    with pytest.raises(ConfigError) as err:
        parse_text(BASE.replace("probability: 20", "probability: 120"))
    assert err.value.message.startswith("mapping.yaml:7: pipelines.0.stages.0.probability")


def test_not_valid_yaml_names_the_line() -> None:
    """A YAML syntax error names its line."""
    with pytest.raises(ConfigError) as err:
        parse_text(BASE + "  - {column: [broken\n")
    assert err.value.message.startswith("mapping.yaml:18: not valid YAML")


def test_not_migrated_needs_a_reason() -> None:
    """An entry of not_migrated without a reason is refused at its line."""
    with pytest.raises(ConfigError) as err:
        parse_text(BASE + "not_migrated:\n- {object: reminders}\n")
    assert err.value.message.startswith("mapping.yaml:18: not_migrated.0.reason")


def test_source_id_only_on_entities_that_have_custom_fields() -> None:
    """source_id on an activity object is refused: activities carry a marker instead."""
    text = BASE.replace("targets: [person]", "targets: [activity]").replace(
        "key: [Patient ID]", "key: [Patient ID]\n  source_id: true"
    )
    with pytest.raises(ConfigError) as err:
        parse_text(text)
    assert "source_id is only for persons, organizations, deals and products" in err.value.message


@pytest.mark.parametrize("system", ["corepractice", "practicemaster", "visualpractice"])
def test_proposal_round_trips_through_yaml(system: str) -> None:
    """to_yaml then parse_text gives back the same mapping, one line per field line."""
    profile = load_profile(system)
    proposal = propose(profile, settings_for(profile), documented_tables(profile))
    text = to_yaml(proposal.mapping)
    parsed, lines = parse_text(text)
    assert parsed == proposal.mapping
    first = parsed.objects[0].fields[0]
    line_no = lines.line(("objects", 0, "fields", 0))
    assert line_no is not None
    assert f"columns: [{first.columns[0]}]" in text.splitlines()[line_no - 1]


def test_group_operations_are_the_named_ones() -> None:
    """The issue's operations are all supported names."""
    for op in ("group_by", "sum", "count", "first", "last", "pivot", "note_table"):
        assert op in GROUP_OPERATIONS
