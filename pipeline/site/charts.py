"""Bar charts as inline SVG: no script and no request, scaled by the browser to any width, and
each with a text equivalent (its ``<title>`` and ``<desc>``; the page also prints the numbers
in a table beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, ROW, LABEL, VALUE = 360, 30, 120, 90
BAR = WIDTH - LABEL - VALUE


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    shown = f"{value:g}" if unit != "%" else f"{value * 100:g}"
    return f"{shown} {unit}".strip() if unit != "%" else f"{shown} %"


def bar_chart(
    chart_id: str, title: str, unit: str, points: Sequence[tuple[str, float | None]]
) -> str:
    """A horizontal bar per (label, value); a value of None is drawn as "no data"."""
    height = ROW * max(1, len(points)) + 8
    top = max([v for _, v in points if v is not None] + [0.0])
    said = "; ".join(f"{label}: {_number(v, unit)}" for label, v in points) or "no stages"
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}"'
        f' role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(said)}</desc>',
    ]
    for i, (label, value) in enumerate(points):
        y = 4 + i * ROW
        length = 0 if value is None or top == 0 else max(2, round(BAR * value / top))
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 19}" text-anchor="end" class="axis">'
            f"{escape(label)}</text>"
        )
        if length:
            parts.append(
                f'<rect x="{LABEL}" y="{y + 5}" width="{length}" height="{ROW - 10}"'
                ' class="bar" rx="2"/>'
            )
        parts.append(
            f'<text x="{LABEL + length + 6}" y="{y + 19}" class="value">'
            f"{escape(_number(value, unit))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
