"""A small SVG waterfall of a proposal's score: the prior, each comparison's match weight, the total.

Each bar starts where the one before ended: green bars (evidence for one person) rise, red ones
(evidence against) fall, and the last bar is the total match weight. Plain Python, escaped text,
no script: the picture is an `<svg role="img">` with a title, and the page lists the same numbers
as a table for anyone who does not see it.
"""

from __future__ import annotations

from markupsafe import escape

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 560, 220, 14, 60, 36


def render(prior: float, steps: list[tuple[str, float]], probability: float) -> str:
    bars, level = [("Prior", 0.0, prior)], prior
    for label, weight in steps:
        bars.append((label, level, level + weight))
        level += weight
    bars.append(("Total", 0.0, level))
    values = [v for _l, start, end in bars for v in (start, end)] + [0.0]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    plot = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / len(bars)

    def y(value: float) -> float:
        return TOP + (high - value) / span * plot

    parts = [
        f'<svg class="waterfall" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-labelledby="waterfall-title">',
        f'<title id="waterfall-title">Match weight, from the prior {prior:+.1f} to the total '
        f'{level:+.1f} (probability {probability:.3f})</title>',
        f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="axis"/>',
    ]
    for i, (label, start, end) in enumerate(bars):
        x = LEFT + i * step + step * 0.15
        top, bottom = y(max(start, end)), y(min(start, end))
        kind = "total" if i in (0, len(bars) - 1) else "for" if end >= start else "against"
        parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{max(bottom - top, 1):.1f}" class="bar-{kind}"/>')
        shown = end - start if 0 < i < len(bars) - 1 else end
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{top - 3:.1f}" '
                     f'text-anchor="middle">{shown:+.1f}</text>')
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - BOTTOM + 14}" '
                     f'text-anchor="end" transform="rotate(-30 {x + step * 0.35:.1f} '
                     f'{HEIGHT - BOTTOM + 14})">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
