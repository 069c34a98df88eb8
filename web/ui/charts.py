"""Charts drawn on the server as SVG: bars, stacked bars and a line, no script needed.

A chart is a picture of a table the page shows beside it (the accessible ``<table>`` with the same
figures, each a link to its cases): the SVG is ``role="img"`` with a ``<title>`` and a ``<desc>``
that say what it shows, so a screen reader announces it once and reads the figures in the table.
The colours keep at least 3:1 against the white background and against each other's neighbours
(WCAG 2.1 AA, 1.4.11 non-text contrast); the text is near black (4.5:1 and more).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Dark blue, dark orange, dark green, purple, dark red, teal, brown: each ≥ 4.5:1 on white.
PALETTE = ("#1f4e79", "#a04000", "#2e6b30", "#6a3d9a", "#9b1c31", "#00695c", "#5d4037")
INK = "#1a1a1a"
GRID = "#767676"  # 4.5:1 on white: the axis is a graphic that must be seen too
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 72


@dataclass(frozen=True)
class Series:
    """One named row of values, one per label of the chart."""

    name: str
    values: Sequence[float | None]


def bars(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    return _chart(chart_id, title, desc, labels, series, _bars_body)


def stacked(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Stacked bars: one bar per label, the series piled in order."""
    return _chart(chart_id, title, desc, labels, series, _stacked_body)


def line(
    chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], top: float | None = None
) -> Markup:
    """Lines through the points of each series (a missing value breaks its line); ``top``: the axis's
    end when it is known (100 for a percentage)."""
    return _chart(chart_id, title, desc, labels, series, _line_body, top)


def _chart(chart_id, title, desc, labels, series, body, top: float | None = None) -> Markup:
    top = top or _top(series, stacked=body is _stacked_body)
    legend, legend_height = _legend(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="grafico" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + legend_height}" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
        *_axes(labels, top),
        *body(labels, series, top),
        *legend,
        "</svg>",
    ]
    return Markup("".join(parts))


def _top(series: Sequence[Series], stacked: bool) -> float:
    """The value at the top of the axis: a round number above the largest bar or pile."""
    if stacked:
        heights = [sum(v or 0 for v in column) for column in zip(*(s.values for s in series), strict=True)]
    else:
        heights = [v or 0 for s in series for v in s.values]
    largest = max(heights, default=0)
    if largest <= 0:
        return 1.0
    step = 10 ** (len(str(int(largest))) - 1)
    top = math.ceil(largest / step) * step
    return float(top + 1 if top < 10 and top % 2 else top)  # an even top: the middle line is a whole number


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _slot(labels: Sequence[str]) -> float:
    return (WIDTH - LEFT - RIGHT) / max(len(labels), 1)


def _axes(labels: Sequence[str], top: float) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [f'<g aria-hidden="true" fill="{INK}" font-size="11" font-family="sans-serif">']
    for fraction in (0, 0.5, 1):
        value = top * fraction
        y = _y(value, top)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    slot = _slot(labels)
    for index, label in enumerate(labels):
        x = LEFT + slot * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{base + 14}" text-anchor="end" transform="rotate(-35 {x:.1f} {base + 14})">'
            f"{escape(_short(label))}</text>"
        )
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="{INK}"/></g>')
    return parts


def _bars_body(labels, series, top) -> list[str]:
    slot = _slot(labels)
    width = slot * 0.8 / max(len(series), 1)
    parts = ['<g aria-hidden="true">']
    for number, one in enumerate(series):
        for index, value in enumerate(one.values):
            x = LEFT + slot * index + slot * 0.1 + width * number
            y = _y(value or 0, top)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"/>'
            )
    return [*parts, "</g>"]


def _stacked_body(labels, series, top) -> list[str]:
    slot = _slot(labels)
    parts = ['<g aria-hidden="true">']
    for index in range(len(labels)):
        floor = 0.0
        for number, one in enumerate(series):
            value = one.values[index] or 0
            y0, y1 = _y(floor, top), _y(floor + value, top)
            parts.append(
                f'<rect x="{LEFT + slot * index + slot * 0.15:.1f}" y="{y1:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{y0 - y1:.1f}" fill="{PALETTE[number % len(PALETTE)]}" stroke="#ffffff" stroke-width="0.5"/>'
            )
            floor += value
    return [*parts, "</g>"]


def _line_body(labels, series, top) -> list[str]:
    slot = _slot(labels)
    parts = ['<g aria-hidden="true" fill="none" stroke-width="2">']
    for number, one in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for index, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            point = f"{LEFT + slot * (index + 0.5):.1f},{_y(value, top):.1f}"
            runs[-1].append(point)
            x, y = point.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}" stroke="none"/>')
        parts.extend(f'<polyline points="{" ".join(run)}" stroke="{colour}"/>' for run in runs if len(run) > 1)
    return [*parts, "</g>"]


def _legend(series: Sequence[Series]) -> tuple[list[str], int]:
    """The key of the colours below the chart, wrapped in lines; and the height it adds."""
    if len(series) < 2:
        return [], 0
    parts = ['<g aria-hidden="true" font-size="11" font-family="sans-serif">']
    x, y = LEFT, HEIGHT - 14
    for number, one in enumerate(series):
        width = 24 + 6 * len(one.name)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + 16
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{PALETTE[number % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{y + 9}" fill="{INK}">{escape(one.name)}</text>')
        x += width
    return [*parts, "</g>"], y - (HEIGHT - 14)


def _short(label: str, size: int = 18) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value >= 10 else f"{value:g}"
