"""The journey picture: a case's journey drawn as an SVG timeline, from a `Journey` alone.

One lane per agency, in the order they joined the journey; a bar per ownership, labelled with
its role (custody and supervision full height, delivery half height and outlined); an arrow per
handoff from the sender's lane to the receiver's (accepted: solid with a filled head; pending:
dashed with an open head; rejected or withdrawn: dotted, ending in a cross, and labelled);
owner-less days hatched across every lane and labelled "GAP"; today's line; due days as
diamonds; the expected release as a dotted line. Nothing depends on colour alone, so the picture
reads the same printed in grey. `render` is a pure function: the same journey and day give the
same SVG text.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from gapwatch.journey import Journey, OwnershipFacts

WIDTH = 960
LABEL_WIDTH = 150
RIGHT = 16
TOP = 44
LANE = 34
GAP_ROW = 26
PLOT = WIDTH - LABEL_WIDTH - RIGHT
ROLE_STYLE = {
    "custody": ("bar bar-custody", 5),
    "supervision": ("bar bar-supervision", 5),
    "delivery": ("bar bar-delivery", 10),
}
STATUS_LOOK = {
    "accepted": ("arrow arrow-accepted", "url(#head-filled)", "✓ {kind}"),
    "pending": ("arrow arrow-pending", "url(#head-open)", "pending {kind}"),
    "rejected": ("arrow arrow-refused", "url(#head-cross)", "✗ rejected"),
    "withdrawn": ("arrow arrow-refused", "url(#head-cross)", "✗ withdrawn"),
}

DEFS = """<defs>
<pattern id="{p}-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="8" height="8" fill="#fde8e6"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b3261e" stroke-width="3"/></pattern>
<pattern id="{p}-planned" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#57606a" stroke-width="1.5"/></pattern>
<marker id="{p}-head-filled" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
<path d="M0,0 L10,5 L0,10 z" fill="#1b1f24"/></marker>
<marker id="{p}-head-open" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
<path d="M1,1 L9,5 L1,9" fill="none" stroke="#0b5cad" stroke-width="1.6"/></marker>
<marker id="{p}-head-cross" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="8" markerHeight="8">
<path d="M1,1 L9,9 M9,1 L1,9" stroke="#6e3b00" stroke-width="2"/></marker>
</defs>"""

# The picture's styles are in static/gapwatch.css (a strict CSP allows no inline <style>); the
# two pattern fills name this picture's own ids, so they are attributes of the shapes instead.
PATTERN_FILL = {"bar bar-planned": "planned"}


def _fill(css: str, p: str) -> str:
    pattern = PATTERN_FILL.get(css)
    return f' fill="url(#{p}-{pattern})"' if pattern else ""


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


class _Scale:
    """Maps days to x positions across the plot."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        self.days = max((end - start).days, 1)

    def x(self, day: date) -> float:
        day = min(max(day, self.start), self.end)
        return round(LABEL_WIDTH + (day - self.start).days / self.days * PLOT, 1)


