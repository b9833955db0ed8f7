"""Small inline SVG charts for the HTML reports: no scripts, no fonts, no network.

Each chart is a horizontal bar chart: one labelled bar per item, the value printed at
the end of the bar. Labels are escaped (they may come from source data). The result
is :class:`markupsafe.Markup`, so a Jinja2 template embeds it as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROW_HEIGHT = 22
BAR_HEIGHT = 14
LABEL_WIDTH = 190
BAR_WIDTH = 320
VALUE_WIDTH = 70
WIDTH = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, value, the text printed beside it, and its width in pixels."""

    label: str
    value: float
    text: str
    width: float


def bars(items: Sequence[tuple[str, float]], *, maximum: float | None = None,
         percent: bool = False) -> list[Bar]:  # fmt: skip
    """The bars of a chart (pure): widths scaled to ``maximum`` (default: the largest value)."""
    top = maximum if maximum is not None else max((v for _, v in items), default=0.0)
    out: list[Bar] = []
    for label, value in items:
        width = 0.0 if top <= 0 else round(BAR_WIDTH * min(max(value, 0.0), top) / top, 1)
        text = f"{value:.0f}%" if percent else f"{value:,.0f}"
        out.append(Bar(label, value, text, width))
    return out


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    maximum: float | None = None,
    percent: bool = False,
) -> Markup:
    """An SVG bar chart of ``items`` (label, value); ``percent`` scales to 100 and prints %."""
    chart = bars(items, maximum=100.0 if percent and maximum is None else maximum,
                 percent=percent)  # fmt: skip
    height = ROW_HEIGHT * max(len(chart), 1) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(chart):
        y = 4 + i * ROW_HEIGHT
        label = bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT - 3}" text-anchor="end" '
            f'font-size="12">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar.width}" height="{BAR_HEIGHT}" '
            f'fill="#3b6ea5" data-value="{bar.value:g}"/>'
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + bar.width + 4}" y="{y + BAR_HEIGHT - 3}" '
            f'font-size="12">{escape(bar.text)}</text>'
        )
    if not chart:
        parts.append('<text x="4" y="16" font-size="12">no data</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
