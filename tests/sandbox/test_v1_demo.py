"""`make demo`: sandbox over real HTTP, a person with email, phone and custom field, read back."""

from __future__ import annotations

import pytest

from pdmigrate import demo


@pytest.mark.slow
def test_demo_round_trip_is_exact(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo exits 0, reports an exact round trip and shows the values it read back."""
    assert demo.main() == 0
    err = capsys.readouterr().err
    assert "round trip exact" in err
    assert "ada.lovelace@example.com" in err
    assert "+61 2 5550 1234" in err
    assert "PM-000123" in err
    assert "2019-05-01 10:30:00" in err


def test_check_names_each_value_that_differs() -> None:
    """check() lists exactly the fields whose read-back value differs from what was sent."""
    person = {
        "name": "Ada Lovelace",
        "emails": [{"value": "other@example.com"}],
        "phones": [{"value": "+61 2 5550 1234"}],
        "custom_fields": {"abc": "PM-000123"},
    }
    result = demo.DemoResult(
        url="http://127.0.0.1:1",
        field_code="abc",
        person=person,
        note={"add_time": "2019-05-01 10:30:01"},
        seconds=0.0,
    )
    assert demo.check(result) == ["email", "note add_time"]
