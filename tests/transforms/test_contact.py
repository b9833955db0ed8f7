"""phone, email and split_name: exact values and the findings a report shows."""

from __future__ import annotations

import pytest

from pdmigrate.transforms import Name, Ok, Phone, Problem, TransformContext, parse_name


def test_free_text_phones_split_with_labels(run) -> None:
    """ "H: 02 9876 5432 W: 0412 345 678" becomes two E.164 numbers labelled home and work."""
    assert run("phone(AU)", "H: 02 9876 5432 W: 0412 345 678") == Ok(
        (
            Phone("+61298765432", "home", primary=True),
            Phone("+61412345678", "work", primary=False),
        )
    )


def test_three_labelled_phones(run) -> None:
    """Home, work and mobile labels are read from the words before each number."""
    result = run("phone(AU)", "Home 02 9876 5432 / Bus (03) 9123 4567, Mob 0412 345 678")
    assert result == Ok(
        (
            Phone("+61298765432", "home", primary=True),
            Phone("+61391234567", "work"),
            Phone("+61412345678", "mobile"),
        )
    )


def test_unlabelled_mobile_and_landline(run) -> None:
    """Without a label a mobile number is 'mobile' and a landline 'work' (Pipedrive's default)."""
    assert run("phone(AU)", "0412 345 678") == Ok((Phone("+61412345678", "mobile", True),))
    assert run("phone(AU)", "(02) 9876-5432") == Ok((Phone("+61298765432", "work", True),))


def test_label_option_for_a_home_phone_column(run) -> None:
    """phone(AU, label=home) labels unlabelled numbers home."""
    assert run("phone(AU, label=home)", "02 9876 5432") == Ok(
        (Phone("+61298765432", "home", True),)
    )


def test_us_phone_and_region_from_context(run, us) -> None:
    """`phone` with no region uses the workspace country."""
    assert run("phone", "(212) 555-0143", us) == Ok((Phone("+12125550143", "work", True),))
    assert run("phone", "+61 2 9876 5432", us) == Ok((Phone("+61298765432", "work", True),))


def test_duplicate_numbers_kept_once(run) -> None:
    """The same number twice in a cell lands once."""
    assert run("phone(AU)", "0412345678; 0412 345 678") == Ok(
        (Phone("+61412345678", "mobile", True),)
    )


def test_extension_kept(run) -> None:
    """An extension is kept after the E.164 number."""
    assert run("phone(AU)", "02 9876 5432 ext 12") == Ok(
        (Phone("+61298765432 ext. 12", "work", True),)
    )


@pytest.mark.parametrize("raw", ["n/a", "none", "123", "call reception"])
def test_not_a_phone(run, raw: str) -> None:
    """Text with no possible number is phone.invalid, naming the region, not the value."""
    assert run("phone(AU)", raw) == Problem("phone.invalid", "not a phone number (region AU)")


def test_phone_to_api_shape() -> None:
    """Phone.to_api gives the v2 phones[] item."""
    assert Phone("+61412345678", "mobile", True).to_api() == {
        "value": "+61412345678",
        "label": "mobile",
        "primary": True,
    }


# --- email --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane.citizen@example.com", "jane.citizen@example.com"),
        ("  Jane.Citizen@Example.COM ", "Jane.Citizen@example.com"),
        ("mailto:jane@example.com", "jane@example.com"),
        ("Jane Citizen <jane@example.com>", "jane@example.com"),
    ],
)
def test_valid_emails(run, raw: str, expected: str) -> None:
    """Valid addresses come back normalised (domain lower-cased, wrapping removed)."""
    assert run("email", raw) == Ok(expected)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("none@none.com", "placeholder address (a 'no email' local part)"),
        ("NoEmail@gmail.com", "placeholder address (a 'no email' local part)"),
        ("patient@noemail.com", "placeholder address (a 'no email' domain)"),
        ("reception@harbourdental.example.au", "the practice's own address, used as a placeholder"),
    ],
)
def test_placeholder_emails_are_missing(run, raw: str, message: str) -> None:
    """Placeholders and the practice's own address are email.placeholder, never kept."""
    assert run("email", raw) == Problem("email.placeholder", message)


