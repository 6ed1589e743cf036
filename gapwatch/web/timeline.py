"""The journey picture: a case's journey laid out once, drawn as SVG on the case page and in PDF.

`layout` turns a `Journey` (and what the viewer may see besides: agency names, contracts, the
18th birthday) into a `Picture`: plain shapes with their coordinates, every text with its box,
and the same story as a list of dated items in words. `svg` writes the shapes for the case page
and the HTML export; `gapwatch.exports.pdf` draws the very same shapes with fpdf2. The list is
the picture's narrow form (under 920 px of room the page shows it instead of the picture) and its
text for screen readers.

What it shows:

- **The window**: by default the last 90 days and the next 30 around today (around the closing
  day of a case closed before today); `whole=True` gives the whole journey.
- **Lanes**: one per agency with something in the window, named (the code and kind beneath),
  in the order they joined; a bar per ownership labelled with its role and officer (custody and
  supervision filled, delivery outlined, planned ones hatched); ownerships of one agency that
  overlap take a row each.
- **The agency expected to act**: in a gap, a dashed empty box in the home area's lane (a lane
  of its own if it never held the case), from the day the gap began. Who that is comes from
  `no_accountable_owner.open_gap`, the flag's own reading.
- **Handoffs** as arrows from the sender's lane to the receiver's (accepted: solid, filled head;
  pending: dashed, open head; rejected or withdrawn: dotted, ending in a cross), each labelled in
  words under the receiver's bars; a pending one's due day as a diamond.
- **Gaps** hatched across every lane, labelled "GAP · N days", N counted as the flag counts
  (`rules.days_open`) while the gap is open.
- **Markers** on their own rows above the lanes: today, the expected release, the 18th birthday
  (only when the caller passes it: a restricted person's is withheld), a contract's end while its
  provider delivers, two owners of one role at once.

Labels never overlap: each kind of label has its own rows (the ticks', the markers', each lane's
labels', the gaps'), and within a row a label goes to the first row where it fits; `Picture.boxes`
gives every text's box so tests can check. Text widths are DejaVu Sans's (the font the picture
asks for and the PDF embeds); other fonts of that stack are narrower. `layout` is a pure
function: the same journey and day give the same picture.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from math import atan2, cos, sin

from gapwatch.clock import long_day
from gapwatch.journey import HandoffFacts, Journey, OwnershipFacts
from gapwatch.rules import Contract, days_open
from gapwatch.rules.no_accountable_owner import open_gap

WIDTH = 920
LEFT = 178  # the lane names' column
RIGHT = 14
FONT = 12  # every text of the picture: it is drawn at 920 px or wider, never scaled down
ROW = 17  # a row of labels
BAR = 22
BAR_ROW = 28
LANE_MIN = 40
BEFORE, AFTER = 90, 30  # the default window around today
FAMILY = "DejaVu Sans, Verdana, Bitstream Vera Sans, sans-serif"

# DejaVu Sans advance widths (per 1000 em) of ASCII 32..126, regular and bold.
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
    575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
    611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
    278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838)
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683,
    683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771,
    724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665,
    343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838)


def text_width(text: str, size: float = FONT, bold: bool = False) -> float:
    """The width of `text` in DejaVu Sans at `size` px; an accented letter as its base letter,
    any other character outside ASCII as a full em (more than any of DejaVu's)."""
    table, total = _BOLD if bold else _REGULAR, 0
    for ch in text:
        code = ord(unicodedata.normalize("NFD", ch)[0])
        total += table[code - 32] if 32 <= code <= 126 else 1000
    return total * size / 1000


def _wrap(text: str, width: float) -> list[str]:
    """Bold `text` in at most two lines of `width`, the second cut with an ellipsis if need be."""
    words, first = text.split(), ""
    while words and text_width((first + " " + words[0]).strip(), bold=True) <= width:
        first = (first + " " + words.pop(0)).strip()
    if not first:
        return [fit(text, width, bold=True)]
    return [first, fit(" ".join(words), width, bold=True)] if words else [first]


def fit(text: str, width: float, bold: bool = False) -> str:
    """Return `text`, cut with an ellipsis where it is wider than `width` ('' if nothing fits)."""
    if text_width(text, bold=bold) <= width:
        return text
    while text and text_width(text + "…", bold=bold) > width:
        text = text[:-1]
    return text.rstrip() + "…" if text.strip() else ""


# -- how each kind of shape looks: one table, for the SVG's attributes and the PDF alike ----------
INK, MUTED, RED, BLUE, BROWN = "#1b1f24", "#505a64", "#b3261e", "#0b5cad", "#6e3b00"
LOOKS: dict[str, dict] = {
    "lane": {"fill": "#f3f5f7"},
    "lane-alt": {"fill": "#ffffff"},
    "tick": {"stroke": "#c9d1d9", "width": 1},
    "bar-custody": {"fill": "#1f4e79"},
    "bar-supervision": {"fill": "#2f7d5b"},
    "bar-delivery": {"fill": "#dbe9f6", "stroke": "#1f4e79", "width": 1.2, "dash": (4, 2)},
    "bar-planned": {"fill": "#ffffff", "stroke": MUTED, "width": 1.2, "dash": (3, 2)},
    "expected": {"fill": "#ffffff", "stroke": RED, "width": 2, "dash": (6, 4)},
    "gap": {"fill": "#fde8e6", "stroke": RED, "width": 1.5},
    "hatch": {"stroke": RED, "width": 1.4},
    "overlap": {"fill": "none", "stroke": "#8a5a00", "width": 2, "dash": (2, 2)},
    "arrow-accepted": {"stroke": INK, "width": 1.8},
    "arrow-pending": {"stroke": BLUE, "width": 1.8, "dash": (6, 3)},
    "arrow-refused": {"stroke": BROWN, "width": 1.8, "dash": (1.5, 3)},
    "head-accepted": {"fill": INK},
    "head-pending": {"stroke": BLUE, "width": 1.6},
    "head-refused": {"stroke": BROWN, "width": 2},
    "due": {"fill": "#ffffff", "stroke": BLUE, "width": 1.8},
    "due-overdue": {"fill": RED, "stroke": RED, "width": 1.8},
    "guide": {"stroke": INK, "width": 1, "dash": (2, 3)},
    "guide-today": {"stroke": RED, "width": 2},
    "guide-birthday": {"stroke": "#6639ba", "width": 1.2, "dash": (5, 3)},
    "guide-contract": {"stroke": "#8a5a00", "width": 1.2, "dash": (5, 3)},
    "contract-end": {"fill": "#8a5a00"},
    # Texts: the colour, and whether bold.
    "text": {"fill": INK},
    "text-muted": {"fill": MUTED},
    "text-bold": {"fill": INK, "bold": True},
    "text-light": {"fill": "#ffffff", "bold": True},
    "text-gap": {"fill": RED, "bold": True},
    "text-today": {"fill": RED, "bold": True},
    "text-expected": {"fill": RED, "bold": True},
    "text-birthday": {"fill": "#6639ba"},
    "text-contract": {"fill": "#6b4500"},
    "text-overlap": {"fill": "#6b4500"},
    "text-refused": {"fill": BROWN},
    "text-pending": {"fill": BLUE},
}


@dataclass(frozen=True, slots=True)
class Shape:
    """One thing drawn. `kind`: rect (x, y, w, h), line (x1, y1, x2, y2), poly (x, y pairs),
    curve (x1, y1, cx1, cy1, cx2, cy2, x2, y2) or text (x, baseline y). `tip`, when given, is
    what a pointer over it says."""

    kind: str
    look: str
    at: tuple[float, ...]
    text: str = ""
    anchor: str = "start"
    tip: str = ""

    @property
    def bold(self) -> bool:
        return bool(LOOKS[self.look].get("bold"))

    def box(self) -> tuple[float, float, float, float]:
        """A text's box: left, top, right, bottom."""
        x, y = self.at
        width = text_width(self.text, bold=self.bold)
        left = x - width if self.anchor == "end" else x
        return (left, y - FONT * 0.95, left + width, y + FONT * 0.25)


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the picture in words: from which day (and until which), what happened."""

    day: date
    text: str
    until: date | None = None
    kind: str = "event"  # event, gap, expected, today, marker
    ongoing: bool = False  # from `day` on, with no end yet (an ownership, a gap still open)


@dataclass
class Picture:
    reference: str
    start: date
    end: date
    whole: bool
    width: float = WIDTH
    height: float = 0
    shapes: list[Shape] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    outside: int = 0  # items of the journey that lie outside the window
    summary: str = ""

    @property
    def title(self) -> str:
        span = "the whole journey" if self.whole else "the last 90 days and the next 30"
        return (f"Journey of case {self.reference}: {span}, {long_day(self.start)} to "
                f"{long_day(self.end)}")

    def boxes(self) -> list[tuple[float, float, float, float]]:
        return [s.box() for s in self.shapes if s.kind == "text"]


class _Scale:
    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        self.days = max((end - start).days, 1)

    def x(self, day: date) -> float:
        day = min(max(day, self.start), self.end)
        return round(LEFT + (day - self.start).days / self.days * (WIDTH - LEFT - RIGHT), 1)

    def shows(self, first: date, last: date | None = None) -> bool:
        """Whether any of the days first..last lies in the window."""
        return first <= self.end and (last or first) >= self.start


class _Rows:
    """Rows of labels: each label goes to the first row where it overlaps nothing."""

    def __init__(self):
        self.rows: list[list[tuple[float, float]]] = []

    def place(self, left: float, right: float) -> int:
        for index, taken in enumerate(self.rows):
            if all(right + 6 <= a or left >= b + 6 for a, b in taken):
                taken.append((left, right))
                return index
        self.rows.append([(left, right)])
        return len(self.rows) - 1


def _span(x: float, text: str, bold: bool = False) -> tuple[float, float, str]:
    """Where a label about position x goes: to its right, or to its left near the right edge."""
    width = text_width(text, bold=bold)
    if x + 4 + width <= WIDTH - 2:
        return x + 4, x + 4 + width, "start"
    return x - 4 - width, x - 4, "end"


def window(journey: Journey, today: date, whole: bool) -> tuple[date, date]:
    """The days the picture spans: 90 back and 30 on from today (from the closing day of a case
    closed before today), or the whole journey with room at both ends."""
    case = journey.case
    if not whole:
        anchor = min(today, case.closed_on) if case.closed_on else today
        return anchor - timedelta(days=BEFORE), anchor + timedelta(days=AFTER)
    days = [case.opened_on, today]
    days += [d for d in (case.closed_on, case.expected_release_on) if d]
    for o in journey.ownerships:
        days += [d for d in (o.starts_on, o.ends_on) if d]
    for h in journey.handoffs:
        days += [d for d in (h.requested_on, h.due_on, h.decided_on) if d]
    start, end = min(days), max(days)
    pad = timedelta(days=max(3, (end - start).days // 40))
    return start - pad, end + pad


def _ticks(start: date, end: date) -> list[date]:
    """First days of months, every 1, 2, 3, 6, 12 or 24 months, so at most about 12 show."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= 12), 120)
    ticks, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        if ((year * 12 + month - 1) % step == 0) and date(year, month, 1) >= start:
            ticks.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def _takes_over(journey: Journey, agency: str, today: date) -> date | None:
    """Return the day `agency` takes the case over, having accepted it from a later day."""
    days = [h.effective_on for h in journey.taking_over(today) if h.to_agency == agency]
    return min(days, default=None)


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _name(code: str | None, names: Mapping[str, str]) -> str:
    if not code:
        return "an intake"
    name = names.get(code)
    if not name or name == code or name.endswith(f"({code})"):
        return name or code
    return f"{name} ({code})"


# -- what happened, in words ----------------------------------------------------------------------
def _ownership_item(o: OwnershipFacts, names: Mapping[str, str], today: date) -> Item:
    who = _name(o.agency, names)
    officer = f", officer {o.officer}" if o.officer else ", no officer named"
    if o.starts_on > today:
        verb = "is to hold"
    elif o.ends_on is None or o.ends_on > today:
        verb = "holds"
    else:
        verb = "held"
    return Item(o.starts_on, f"{who} {verb} {o.role}{officer}.", o.ends_on,
                ongoing=o.ends_on is None)


def _handoff_item(h: HandoffFacts, names: Mapping[str, str]) -> Item:
    asker = _name(h.from_agency, names)
    text = f"{asker} asked {_name(h.to_agency, names)} to take {h.role} ({h.kind})"
    if h.status == "pending":
        text += f": waiting, due {long_day(h.due_on)}" if h.due_on else ": waiting"
    else:
        text += f": {h.status} on {long_day(h.decided_on)}"
    return Item(h.requested_on, text + (f" ({h.reason})." if h.reason else "."))


# -- laying it out ----------------------------------------------------------------------------------
@dataclass
class _Lane:
    code: str
    name: str = ""
    bars: list = field(default_factory=list)  # (x1, x2, look, text, tip, row)
    labels: list = field(default_factory=list)  # (left, right, anchor, x, text, look, row)
    rows: _Rows = field(default_factory=_Rows)
    strip: _Rows = field(default_factory=_Rows)
    y: float = 0

    def bar(self, x1, x2, look, text, tip):
        self.bars.append((x1, x2, look, text, tip, self.rows.place(x1, x2)))

    def label(self, x, text, look):
        left, right, anchor = _span(x, text, LOOKS[look].get("bold", False))
        self.labels.append((left, right, anchor, x, text, look, self.strip.place(left, right)))

    @property
    def height(self) -> float:
        named = LANE_MIN + 15 * (len(_wrap(self.name, LEFT - 12)) - 1)
        return max(named, len(self.rows.rows) * BAR_ROW + len(self.strip.rows) * ROW + 8)

    def middle(self, row: int = 0) -> float:
        return self.y + 4 + row * BAR_ROW + BAR / 2


def _contract_ends(journey: Journey, contracts: Mapping[str, tuple[Contract, ...]]):
    """Yield (last day of cover, contract, delivery) for each contract whose cover lapses while
    its provider delivers: no contract of the provider with the accountable owner (any
    commissioner when nobody is accountable) covers the day after, as `contract-lapsed` reads."""
    for o in journey.ownerships:
        if o.role != "delivery":
            continue
        for c in contracts.get(o.agency, ()):
            last = c.ends_on
            if last is None or not o.is_active_on(last):
                continue
            after = last + timedelta(days=1)
            owners = {a.agency for a in journey.accountable_on(after)}
            if not any(k.covers(after) for k in contracts[o.agency]
                       if not owners or k.commissioner in owners):
                yield last, c, o


def _overlaps(journey: Journey):
    """Yield (first shared day, first day no longer shared or None, a, b) for two agencies
    holding the same accountable role at once, as `dual-ownership` pairs them."""
    held = [o for o in journey.ownerships if o.accountable and o.covers_a_day]
    for i, a in enumerate(held):
        for b in held[i + 1:]:
            if a.role != b.role or a.agency == b.agency:
                continue
            first = max(a.starts_on, b.starts_on)
            ends = [d for d in (a.ends_on, b.ends_on) if d]
            until = min(ends) if ends else None
            if until is None or first < until:
                yield first, until, a, b


def layout(journey: Journey, today: date, *, whole: bool = False,
           names: Mapping[str, str] | None = None,
           contracts: Mapping[str, tuple[Contract, ...]] | None = None,
           birthday: date | None = None, kinds: Mapping[str, str] | None = None) -> Picture:
    """Lay the journey out as it stands on `today`.

    `names` gives agencies' names by code; `contracts` the contracts by provider, for their ends;
    `birthday` the 18th birthday, to be passed only where the viewer may open the person's
    details; `kinds` agencies' kinds by code, for a lane the journey alone cannot name.
    """
    names, contracts = names or {}, contracts or {}
    case = journey.case
    start, end = window(journey, today, whole)
    scale = _Scale(start, end)
    pic = Picture(case.reference, start, end, whole)
    lanes: dict[str, _Lane] = {}
    kinds = {**(kinds or {}), **{o.agency: o.agency_kind for o in journey.ownerships}}
    kinds.update({h.to_agency: h.to_agency_kind for h in journey.handoffs if h.to_agency_kind})
    for code in journey.agencies():
        lanes[code] = _Lane(code, names.get(code, code))
    items: list[Item] = [Item(case.opened_on, "The case opened.")]
    if case.closed_on:
        items.append(Item(case.closed_on, "The case closed."))

    # Bars.
    for o in journey.ownerships:
        items.append(_ownership_item(o, names, today))
        if not scale.shows(o.starts_on, o.ends_on or end) or not o.covers_a_day:
            continue
        planned = o.starts_on > today
        look = "bar-planned" if planned else f"bar-{o.role}" if o.accountable else "bar-delivery"
        x1, x2 = scale.x(o.starts_on), scale.x(o.ends_on or end)
        x2 = max(x2, x1 + 3)
        text = o.role + (f" · {o.officer}" if o.officer else "") + (" (planned)" if planned else "")
        until = long_day(o.ends_on) if o.ends_on else "ongoing"
        tip = f"{_name(o.agency, names)}: {o.role} from {long_day(o.starts_on)} until {until}"
        lanes[o.agency].bar(x1, x2, look, text, tip)

    # The agency expected to act in an open gap: the flag's reading (`open_gap`).
    gap_now = open_gap(journey, today)
    if gap_now is not None and gap_now.home_area:
        home = gap_now.home_area
        lane = lanes.setdefault(home, _Lane(home, names.get(home, home)))
        x1 = scale.x(gap_now.since)
        # Once it accepted the case from a later day, it is no longer expected to act: it comes.
        comes = _takes_over(journey, home, today)
        if scale.shows(gap_now.since, today):
            if comes is None:
                lane.bar(x1, max(scale.x(end), x1 + 40), "expected",
                         "expected to act (home area)",
                         f"{_name(home, names)}, the home area, is expected to take the case")
            else:
                # Unlabelled: its planned bar and the accepted arrow say the day beside it.
                lane.bar(x1, max(scale.x(comes), x1 + 40), "expected", "",
                         f"{_name(home, names)}, the home area, takes the case over on "
                         f"{long_day(comes)}")
        items.append(Item(today, (
            f"{_name(home, names)}, the person's home area, is expected to act: nobody holds "
            "custody or supervision." if comes is None else
            f"{_name(home, names)}, the person's home area, takes the case over on "
            f"{long_day(comes)}: until then nobody holds custody or supervision."),
            kind="expected"))

    # Handoffs: arrows, their labels under the receiver's bars, due days.
    arrows = []
    for h in journey.handoffs:
        items.append(_handoff_item(h, names))
        if h.status == "accepted":
            to = h.effective_on or h.requested_on
        elif h.status == "pending":
            to = max(h.due_on or today, h.requested_on)
        else:
            to = h.decided_on or h.requested_on
        if not scale.shows(h.requested_on, to):
            continue
        kind = {"accepted": "accepted", "pending": "pending"}.get(h.status, "refused")
        words = {"accepted": f"✓ {h.kind}", "pending": f"pending {h.kind}"}.get(
            h.status, f"✗ {h.status}")
        x2 = scale.x(to)
        lanes[h.to_agency].label(x2, f"{words} {_short(to)}",
                                 {"pending": "text-pending", "refused": "text-refused"}.get(
                                     kind, "text"))
        arrows.append((h, kind, scale.x(h.requested_on), x2))
        if h.status == "pending" and h.due_on and scale.shows(h.due_on):
            late = h.due_on < today
            lanes[h.to_agency].label(scale.x(h.due_on) + 6,
                                     f"{'overdue' if late else 'due'} {_short(h.due_on)}",
                                     "text-today" if late else "text-pending")

    # Contracts' ends on their provider's lane.
    markers: list[tuple[date, str, str, str, str]] = []  # day, guide look, text look, label, tip
    for last, c, o in _contract_ends(journey, contracts):
        text = (f"{_name(o.agency, names)}'s contract with {_name(c.commissioner, names)} "
                f"({c.service}) ends on {long_day(last)} while it delivers for the person.")
        items.append(Item(last, text, kind="marker"))
        if scale.shows(last):
            markers.append((last, "guide-contract", "text-contract",
                            f"contract ends {_short(last)}", text))
    for first, until, a, b in _overlaps(journey):
        text = (f"{_name(a.agency, names)} and {_name(b.agency, names)} both hold {a.role}"
                + (f" until {long_day(until)}." if until else "."))
        items.append(Item(first, text, until, kind="marker", ongoing=until is None))
        if scale.shows(first, until or end):
            markers.append((first, "guide-contract", "text-overlap",
                            f"2 owners of {a.role} from {_short(first)}", text))
    if case.expected_release_on:
        items.append(Item(case.expected_release_on, "Expected release.", kind="marker"))
        if scale.shows(case.expected_release_on):
            markers.append((case.expected_release_on, "guide", "text",
                            f"▼ release {_short(case.expected_release_on)}",
                            f"Expected release {long_day(case.expected_release_on)}"))
    if birthday is not None:
        items.append(Item(birthday, "18th birthday: adult services take over.", kind="marker"))
        if scale.shows(birthday):
            markers.append((birthday, "guide-birthday", "text-birthday",
                            f"18th birthday {_short(birthday)}", f"18th birthday {long_day(birthday)}"))
    if scale.shows(today):
        markers.append((today, "guide-today", "text-today", f"today {_short(today)}",
                        f"Today, {long_day(today)}"))
    items.append(Item(today, "Today.", kind="today"))

    # Gaps.
    gaps = []
    for gap in journey.gaps(case.opened_on, today + timedelta(days=1)):
        still_open = gap.ends_on == today + timedelta(days=1) and gap_now is not None
        last = today if still_open else gap.ends_on
        days = days_open(gap.starts_on, today) if still_open else (gap.ends_on - gap.starts_on).days
        words = "since today" if days == 0 else f"{days} day{'s' * (days != 1)}"
        items.append(Item(gap.starts_on, f"Gap: nobody accountable {words if days == 0 else 'for ' + words}"
                          + (", still open." if still_open else "."),
                          None if still_open else gap.ends_on, kind="gap", ongoing=still_open))
        if scale.shows(gap.starts_on, last):
            gaps.append((scale.x(gap.starts_on), max(scale.x(last), scale.x(gap.starts_on) + 3),
                         f"GAP · {words}"))

    # Vertical positions: ticks, marker rows, lanes, gap rows.
    marker_rows, placed_markers = _Rows(), []
    for day, guide, look, text, tip in sorted(markers, key=lambda m: m[0]):
        x = scale.x(day)
        left, right, anchor = _span(x, text, LOOKS[look].get("bold", False))
        placed_markers.append((x, guide, look, text, tip, anchor, marker_rows.place(left, right)))
    top = ROW + 4 + len(marker_rows.rows) * ROW + 4
    shown = [lane for lane in lanes.values() if lane.bars or lane.labels] or [_Lane("")]
    y = top
    for lane in shown:
        lane.y = y
        y += lane.height
    bottom = y
    gap_rows, placed_gaps = _Rows(), []
    for x1, _x2, text in gaps:
        width = text_width(text, bold=True)
        left = min(x1, WIDTH - 2 - width)
        placed_gaps.append((left, text, gap_rows.place(left, left + width)))
    pic.height = bottom + 6 + max(1, len(gap_rows.rows)) * ROW + 4
    out = pic.shapes

    for i, lane in enumerate(shown):
        out.append(Shape("rect", "lane" if i % 2 == 0 else "lane-alt",
                         (0, lane.y, WIDTH, lane.height)))
    for tick in _ticks(start, end):
        x = scale.x(tick)
        out.append(Shape("line", "tick", (x, ROW + 2, x, bottom)))
    last_tick = -100.0
    for tick in _ticks(start, end):
        x = scale.x(tick)
        label = f"{tick:%b %Y}" if tick.month == 1 or last_tick < 0 else f"{tick:%b}"
        width = text_width(label)
        if x + 2 >= last_tick and x + 2 + width <= WIDTH - 2:
            out.append(Shape("text", "text-muted", (x + 2, ROW - 3), label))
            last_tick = x + 2 + width + 8
    for x1, x2, text in gaps:
        out.append(Shape("rect", "gap", (x1, top, x2 - x1, bottom - top), tip=text))
    for lane in shown:
        name = names.get(lane.code, lane.code)
        lines = _wrap(name, LEFT - 12)
        for n, line in enumerate(lines):
            out.append(Shape("text", "text-bold", (6, lane.y + 16 + n * 15), line,
                             tip=_name(lane.code, names)))
        detail = " · ".join(p for p in (lane.code if name != lane.code else "",
                                        kinds.get(lane.code, "")) if p)
        if detail:
            out.append(Shape("text", "text-muted", (6, lane.y + 17 + len(lines) * 15),
                             fit(detail, LEFT - 12)))
        for x1, x2, look, text, tip, row in lane.bars:
            bar_y = lane.y + 4 + row * BAR_ROW
            out.append(Shape("rect", look, (x1, bar_y, x2 - x1, BAR), tip=tip))
            words = fit(text, x2 - x1 - 10, look in ("bar-custody", "bar-supervision", "expected"))
            if len(words) > 3:
                text_look = ("text-light" if look in ("bar-custody", "bar-supervision")
                             else "text-expected" if look == "expected" else "text-bold")
                out.append(Shape("text", text_look, (x1 + 5, bar_y + BAR / 2 + 4.5), words))
        strip_y = lane.y + 4 + len(lane.rows.rows) * BAR_ROW
        for _left, right, anchor, _x, text, look, row in lane.labels:
            x = right if anchor == "end" else _left
            out.append(Shape("text", look, (x, strip_y + row * ROW + FONT), text, anchor))
    lane_of = {lane.code: lane for lane in shown}
    for h, kind, x1, x2 in arrows:
        receiver = lane_of[h.to_agency]
        y2 = receiver.middle()
        sender = lane_of.get(h.from_agency) if h.from_agency else None
        y1 = sender.middle() if sender else top - 2
        y2 += -BAR / 2 if y2 > y1 else BAR / 2  # to the bar's edge, not its middle
        out += _arrow(x1, y1, x2, y2, kind, f"{_handoff_item(h, names).text}")
        if h.status == "pending" and h.due_on and scale.shows(h.due_on):
            dx, dy = scale.x(h.due_on), receiver.middle()
            look = "due-overdue" if h.due_on < today else "due"
            out.append(Shape("poly", look, (dx, dy - 7, dx + 7, dy, dx, dy + 7, dx - 7, dy),
                             tip=f"due {long_day(h.due_on)}"))
    for first, until, a, b in _overlaps(journey):
        if not scale.shows(first, until or end) or a.agency not in lane_of or b.agency not in lane_of:
            continue
        x1, x2 = scale.x(first), scale.x(until or end)
        upper, lower = sorted((lane_of[a.agency], lane_of[b.agency]), key=lambda lane: lane.y)
        out.append(Shape("rect", "overlap", (x1, upper.y + 1, max(x2 - x1, 3),
                                             lower.y + lower.height - upper.y - 2)))
    for last, _c, o in _contract_ends(journey, contracts):
        if scale.shows(last) and o.agency in lane_of:
            x, yy = scale.x(last), lane_of[o.agency].middle()
            out.append(Shape("poly", "contract-end", (x - 6, yy - 8, x + 6, yy - 8, x, yy + 2)))
    for x, guide, look, text, tip, anchor, row in placed_markers:
        label_y = ROW + 4 + row * ROW + FONT
        out.append(Shape("line", guide, (x, label_y - FONT + 2, x, bottom), tip=tip))
        out.append(Shape("text", look, (x + 4 if anchor == "start" else x - 4, label_y), text,
                         anchor, tip=tip))
    for left, text, row in placed_gaps:
        out.append(Shape("text", "text-gap", (left, bottom + 6 + row * ROW + FONT), text))

    in_window = [i for i in items
                 if scale.shows(i.day, end if i.ongoing else i.until or i.day)]
    pic.outside = len(items) - len(in_window)
    pic.items = sorted(in_window if not whole else items,
                       key=lambda i: (i.day, {"gap": 1, "expected": 2, "today": 3}.get(i.kind, 0)))
    pic.summary = _summary(journey, today, names, gap_now)
    return pic


def _arrow(x1, y1, x2, y2, kind, tip) -> list[Shape]:
    """A handoff's curve from (x1, y1) to (x2, y2), and its head."""
    if abs(x2 - x1) < 12:  # the same day or nearly: straight down or up
        curve = (x1, y1, x1, (y1 + y2) / 2, x2, (y1 + y2) / 2, x2, y2)
    else:
        bend = (x1 + x2) / 2
        curve = (x1, y1, bend, y1, bend, y2, x2, y2)
    angle = atan2(y2 - curve[5], x2 - curve[4])  # the curve's direction where it ends
    ux, uy = cos(angle), sin(angle)
    px, py = -uy, ux
    shapes = [Shape("curve", f"arrow-{kind}", tuple(round(v, 1) for v in curve), tip=tip)]
    if kind == "accepted":
        head = (x2, y2, x2 - 9 * ux + 4.5 * px, y2 - 9 * uy + 4.5 * py,
                x2 - 9 * ux - 4.5 * px, y2 - 9 * uy - 4.5 * py)
        shapes.append(Shape("poly", "head-accepted", tuple(round(v, 1) for v in head)))
    elif kind == "pending":
        for side in (1, -1):
            shapes.append(Shape("line", "head-pending", tuple(round(v, 1) for v in (
                x2 - 9 * ux + side * 5 * px, y2 - 9 * uy + side * 5 * py, x2, y2))))
    else:
        for a, b in ((1, 1), (1, -1)):
            shapes.append(Shape("line", "head-refused", tuple(round(v, 1) for v in (
                x2 - 5 * a, y2 - 5 * b, x2 + 5 * a, y2 + 5 * b))))
    return shapes


def _summary(journey: Journey, today: date, names: Mapping[str, str], gap_now) -> str:
    case = journey.case
    accountable = journey.accountable_on(today) if case.is_open_on(today) else []
    owners = ", ".join(f"{_name(o.agency, names)} ({o.role})" for o in accountable) or "nobody"
    parts = [f"Accountable on {long_day(today)}: {owners}."]
    if gap_now is not None:
        days = days_open(gap_now.since, today)
        parts.append(f"Nobody accountable since {long_day(gap_now.since)}"
                     + (f" ({days} day{'s' * (days != 1)})." if days else ", today."))
        comes = _takes_over(journey, gap_now.home_area, today) if gap_now.home_area else None
        if gap_now.home_area and comes is None:
            parts.append(f"Expected to act: {_name(gap_now.home_area, names)}, the home area.")
        elif comes is not None:
            parts.append(f"{_name(gap_now.home_area, names)}, the home area, takes over on "
                         f"{long_day(comes)}.")
    return " ".join(parts) + " The events are listed after the picture."


# -- SVG ----------------------------------------------------------------------------------------------
def _attributes(look: str, ident: str) -> str:
    style = LOOKS[look]
    out = [f'class="tl-{look}"']
    if look == "gap":
        out.append(f'fill="url(#{ident}-hatch)"')
    elif "fill" in style:
        out.append(f'fill="{style["fill"]}"')
    elif "stroke" in style:
        out.append('fill="none"')
    if "stroke" in style:
        out.append(f'stroke="{style["stroke"]}" stroke-width="{style.get("width", 1)}"')
    if "dash" in style:
        out.append(f'stroke-dasharray="{style["dash"][0]} {style["dash"][1]}"')
    if style.get("bold"):
        out.append('font-weight="700"')
    return " ".join(out)


def _svg_shape(shape: Shape, ident: str) -> str:
    a, at = _attributes(shape.look, ident), shape.at
    if shape.kind == "rect":
        body = f'<rect {a} x="{at[0]}" y="{at[1]}" width="{round(at[2], 1)}" height="{round(at[3], 1)}"/>'
    elif shape.kind == "line":
        body = f'<line {a} x1="{at[0]}" y1="{at[1]}" x2="{at[2]}" y2="{at[3]}"/>'
    elif shape.kind == "poly":
        points = " ".join(f"{at[i]},{at[i + 1]}" for i in range(0, len(at), 2))
        body = f'<polygon {a} points="{points}"/>'
    elif shape.kind == "curve":
        body = (f'<path {a} d="M{at[0]},{at[1]} C{at[2]},{at[3]} {at[4]},{at[5]} '
                f'{at[6]},{at[7]}"/>')
    else:
        anchor = ' text-anchor="end"' if shape.anchor == "end" else ""
        body = f'<text {a} x="{round(at[0], 1)}" y="{round(at[1], 1)}"{anchor}>{escape(shape.text)}</text>'
    if shape.tip:
        return f"<g><title>{escape(shape.tip)}</title>{body}</g>"
    return body


def svg(pic: Picture, ident: str = "tl") -> str:
    """Write the picture as an SVG element. Its looks are presentation attributes from `LOOKS`
    (allowed by a strict CSP, which forbids only style attributes and elements), so the page,
    the HTML export and a saved copy all look alike; the page's stylesheet only shows or hides
    it."""
    p = escape(ident)
    out = [
        f'<svg class="tl" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {pic.width} '
        f'{round(pic.height, 1)}" width="100%" role="img" aria-labelledby="{p}-title {p}-desc" '
        f'font-family="{FAMILY}" font-size="{FONT}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{p}-title">{escape(pic.title)}</title>',
        f'<desc id="{p}-desc">{escape(pic.summary)}</desc>',
        f'<defs><pattern id="{p}-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#fde8e6"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{RED}" stroke-width="3"/></pattern></defs>',
    ]
    out += [_svg_shape(s, p) for s in pic.shapes]
    out.append("</svg>")
    return "\n".join(out)


def render(journey: Journey, today: date, *, ident: str = "tl", **given) -> str:
    """Return the journey's picture as an SVG element (see `layout` for `given`)."""
    return svg(layout(journey, today, **given), ident)


# -- reading what the picture needs besides the journey -----------------------------------------------
def picture_of(session, journey: Journey, today: date, *, details_shown: bool,
               whole: bool = False) -> Picture:
    """Lay out `journey` with its agencies' names and contracts read from the database; the 18th
    birthday only when `details_shown` (the viewer may open the person's details)."""
    from sqlalchemy import select

    from gapwatch import snapshot
    from gapwatch.models import Agency
    from gapwatch.rules.age_transition import eighteenth_birthday

    read = session.connection().execute
    agencies = read(select(Agency.code, Agency.name, Agency.kind)).all()
    names, kinds = {a[0]: a[1] for a in agencies}, {a[0]: a[2] for a in agencies}
    contracts = snapshot.contracts(session, snapshot.agencies(session))
    birthday = eighteenth_birthday(journey.case.date_of_birth) if details_shown else None
    return layout(journey, today, whole=whole, names=names, contracts=contracts,
                  birthday=birthday, kinds=kinds)
