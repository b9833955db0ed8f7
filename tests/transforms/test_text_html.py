"""Text and HTML transforms: exact outputs, multi-column input and value maps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import MappingProxyType

import pytest

from pdmigrate.transforms import Ok, Problem, TransformContext, parse_transform


def test_text_keeps_exactly(run) -> None:
    """text keeps spacing and leading zeros; numbers and dates become plain text."""
    assert run("text", "  0800 ") == Ok("  0800 ")
    assert run("text", 2116.0) == Ok("2116")
    assert run("text", Decimal("1234.010")) == Ok("1234.010")
    assert run("text", dt.date(2024, 3, 5)) == Ok("2024-03-05")
    assert run("text", None) == Ok(None)


def test_strip_upper_lower(run) -> None:
    """strip trims (NBSP and BOM too) and blank becomes empty; upper and lower change case."""
    assert run("strip", "\ufeff  Jane\u00a0 ") == Ok("Jane")
    assert run("strip", "   ") == Ok(None)
    assert run("strip | upper", " nsw ") == Ok("NSW")
    assert run("lower", "Jane@Example.COM") == Ok("jane@example.com")


def test_truncate_warns(run) -> None:
    """truncate(255) cuts longer text and says so; shorter text is untouched."""
    long = "a" * 300
    assert run("truncate(255)", long) == Ok(
        "a" * 255, (Problem("text.truncated", "text cut to 255 characters from 300"),)
    )
    assert run("truncate(255)", "short") == Ok("short")


def test_default(run) -> None:
    """default fills empty cells (and all-empty columns) and leaves values alone."""
    assert run("default(Unknown)", "") == Ok("Unknown")
    assert run("default(Unknown)", None) == Ok("Unknown")
    assert run("default(Unknown)", ("", "  ")) == Ok("Unknown")
    assert run("default(Unknown)", "Known") == Ok("Known")
    assert run('default("a, b")', "") == Ok("a, b")


def test_concat_columns(run) -> None:
    """concat joins several columns in order, skipping empty ones."""
    assert run("concat", ("Unit 3", "", "12 Harbour St")) == Ok("Unit 3 12 Harbour St")
    assert run('concat(", ")', ("12 Harbour St", "Sydney", None, "2000")) == Ok(
        "12 Harbour St, Sydney, 2000"
    )
    assert run('concat(" ") | datetime', ("05/03/2024", "09:30")) == Ok(
        dt.datetime(2024, 3, 4, 22, 30, tzinfo=dt.UTC)
    )
    assert run("concat", ("", None)) == Ok(None)


def test_join_and_split(run) -> None:
    """split makes a list from a multi-value cell; join writes one back without repeats."""
    assert run("split", "D0120; D1110|D0120\nD2140") == Ok(("D0120", "D1110", "D0120", "D2140"))
    assert run('split(",")', "a, b,,c") == Ok(("a", "b", "c"))
    assert run('split | join(", ")', "D0120; D1110;D0120") == Ok("D0120, D1110")
    assert run("phone(AU) | join", "H: 02 9876 5432 M: 0412 345 678") == Ok(
        "+61298765432, +61412345678"
    )


@pytest.fixture
def maps() -> TransformContext:
    """A context holding two value maps."""
    return TransformContext(
        tables=MappingProxyType(
            {
                "status": {"Checked Out": "won", "No Show": "lost", "Scheduled": "open"},
                "done": {"Completed": True, "Booked": False},
            }
        )
    )


def test_lookup(run, maps) -> None:
    """lookup ignores case and spacing and may map to any value kind."""
    assert run("lookup(status)", "  checked   OUT ", maps) == Ok("won")
    assert run("lookup(done)", "Completed", maps) == Ok(True)
    assert run("lookup(status)", "", maps) == Ok(None)
    assert run("split | lookup(status)", "No Show;Scheduled", maps) == Ok(("lost", "open"))


def test_lookup_unmapped(run, maps) -> None:
    """Unknown values are findings; with keep they pass through with a warning."""
    assert run("lookup(status)", "Walked Out", maps) == Problem(
        "lookup.unmapped", "value not in table 'status'"
    )
    assert run("lookup(status, keep)", "Walked Out", maps) == Ok(
        "Walked Out",
        (Problem("lookup.unmapped", "value not in table 'status', kept as is"),),
    )
    assert run("lookup(stages)", "x", maps) == Problem(
        "lookup.no_table", "no value map named 'stages'"
    )


# --- HTML -----------------------------------------------------------------------------


def test_html_to_text(run) -> None:
    """Paragraphs, breaks and lists become lines; entities decode; scripts vanish."""
    markup = (
        "<p>Patient&nbsp;reports <b>pain</b> upper left.</p><p>Plan:<br>X-ray</p>"
        "<ul><li>OPG</li><li>Review in 2&nbsp;weeks</li></ul><script>track()</script>"
    )
    assert run("html_to_text", markup) == Ok(
        "Patient reports pain upper left.\n\nPlan:\nX-ray\n\n- OPG\n- Review in 2 weeks"
    )


def test_html_to_text_plain_and_entities(run) -> None:
    """Plain text keeps its line breaks; a stray entity decodes (O&#39;Brien)."""
    assert run("html_to_text", "Mrs O&#39;Brien\r\ncalled") == Ok("Mrs O'Brien\ncalled")


def test_html_to_text_links_and_tables(run) -> None:
    """Links keep their address; table cells are separated by bars."""
    markup = (
        '<a href="https://example.com/x">form</a>'
        "<table><tr><th>Item</th><th>Fee</th></tr><tr><td>D0120</td><td>$60</td></tr></table>"
    )
    assert run("html_to_text", markup) == Ok(
        "form (https://example.com/x)\n\nItem | Fee\nD0120 | $60"
    )


def test_rtf_is_a_finding(run) -> None:
    """RTF notes are reported, not passed on as control words."""
    assert run("html_to_text", r"{\rtf1\ansi hello}") == Problem(
        "html.rtf", "RTF content is not converted; export notes as text or HTML"
    )


def test_html_sanitize(run) -> None:
    """Safe formatting stays; scripts, handlers, styles and javascript: links go."""
    markup = (
        '<p onclick="steal()" style="color:red">Hi <b>there</b></p>'
        "<script>alert(1)</script><style>p{}</style>"
        '<a href="javascript:alert(1)">bad</a> <a href="https://example.com">good</a>'
        "<iframe src=x></iframe><ul><li>one</li></ul>"
    )
    assert run("html_sanitize", markup) == Ok(
        "<p>Hi <b>there</b></p>"
        '<a rel="noopener noreferrer">bad</a> '
        '<a href="https://example.com" rel="noopener noreferrer">good</a>'
        "<ul><li>one</li></ul>"
    )


def test_html_sanitize_plain_text(run) -> None:
    """Plain text is escaped and its line breaks become <br>."""
    assert run("html_sanitize", "Fee < $100 & paid\nThanks") == Ok(
        "Fee &lt; $100 &amp; paid<br>Thanks"
    )


def test_lookup_follows_the_context_table() -> None:
    """One parsed lookup used with two contexts reads each context's own table."""
    lookup = parse_transform("lookup(status)")
    first = TransformContext(tables=MappingProxyType({"status": {"Paid": "won"}}))
    second = TransformContext(tables=MappingProxyType({"status": {"Paid": "lost"}}))
    assert lookup("paid", first) == Ok("won")
    assert lookup("paid", second) == Ok("lost")
    assert lookup("PAID", first) == Ok("won")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<div>line one</div><div>line two</div>", "line one\nline two"),
        ("<ul><li><p>x</p></li><li><p>y</p></li></ul>", "- x\n- y"),
        ("<ol><li>one<ul><li>nested</li></ul></li></ol>", "- one\n- nested"),
        ("<p>a</p><br><p>b</p>", "a\n\nb"),
        ("a<br><br>b", "a\n\nb"),
        ("<p class=MsoNormal>Hi<o:p></o:p></p>", "Hi"),
    ],
)
def test_html_to_text_editor_markup(run, markup: str, expected: str) -> None:
    """Editor markup (a div per line, paragraphs in list items, Word's o:p) reads cleanly."""
    assert run("html_to_text", markup) == Ok(expected)