def _range(journey: Journey, today: date) -> tuple[date, date]:
    case = journey.case
    days = [case.opened_on, today]
    days += [d for d in (case.closed_on, case.expected_release_on) if d]
    for o in journey.ownerships:
        days += [d for d in (o.starts_on, o.ends_on) if d]
    for h in journey.handoffs:
        days += [d for d in (h.requested_on, h.due_on, h.decided_on) if d]
    start, end = min(days), max(days)
    pad = (end - start).days
    # More room on the right: labels of the latest arrows and markers read rightwards.
    return start - timedelta(days=max(3, pad // 30)), end + timedelta(days=max(10, pad // 8))


def _ticks(start: date, end: date) -> list[date]:
    """First days of months, every 1, 2, 3, 6 or 12 months, so at most about 12 ticks show."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12) if months / s <= 12), 24)
    if months <= 2:
        first = start + timedelta(days=(7 - start.weekday()) % 7)
        return [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]
    ticks, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        if (month - 1) % step == 0 and date(year, month, 1) >= start:
            ticks.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def _summary(journey: Journey, today: date) -> str:
    """Describe the picture in words, for screen readers and as the picture's `desc`."""
    case = journey.case
    lanes = journey.agencies()
    accountable = journey.accountable_on(today) if case.is_open_on(today) else []
    owners = ", ".join(f"{o.agency} ({o.role})" for o in accountable) or "nobody"
    gaps = journey.gaps(case.opened_on, today + timedelta(days=1))
    parts = [
        f"Case {case.reference} from {_day(case.opened_on)}"
        + (f" to {_day(case.closed_on)}" if case.closed_on else "")
        + f": {len(lanes)} agencies, {len(journey.ownerships)} ownerships, "
        f"{len(journey.handoffs)} handoffs.",
        f"Accountable on {_day(today)}: {owners}.",
    ]
    for gap in gaps:
        ending = f"until {_day(gap.ends_on)}" if gap.ends_on and gap.ends_on <= today else "to today"
        parts.append(f"Gap: nobody accountable from {_day(gap.starts_on)} {ending} "
                     f"({gap.days(today + timedelta(days=1))} days).")
    pending = journey.pending()
    if pending:
        parts.append(f"{len(pending)} handoff(s) pending.")
    return " ".join(parts)


def _bar(o: OwnershipFacts, y: float, scale: _Scale, today: date, p: str) -> str:
    css, inset = ROLE_STYLE.get(o.role, ROLE_STYLE["delivery"])
    planned = o.starts_on > today
    if planned:
        css = "bar bar-planned"
    x1, x2 = scale.x(o.starts_on), scale.x(o.ends_on or scale.end)
    width = max(x2 - x1, 2)
    until = _day(o.ends_on) if o.ends_on else "ongoing"
    who = f", officer {o.officer}" if o.officer else ", no officer"
    tip = f"{o.agency} {o.role} from {_day(o.starts_on)} until {until}{who}"
    if planned:
        tip += " (planned)"
    shape = (
        f'<g id="{p}-o{o.id}"><title>{escape(tip)}</title>'
        f'<rect class="{css}"{_fill(css, p)} x="{x1}" y="{y + inset}" width="{width}" height="{LANE - 2 * inset}" rx="3"/>'
    )
    label = o.role + (f" · {o.officer}" if o.officer else "") + (" (planned)" if planned else "")
    room = int(width // 6.2)
    if room >= 5:
        text = label if len(label) <= room else label[: room - 1] + "…"
        dark = o.role == "delivery" or planned
        shape += (
            f'<text class="{"bar-text-dark" if dark else "bar-text"}" x="{x1 + 5}" '
            f'y="{y + LANE / 2 + 4}">{escape(text)}</text>'
        )
    if o.ends_on is None and not planned:
        shape += (
            f'<path d="M{x2 - 1},{y + inset} l6,{LANE / 2 - inset} l-6,{LANE / 2 - inset}z" '
            f'class="{css}"{_fill(css, p)}/>'
        )
    return shape + "</g>"


def _arrows(journey: Journey, lanes: dict[str, float], scale: _Scale, today: date, p: str) -> list[str]:
    out = []
    for h in journey.handoffs:
        css, head, words = STATUS_LOOK.get(h.status, STATUS_LOOK["pending"])
        head = head.replace("url(#", f"url(#{p}-")
        x1 = scale.x(h.requested_on)
        y2 = lanes[h.to_agency] + LANE / 2
        y1 = lanes[h.from_agency] + LANE / 2 if h.from_agency in lanes else TOP - 6
        if h.status == "accepted":
            x2 = scale.x(h.effective_on or h.requested_on)
        elif h.status == "pending":
            x2 = scale.x(max(h.due_on or today, h.requested_on))
        else:
            x2 = scale.x(h.decided_on or h.requested_on)
        y2 += -7 if y2 > y1 else 7  # stop at the bar's edge, not its middle
        label = words.format(kind=h.kind)
        tip = (f"{h.kind} of {h.role} from {h.from_agency or 'intake'} to {h.to_agency}, "
               f"asked {_day(h.requested_on)}: {h.status}"
               + (f" on {_day(h.decided_on)}" if h.decided_on else "")
               + (f", due {_day(h.due_on)}" if h.due_on else "")
               + (f" ({h.reason})" if h.reason else ""))
        bend = (x1 + x2) / 2
        out.append(
            f'<g id="{p}-h{h.id}"><title>{escape(tip)}</title>'
            f'<path class="{css}" d="M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}" marker-end="{head}"/>'
            f'<text class="arrow-label" x="{bend - 5}" y="{(y1 + y2) / 2 + 3}" '
            f'text-anchor="end">{escape(label)}</text></g>'
        )
        if h.status == "pending" and h.due_on:
            late = " due-overdue" if h.due_on < today else ""
            dx, dy = scale.x(h.due_on), lanes[h.to_agency] + LANE / 2
            word = "overdue" if late else "due"
            out.append(
                f'<g><title>{escape(f"{h.to_agency} due to take over on {_day(h.due_on)}")}</title>'
                f'<path class="due{late}" d="M{dx},{dy - 7} l7,7 l-7,7 l-7,-7z"/>'
                f'<text class="marker-label" x="{dx + 9}" y="{dy - 6}">{word} {h.due_on:%d %b}</text></g>'
            )
    return out


def render(journey: Journey, today: date, *, ident: str = "tl") -> str:
    """Return the journey's timeline as an SVG document fragment."""
    p = escape(ident)
    agencies = journey.agencies() or ["(no agency yet)"]
    lanes = {agency: TOP + i * LANE for i, agency in enumerate(agencies)}
    bottom = TOP + len(agencies) * LANE
    height = bottom + GAP_ROW
    start, end = _range(journey, today)
    scale = _Scale(start, end)
    kinds = {o.agency: o.agency_kind for o in journey.ownerships}
    kinds.update({h.to_agency: h.to_agency_kind for h in journey.handoffs if h.to_agency_kind})
    title = f"Journey of case {journey.case.reference}"
    out = [
        f'<svg class="tl" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{p}-title {p}-desc" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{p}-title">{escape(title)}</title>',
        f'<desc id="{p}-desc">{escape(_summary(journey, today))}</desc>',
        DEFS.format(p=p),
    ]
    for i, agency in enumerate(agencies):
        y = lanes[agency]
        name = agency if len(agency) <= 19 else agency[:18] + "…"
        out.append(
            f'<rect class="{"lane" if i % 2 == 0 else "lane-alt"}" x="0" y="{y}" width="{WIDTH}" height="{LANE}"/>'
            f'<g><title>{escape(agency)}</title><text class="lane-label" x="6" y="{y + 15}">'
            f'{escape(name)}</text></g>'
            f'<text class="lane-kind" x="6" y="{y + 27}">{escape(kinds.get(agency, ""))}</text>'
        )
    for tick in _ticks(start, end):
        x = scale.x(tick)
        label = f"{tick:%b}" if tick.month != 1 and len(_ticks(start, end)) > 2 else f"{tick:%b %Y}"
        if tick.day != 1:
            label = f"{tick.day} {tick:%b}"
        out.append(f'<line class="tick" x1="{x}" y1="{TOP - 4}" x2="{x}" y2="{bottom}"/>')
        if x + 6 * len(label) < WIDTH:  # a label that would run off the edge is left out
            out.append(f'<text class="tick-label" x="{x + 2}" y="{TOP - 8}">{label}</text>')
    for gap in journey.gaps(journey.case.opened_on, today + timedelta(days=1)):
        x1 = scale.x(gap.starts_on)
        x2 = max(scale.x(gap.ends_on if gap.ends_on and gap.ends_on <= today else today), x1 + 3)
        days = gap.days(today + timedelta(days=1))
        out.append(
            f'<g><title>{escape(f"Gap: nobody accountable from {_day(gap.starts_on)}, {days} days")}</title>'
            f'<rect class="gap" fill="url(#{p}-hatch)" x="{x1}" y="{TOP}" width="{x2 - x1}" height="{bottom - TOP}"/>'
            f'<text class="gap-label" x="{x1}" y="{bottom + 16}">GAP · {days} day{"s" if days != 1 else ""}</text></g>'
        )
    for o in journey.ownerships:
        out.append(_bar(o, lanes[o.agency], scale, today, p))
    out += _arrows(journey, lanes, scale, today, p)
    release = journey.case.expected_release_on
    if release:
        x = scale.x(release)
        out.append(
            f'<g><title>Expected release {_day(release)}</title>'
            f'<line class="release" x1="{x}" y1="{TOP - 14}" x2="{x}" y2="{bottom}"/>'
            f'<path d="M{x - 5},{TOP - 22} h10 l-5,8z" fill="#1b1f24"/>'
            f'<text class="marker-label" x="{x + 7}" y="{TOP - 16}">release {release:%d %b}</text></g>'
        )
    if journey.case.closed_on:
        x = scale.x(journey.case.closed_on)
        out.append(f'<line class="release" x1="{x}" y1="{TOP}" x2="{x}" y2="{bottom}"/>'
                   f'<text class="marker-label" x="{x + 3}" y="{bottom + 16}">closed</text>')
    x = scale.x(today)
    out.append(
        f'<g><title>Today, {_day(today)}</title>'
        f'<line class="today" x1="{x}" y1="{TOP - 30}" x2="{x}" y2="{bottom + 4}"/>'
        f'<text class="today-label" x="{x - 4}" y="{TOP - 32}" text-anchor="end">today</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)
