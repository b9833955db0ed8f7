"""HTML transforms: html_to_text (plain text) and html_sanitize (safe note HTML).

``html_sanitize`` uses nh3 (the Python binding of the Rust ``ammonia`` sanitiser):
an allow-list sanitiser that parses HTML the way browsers do, maintained and fast;
bleach, the usual alternative, is deprecated. Pipedrive shows note ``content`` as
HTML, so a note keeps its formatting but loses scripts, styles, event handlers and
``javascript:`` links.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

from pdmigrate.transforms.core import (
    Args,
    Body,
    Ok,
    Problem,
    Result,
    TransformContext,
    Value,
    is_blank,
    no_args,
    register,
    wrong_type,
)

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>|<!--")
_BLOCK = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "hr"}
)
#: Blocks that editors use one per line: a line break, not a blank line.
_LINE = frozenset({"div", "section", "article", "header", "footer", "address", "dl", "dt"})
_LINE |= {"dd", "form", "caption"}
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})

#: Tags kept in note HTML: Pipedrive's note editor formatting plus tables and headings.
SAFE_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "u", "s", "strike", "del", "sub", "sup", "p", "br"}
    | {"div", "span", "ul", "ol", "li", "blockquote", "pre", "code", "hr"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
)
SAFE_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan"}}
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


_LINE_MARK = "\ue000"  # a block boundary worth one line break
_PARA_MARK = "\ue001"  # a block boundary worth a blank line
_MARKS = re.compile(f"[{_LINE_MARK}{_PARA_MARK}](?:[ \\t]*[{_LINE_MARK}{_PARA_MARK}])*")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.items = 0
        self.bullet = False
        self.href: list[str | None] = []
        self.cells = 0

    def _boundary(self, tag: str) -> None:
        paragraph = tag in _BLOCK and not (self.items and tag in ("p", "ul", "ol"))
        self.out.append(_PARA_MARK if paragraph else _LINE_MARK)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append(_LINE_MARK)
            self.items += 1
            self.bullet = True
        elif tag == "tr":
            self.out.append(_LINE_MARK)
            self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.out.append(" | ")
            self.cells += 1
        elif tag in _BLOCK or tag in _LINE:
            self._boundary(tag)
            self.pre += tag == "pre"
        if tag == "a":
            self.href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "li":
            self.items = max(0, self.items - 1)
        elif tag in _BLOCK or tag in _LINE:
            self._boundary(tag)
            self.pre = max(0, self.pre - (tag == "pre"))
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href and re.match(r"(https?|mailto):", href) and not self._ends_with(href):
                self.out.append(f" ({href.removeprefix('mailto:')})")

    def _ends_with(self, href: str) -> bool:
        tail = "".join(self.out[-3:]).strip()
        return tail.endswith(href.removeprefix("mailto:"))

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        data = data.replace(_LINE_MARK, "").replace(_PARA_MARK, "")
        if self.bullet and data.strip():
            self.out.append("- ")
            self.bullet = False
            data = data.lstrip()
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def _collapse(match: re.Match[str]) -> str:
    return "\n\n" if _PARA_MARK in match.group(0) else "\n"


def _tidy(text: str) -> str:
    text = _MARKS.sub(_collapse, text.replace("\r\n", "\n"))
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str) -> str:
    """Plain text from an HTML fragment: blocks become paragraphs, entities decoded."""
    if not _TAG.search(markup):
        return html.unescape(markup).replace("\r\n", "\n").strip()
    parser = _TextParser()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # HTMLParser can trip on broken markup; fall back to stripping tags
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return _tidy(text)


def _rtf(text: str) -> Problem | None:
    if text.lstrip().startswith("{\\rtf"):
        return Problem("html.rtf", "RTF content is not converted; export notes as text or HTML")
    return None


@register(
    "html_to_text",
    signature="html_to_text",
    summary="Plain text from HTML notes: paragraphs and lists kept as lines, tags dropped.",
)
def _html_to_text(args: Args, spec: str) -> Body:
    no_args("html_to_text")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type("html_to_text", "text")
        problem = _rtf(value)
        if problem is not None:
            return problem
        return Ok(html_to_text(value) or None)

    return body


def sanitize_html(markup: str) -> str:
    """Note-safe HTML: only SAFE_TAGS, no scripts or handlers; plain text gets ``<br>``s."""
    if not _TAG.search(markup):
        escaped = html.escape(html.unescape(markup).replace("\r\n", "\n"), quote=False)
        return escaped.strip().replace("\n", "<br>")
    cleaned = nh3.clean(
        markup,
        tags=set(SAFE_TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in SAFE_ATTRIBUTES.items()},
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return cleaned.strip()


@register(
    "html_sanitize",
    signature="html_sanitize",
    summary="Keep note HTML but only safe tags (no scripts, handlers or javascript: links).",
)
def _html_sanitize(args: Args, spec: str) -> Body:
    no_args("html_sanitize")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type("html_sanitize", "text")
        problem = _rtf(value)
        if problem is not None:
            return problem
        return Ok(sanitize_html(value) or None)

    return body
