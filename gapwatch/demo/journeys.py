"""The curated demo journeys: one table, each row a person's story told as dated events.

Days are counted from today (negative = past), so the demo always shows today's gaps. The
`shows` column names the rule of SPEC.md that the journey is meant to trip today, or why it is
healthy; docs/demo.md lists the same table for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Story:
    reference: str
    name: str
    home: str
    risk: str
    shows: str
    steps: tuple
    age: int | None = None
    turns_18_in: int | None = None  # days until the 18th birthday (negative: already 18)
    release: int | None = None  # expected release, days from today
    restricted: bool = False
    identifiers: tuple = ()  # (scheme, value) pairs
    opened: int | None = None  # the case's opening day, when it is not its first step's

    @property
    def rule(self) -> str | None:
        """The rule this journey is meant to trip today (None for a healthy journey)."""
        head = self.shows.split(":", 1)[0].split(" (")[0]
        return None if head.startswith(("healthy", "linked")) else head

    @property
    def severity(self) -> str | None:
        """The severity the finding should have, where `shows` names it."""
        head = self.shows.split(":", 1)[0]
        return head.split(" (")[1].rstrip(")") if " (" in head else None


# -- the steps of a story, each (day, event name, values) ----------------------------------
def start(day, agency, role, officer=None):
    return (day, "ownership_started", {"agency": agency, "role": role, "officer": officer})


def end(day, agency, reason):
    return (day, "ownership_ended", {"agency": agency, "reason": reason})


def ask(day, sender, receiver, role, kind, due=None, reason=None):
    return (day, "handoff_requested", {"from_agency": sender, "to_agency": receiver,
                                       "role": role, "kind": kind, "due_on": due,
                                       "reason": reason})


def accept(day, receiver, officer=None):
    return (day, "handoff_accepted", {"to_agency": receiver, "officer": officer})


def reject(day, receiver, reason):
    return (day, "handoff_rejected", {"to_agency": receiver, "reason": reason})


def withdraw(day, receiver, reason):
    return (day, "handoff_withdrawn", {"to_agency": receiver, "reason": reason})


def close(day, reason):
    return (day, "case_closed", {"reason": reason})


S, C, D = "supervision", "custody", "delivery"
T, R = "transfer", "referral"

STORIES = [
    # -- one journey (at least) for each rule ----------------------------------------------
    Story("WM-1001", "Daniel Hughes", "WMIDS", "high", "no-accountable-owner (critical): released from Hewell, nobody took supervision",
          age=34, release=-6, steps=(start(-300, "HMP-HEWELL", C, "R. Patel"),
                                     end(-6, "HMP-HEWELL", "released at sentence end"))),
    Story("WM-1002", "Liam Walsh", "WARKS", "medium", "handoff-overdue (high): transfer to Warwickshire 10 days overdue",
          age=41, steps=(start(-200, "STAFFS", S, "H. Clarke"),
                         ask(-20, "STAFFS", "WARKS", S, T, due=-10, reason="moved to Nuneaton"))),
    Story("WM-1003", "Aisha Rahman", "WMIDS", "medium", "handoff-overdue (medium): transfer to West Midlands 3 days overdue",
          age=26, steps=(start(-150, "WMERCIA", S, "T. Jones"),
                         ask(-9, "WMERCIA", "WMIDS", S, T, due=-3, reason="moved to Dudley"))),
    Story("WM-1004", "Connor Doyle", "WMIDS", "high", "release-unplanned: leaves Long Lartin in 12 days, nobody asked to supervise",
          age=38, release=12, steps=(start(-400, "HMP-LONG-LARTIN", C, "M. Ahmed"),)),
    Story("WM-1005", "Jayden Price", "WMERCIA", "medium", "age-transition (medium): turns 18 in 40 days, no adult handoff",
          turns_18_in=40, steps=(start(-300, "YOS-WORCS", S, "L. Green"),)),
    Story("WM-1006", "Tyler Bennett", "WMERCIA", "high", "age-transition (high): turned 18 25 days ago, still with the youth service",
          turns_18_in=-25, steps=(start(-500, "YOS-WORCS", S, "L. Green"),)),
    Story("WM-1007", "Marcus Reid", "WMERCIA", "medium", "contract-lapsed: SOVA still mentors, its contract ended 20 days ago",
          age=31, steps=(start(-260, "WMERCIA", S, "P. Singh"),
                         ask(-230, "WMERCIA", "CONNECT-SOVA", D, R, reason="Connect mentoring"),
                         accept(-228, "CONNECT-SOVA", "J. Fry (volunteer mentor)"))),
    Story("WM-1008", "Ryan O'Connor", "WMIDS", "high", "unallocated (high): West Midlands took him 12 days ago, no officer yet",
          age=27, release=-12, steps=(start(-200, "HMP-BIRMINGHAM", C, "K. Byrne"),
                                      ask(-40, "HMP-BIRMINGHAM", "WMIDS", S, T, due=-12),
                                      accept(-30, "WMIDS"))),
    Story("WM-1009", "Chloe Adams", "WARKS", "medium", "unallocated (medium): community order 9 days old, no officer",
          age=33, steps=(start(-9, "WARKS", S),)),
    Story("WM-1010", "Nathan Ward", "WMIDS", "medium", "ping-pong: Staffordshire refused the transfer three times in 70 days",
          age=36, steps=(start(-300, "WMIDS", S, "A. Khan"),
                         ask(-70, "WMIDS", "STAFFS", S, T, reason="says he lives in Tamworth"),
                         reject(-66, "STAFFS", "address is in Walsall, not Staffordshire"),
                         ask(-45, "WMIDS", "STAFFS", S, T, reason="new tenancy in Tamworth"),
                         reject(-41, "STAFFS", "no evidence of the tenancy"),
                         ask(-20, "WMIDS", "STAFFS", S, T, reason="tenancy agreement attached"),
                         reject(-16, "STAFFS", "still registered with a GP in Walsall"))),
    Story("WM-1011", "Sophie Turner", "WARKS", "medium", "dual-ownership: West Mercia and Warwickshire both supervise, for 30 days",
          age=30, steps=(start(-150, "WMERCIA", S, "D. Hall"),
                         start(-30, "WARKS", S, "E. Wright"))),
    Story("WM-1033", "Kyle Robinson", "WARKS", "medium", "no-accountable-owner (high): moved through four areas; Staffordshire let him go 4 days ago and Warwickshire never took him",
          age=29, steps=(start(-420, "WMERCIA", S, "D. Hall"),
                         ask(-330, "WMERCIA", "WMIDS", S, T, reason="moved to Wolverhampton"),
                         accept(-325, "WMIDS", "A. Khan"),
                         ask(-150, "WMIDS", "STAFFS", S, T, reason="moved to Cannock"),
                         accept(-146, "STAFFS", "H. Clarke"),
                         end(-4, "STAFFS", "moved to Warwickshire"))),
    # -- healthy journeys ------------------------------------------------------------------
    Story("WM-1012", "Jordan Lewis", "WMERCIA", "high", "healthy: ICCP with YSS, under West Mercia",
          age=24, steps=(start(-200, "WMERCIA", S, "S. Evans"),
                         ask(-190, "WMERCIA", "YSS", D, R, reason="ICCP"),
                         accept(-188, "YSS", "B. Carter (ICCP)"))),
    Story("WM-1013", "Kieran Moss", "WMERCIA", "very_high", "healthy: ICCP with YSS, under West Mercia",
          age=22, steps=(start(-120, "WMERCIA", S, "T. Jones"),
                         ask(-118, "WMERCIA", "YSS", D, R, reason="ICCP"),
                         accept(-117, "YSS", "B. Carter (ICCP)"))),
    Story("WM-1014", "Gary Whitehouse", "WMIDS", "medium", "healthy: Hewell to West Midlands on the day of release",
          age=45, release=-10, steps=(start(-220, "HMP-HEWELL", C, "R. Patel"),
                                      ask(-45, "HMP-HEWELL", "WMIDS", S, T, due=-10),
                                      accept(-38, "WMIDS", "A. Khan"))),
    Story("WM-1015", "Mohammed Iqbal", "WMIDS", "low", "healthy: closed, order completed",
          age=39, steps=(start(-420, "WMIDS", S, "A. Khan"), close(-30, "order completed"))),
    Story("WM-1016", "Eleanor Price", "WMERCIA", "high", "healthy, restricted: only West Mercia and auditors open the details",
          age=52, restricted=True, steps=(start(-365, "WMERCIA", S, "T. Jones"),)),
    Story("WM-1017", "Dean Foster", "WMIDS", "medium", "healthy: short sentence, then Connect mentoring (Nacro)",
          age=28, release=-60, steps=(start(-90, "HMP-HEWELL", C, "R. Patel"),
                                      ask(-75, "HMP-HEWELL", "WMIDS", S, T, due=-60),
                                      accept(-70, "WMIDS", "J. Smith"),
                                      ask(-55, "WMIDS", "CONNECT-NACRO", D, R, reason="Connect mentoring"),
                                      accept(-52, "CONNECT-NACRO", "P. Shaw (mentor)"))),
    Story("WM-1018", "Lewis Hart", "WARKS", "medium", "healthy, pending for Warwickshire: release in 20 days is planned",
          age=35, release=20, steps=(start(-180, "HMP-LONG-LARTIN", C, "M. Ahmed"),
                                     ask(-5, "HMP-LONG-LARTIN", "WARKS", S, T, due=20))),
    Story("WM-1019", "Callum Byrne", "WMIDS", "medium", "healthy, pending for West Midlands: release in 25 days is planned",
          age=23, release=25, steps=(start(-100, "HMP-BIRMINGHAM", C, "K. Byrne"),
                                     ask(-3, "HMP-BIRMINGHAM", "WMIDS", S, T, due=25))),
    Story("WM-1020", "Harvey Lloyd", "WMERCIA", "high", "healthy, pending for YSS: ICCP referral made 2 days ago",
          age=21, steps=(start(-60, "WMERCIA", S, "P. Singh"),
                         ask(-2, "WMERCIA", "YSS", D, R, reason="ICCP"))),
    Story("WM-1021", "Ben Scott", "STAFFS", "medium", "healthy, pending for Staffordshire: transfer due in 14 days",
          age=44, steps=(start(-250, "WMIDS", S, "J. Smith"),
                         ask(-1, "WMIDS", "STAFFS", S, T, due=14, reason="moved to Stafford"))),
    Story("WM-1022", "Reece Jones", "WMIDS", "medium", "healthy, pending for Nacro: Connect referral made yesterday",
          age=32, steps=(start(-40, "WMIDS", S, "A. Khan"),
                         ask(-1, "WMIDS", "CONNECT-NACRO", D, R, reason="Connect mentoring"))),
    Story("WM-1023", "Ethan Cole", "WMERCIA", "medium", "healthy, pending for West Mercia: youth to adult on the 18th birthday",
          turns_18_in=30, steps=(start(-400, "YOS-WORCS", S, "L. Green"),
                                 ask(-10, "YOS-WORCS", "WMERCIA", S, T, due=30))),
    Story("WM-1024", "Mason Clarke", "WMERCIA", "medium", "healthy: youth to adult accepted, takes effect on the 18th birthday",
          turns_18_in=60, steps=(start(-300, "YOS-WORCS", S, "N. Hughes"),
                                 ask(-20, "YOS-WORCS", "WMERCIA", S, T, due=60),
                                 accept(-14, "WMERCIA", "D. Hall"))),
    Story("WM-1025", "Adam Patel", "WMERCIA", "medium", "healthy, pending for Hewell: recategorised, moving prison",
          age=30, release=90, steps=(start(-500, "HMP-BIRMINGHAM", C, "K. Byrne"),
                                     ask(-4, "HMP-BIRMINGHAM", "HMP-HEWELL", C, T, due=7,
                                         reason="recategorised to category C"))),
    Story("WM-1026", "Stephen Ryan", "WMIDS", "very_high", "healthy, pending for Long Lartin: security review",
          age=50, release=400, steps=(start(-900, "HMP-HEWELL", C, "R. Patel"),
                                      ask(-2, "HMP-HEWELL", "HMP-LONG-LARTIN", C, T, due=10,
                                          reason="security category review"))),
    Story("WM-1027", "Josh Evans", "WMERCIA", "low", "healthy: with the youth service, 18 in more than 90 days",
          turns_18_in=200, steps=(start(-150, "YOS-WORCS", S, "N. Hughes"),)),
    Story("WM-1028", "Gemma Shaw", "STAFFS", "low", "healthy: supervised in Staffordshire",
          age=37, steps=(start(-120, "STAFFS", S, "H. Clarke"),)),
    Story("WM-1029", "Paul Kennedy", "WARKS", "medium", "healthy: supervised in Warwickshire",
          age=48, steps=(start(-600, "WARKS", S, "E. Wright"),)),
    Story("WM-1030", "Ryan Hill", "WMERCIA", "medium", "healthy: in Hewell, release in 150 days",
          age=26, release=150, steps=(start(-30, "HMP-HEWELL", C, "R. Patel"),)),
    Story("WM-1031", "Lauren Baker", "WMIDS", "medium", "healthy: a transfer sent in error and withdrawn",
          age=34, steps=(start(-90, "WMIDS", S, "J. Smith"),
                         ask(-80, "WMIDS", "STAFFS", S, T),
                         withdraw(-78, "STAFFS", "sent in error"))),
    Story("WM-1032", "Dylan Mason", "WMERCIA", "medium", "healthy: moved from youth to adult supervision on his 18th birthday",
          turns_18_in=-200, steps=(start(-600, "YOS-WORCS", S, "N. Hughes"),
                                   ask(-230, "YOS-WORCS", "WMERCIA", S, T, due=-200),
                                   accept(-220, "WMERCIA", "D. Hall"))),
    Story("WM-1038", "Kelly Ward", "STAFFS", "medium", "contract-ending: Nacro mentors her, its contract with Staffordshire ends in 20 days",
          age=29, steps=(start(-120, "STAFFS", S, "R. Patel"),
                         ask(-100, "STAFFS", "CONNECT-NACRO", D, R, reason="Connect mentoring"),
                         accept(-98, "CONNECT-NACRO", "S. Lloyd (volunteer mentor)"))),
    # -- one person, two records (docs/identity.md) ---------------------------------------
    Story("WM-1034", "Jamal Brennan", "WMIDS", "medium", "possible-same-person: Hewell's record; West Midlands knows him as Jamal Brenan (WM-1035)",
          age=29, release=120, identifiers=(("noms", "A4821KB"),),
          steps=(start(-60, "HMP-HEWELL", C, "R. Patel"),)),
    Story("WM-1035", "Jamal Brenan", "WMIDS", "medium", "possible-same-person: West Midlands' record of Jamal Brennan (WM-1034), from his last order",
          age=29, identifiers=(("crn", "D482113"),), steps=(start(-400, "WMIDS", S, "J. Smith"),)),
    Story("WM-1036", "Shane Willetts", "WARKS", "medium", "dual-ownership: Warwickshire and Staffordshire each supervise one of his two records (WM-1037), linked by one PNC id",
          age=31, identifiers=(("crn", "F223344"), ("pnc", "2013/0456789G")),
          steps=(start(-200, "WARKS", S, "E. Wright"),)),
    Story("WM-1037", "Shane Willets", "STAFFS", "medium", "linked: Staffordshire's record of Shane Willetts (WM-1036), read into his journey",
          age=31, identifiers=(("crn", "G334455"), ("pnc", "2013/0456789G")),
          steps=(start(-40, "STAFFS", S, "H. Clarke"),)),
]


def _iso(today: date, offset: int | None) -> str | None:
    return None if offset is None else (today + timedelta(days=offset)).isoformat()


def born_turning_18(eighteenth: date) -> date:
    """Return the date of birth of someone whose 18th birthday is `eighteenth`."""
    if (eighteenth.month, eighteenth.day) == (2, 29):
        eighteenth -= timedelta(days=1)  # no 29 February eighteen years earlier
    return eighteenth.replace(year=eighteenth.year - 18)


def birthday(today: date, story: Story) -> date:
    """Return the date of birth that gives the story's age or 18th birthday."""
    if story.turns_18_in is not None:
        return born_turning_18(today + timedelta(days=story.turns_18_in))
    # A few days apart by given name: two people of one age are rarely born on the same day
    # (the linkage would rightly find them suspicious), and a twin record keeps its birthday.
    spread = sum(map(ord, story.name.split(" ", 1)[0])) % 97
    return today - timedelta(days=round(story.age * 365.25) + 100 + spread)


def story_records(today: date, story: Story) -> list[dict]:
    """Return one story as import records: the person, the case and its events in order."""
    given, family = story.name.split(" ", 1)
    person = f"P-{story.reference.split('-', 1)[1]}"
    opened = min([day for day, _name, _values in story.steps]
                 + ([story.opened] if story.opened is not None else []))
    records = [
        {"type": "person", "reference": person, "given_name": given, "family_name": family,
         "date_of_birth": birthday(today, story).isoformat(), "home_area": story.home,
         "restricted": story.restricted, "identifiers": dict(story.identifiers)},
        {"type": "case", "reference": story.reference, "person": person,
         "opened_on": _iso(today, opened), "risk_level": story.risk,
         "expected_release_on": _iso(today, story.release)},
    ]
    for day, name, values in story.steps:
        values = {k: (_iso(today, v) if k.endswith("_on") else v) for k, v in values.items()}
        records.append({"type": "event", "case": story.reference, "on": _iso(today, day),
                        "event": name, **{k: v for k, v in values.items() if v is not None}})
    return records


def curated_records(today: date) -> list[dict]:
    """Return every curated story as import records."""
    return [record for story in STORIES for record in story_records(today, story)]
