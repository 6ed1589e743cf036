"""Bar charts drawn on the server as SVG: a month per group, one bar per series.

A chart is a picture of numbers that are also printed beside it in a table, so it is an image
with a name and a description (`role="img"`, its `<title>` and `<desc>`), not a second copy of
the table for a screen reader. Its looks are classes of static/gapwatch.css (the strict CSP
allows no inline style); series differ by fill and by their order in the legend, and each bar
is labelled with its value, so nothing depends on colour alone. `bars` is a pure function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 34, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float, ...]


def _top(largest: float) -> int:
    """Return a round, even top for the axis at or above `largest` (at least 2), so that the
    middle line is a whole number too: counts have no halves."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if largest <= step * 4:
            top = step * max(1, -(-int(largest) // step))
            return max(2, top + top % 2)
    top = int(largest) + 1
    return top + top % 2


def _number(value: float) -> str:
    return f"{value:g}"


def bars(ident: str, title: str, desc: str, labels: Sequence[str],
         series: Sequence[Series]) -> Markup:
    """Return the SVG of one chart: `labels` along the bottom, each series' values as bars."""
    top = _top(max((v for s in series for v in s.values), default=0))
    group = PLOT_W / max(len(labels), 1)
    bar = min(28.0, group * 0.8 / max(len(series), 1))
    parts = [
        f'<svg class="chart" id="{ident}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]
    for tick in (0, top / 2, top):
        y = TOP + PLOT_H - PLOT_H * tick / top
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_number(tick)}</text>')
    for n, s in enumerate(series):
        x = LEFT + n * 150
        parts.append(f'<rect class="chart-bar chart-bar-{n + 1}" x="{x}" y="8" width="12" '
                     f'height="12"/><text class="chart-legend" x="{x + 17}" y="18">'
                     f'{escape(s.label)}</text>')
    for i, label in enumerate(labels):
        start = LEFT + i * group + (group - bar * len(series)) / 2
        for n, s in enumerate(series):
            value = s.values[i]
            h = PLOT_H * value / top
            x, y = start + n * bar, TOP + PLOT_H - h
            parts.append(f'<rect class="chart-bar chart-bar-{n + 1}" x="{x:.1f}" y="{y:.1f}" '
                         f'width="{bar - 2:.1f}" height="{h:.1f}"/>')
            if value and bar >= 10:
                parts.append(f'<text class="chart-value" x="{x + (bar - 2) / 2:.1f}" '
                             f'y="{y - 3:.1f}" text-anchor="middle">{_number(value)}</text>')
        parts.append(f'<text class="chart-axis" x="{LEFT + i * group + group / 2:.1f}" '
                     f'y="{HEIGHT - 10}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