@pytest.mark.parametrize("raw", ["jane@", "jane.example.com", "jane@@example.com", "a@b"])
def test_malformed_emails(run, raw: str) -> None:
    """Malformed addresses are email.invalid."""
    assert run("email", raw) == Problem("email.invalid", "not a valid address")


def test_several_addresses_keep_first_valid(run) -> None:
    """Two addresses in one cell: the first valid is kept and the drop is reported."""
    result = run("email", "none@none.com; jane@example.com, joe@example.com")
    assert result == Ok(
        "jane@example.com",
        (
            Problem(
                "email.extra_dropped",
                "the cell holds 3 addresses; the first valid one is kept",
            ),
        ),
    )


def test_own_domain_unset_keeps_address(run) -> None:
    """Without an own domain in the context, a practice-looking address is a real one."""
    ctx = TransformContext(country="AU")
    assert run("email", "reception@harbourdental.example.au", ctx) == Ok(
        "reception@harbourdental.example.au"
    )


# --- split_name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Citizen, Jane M", Name(first="Jane", middle="M", last="Citizen")),
        ("Jane Citizen", Name(first="Jane", last="Citizen")),
        ("Jane Mary Citizen", Name(first="Jane", middle="Mary", last="Citizen")),
        ("Dr Jane Citizen", Name(first="Jane", last="Citizen", title="Dr")),
        ("Mrs. Jane Citizen-Smith", Name(first="Jane", last="Citizen-Smith", title="Mrs.")),
        ("John Smith Jr.", Name(first="John", last="Smith", suffix="Jr.")),
        ("Smith, John, III", Name(first="John", last="Smith", suffix="III")),
        ("Smith Jr, John", Name(first="John", last="Smith", suffix="Jr")),
        ("Ludwig van Beethoven", Name(first="Ludwig", last="van Beethoven")),
        ("Maria de la Cruz", Name(first="Maria", last="de la Cruz")),
        ('John "Jack" Smith', Name(first="John", last="Smith", preferred="Jack")),
        ("SMITH, Mary-Anne (Annie)", Name(first="Mary-Anne", last="SMITH", preferred="Annie")),
        ("Cher", Name(first="Cher")),
        ("  O'Brien ,  Sean  ", Name(first="Sean", last="O'Brien")),
    ],
)
def test_parse_name(raw: str, expected: Name) -> None:
    """Names split into first, middle, last, title, suffix and preferred parts."""
    assert parse_name(raw) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("split_name", "Jane M Citizen Jr"),
        ("split_name(full)", "Jane M Citizen Jr"),
        ("split_name(first)", "Jane"),
        ("split_name(last)", "Citizen"),
        ("split_name(middle)", "M"),
        ("split_name(title)", "Dr"),
        ("split_name(suffix)", "Jr"),
        ("split_name(preferred)", None),
    ],
)
def test_split_name_parts(run, spec: str, expected: str | None) -> None:
    """split_name(part) picks one part; the default is the display name without title."""
    assert run(spec, "Citizen Jr, Dr Jane M") == Ok(expected)


def test_title_only_is_a_finding(run) -> None:
    """A cell holding only a title has no name."""
    assert run("split_name", "Dr.") == Problem(
        "name.empty", "no name left after removing titles and suffixes"
    )


def test_possible_but_invalid_number_is_kept_with_warning(run, us) -> None:
    """A number of the right length with an unassigned area code lands, flagged unverified."""
    warning = Problem("phone.unverified", "a number has a possible length but is not valid")
    assert run("phone", "(555) 555-5555", us) == Ok(
        (Phone("+15555555555", "work", True),), (warning,)
    )
    assert run("phone", "Cell: 123-456-7890", us) == Ok(
        (Phone("+11234567890", "mobile", True),), (warning,)
    )
