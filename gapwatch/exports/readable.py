"""The readable case history: what the HTML and the PDF exports print, worked out once.

`readable(history, names, picture)` turns the plain history (`exports.history`) into titled
sections of words and tables (`exports.words` says each thing), with the whole journey's picture.
`exports/case.html` writes it as HTML, `exports.pdf` draws it: both say the same things.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gapwatch.exports.history import local_day
from gapwatch.exports.words import Line, agency, day, history, moment
from gapwatch.rules import days_open
from gapwatch.web.timeline import Picture


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    empty: str
    widths: tuple[float, ...] = ()  # shares of the page's width, for the PDF


@dataclass
class Readable:
    reference: str
    title: str
    meta: str
    facts: list[tuple[str, str]]
    gaps: list[str]
    tables: list[Table]
    history: list[Line]
    picture: Picture | None = None
    audit_head: str = ""
    extra: dict = field(default_factory=dict)


def _facts(h: dict, names: Mapping[str, str]) -> list[tuple[str, str]]:
    p, c = h["person"], h["case"]
    return [
        ("Person", ("details withheld" if p.get("details_withheld") else
                    f"{p['given_name']} {p['family_name']} ({p['reference']})")
                   + (", restricted" if p["restricted"] else "")),
        ("Born", day(p["date_of_birth"])),
        ("Home area", agency(p["home_area"], names, none="none recorded")),
        ("Opened", day(c["opened_on"])),
        ("Closed", day(c["closed_on"]) if c["closed_on"] else "open"),
        ("Risk", c["risk_level"].replace("_", " ")),
        ("Expected release", day(c["expected_release_on"]) if c["expected_release_on"] else "none"),
    ]


def _gaps(h: dict) -> list[str]:
    """The gaps in words. A gap still open is counted as its flag counts it (`days_open`: the
    day of the export not yet counted), as the picture and the pages count it; the JSON's
    `days` also counts that day."""
    today = h["as_of"] or local_day(h["exported_at"])
    said = []
    for g in h["gaps"]:
        if g["ends_on"]:
            until, days = f"until {day(g['ends_on'])}", g["days"]
        else:
            until, days = "onwards (still open)", days_open(g["starts_on"], today)
        said.append(f"Nobody accountable from {day(g['starts_on'])} {until}: "
                    f"{days} day{'s' * (days != 1)}.")
    return said


def _tables(h: dict, names: Mapping[str, str]) -> list[Table]:
    ownerships = Table(
        "Ownerships", ("Agency", "Role", "From", "Until", "Officer", "Ended because"),
        [(agency(o["agency"], names), o["role"], day(o["starts_on"]),
          day(o["ends_on"]) if o["ends_on"] else "ongoing",
          o["officer"] or "none named", o["ended_reason"] or "")
         for o in h["ownerships"]],
        "No ownerships.", (0.24, 0.1, 0.13, 0.13, 0.14, 0.26))
    handoffs = Table(
        "Handoffs", ("Asked", "From", "To", "What", "Due", "Decision", "Reason"),
        [(day(x["requested_on"]), agency(x["from_agency"], names, none="intake"),
          agency(x["to_agency"], names), f"{x['kind']} of {x['role']}",
          day(x["due_on"]) if x["due_on"] else "none",
          x["status"] + (f" on {day(x['decided_on'])}" if x["decided_on"] else "")
          + (f", officer {x['officer']}" if x.get("officer") else ""),
          x["reason"] or "")
         for x in h["handoffs"]],
        "No handoffs.", (0.11, 0.16, 0.16, 0.12, 0.11, 0.16, 0.18))
    flags = Table(
        "Flags", ("Rule", "Severity", "Since", "Status", "Message", "Acknowledged", "Resolved"),
        [(f["rule"], f["severity"], day(f["since"]), f["status"], f["message"],
          "; ".join(f"{agency(a['agency'], names)} on {day(a['acknowledged_on'])} by "
                    f"{a['acknowledged_by']}" + (f": {a['note']}" if a.get("note") else "")
                    + (f" (quiet until {day(a['snoozed_until'])})" if a.get("snoozed_until")
                       else "")
                    for a in f["acknowledgements"]) or "no",
          day(f["resolved_on"]) if f["resolved_on"] else "open")
         for f in h["flags"]],
        "No flags.", (0.13, 0.07, 0.1, 0.09, 0.33, 0.18, 0.1))
    return [ownerships, handoffs, flags]


def readable(h: dict, names: Mapping[str, str], picture: Picture | None = None) -> Readable:
    stood = f", as it stood at the end of {day(h['as_of'])}" if h["as_of"] else ""
    head = h["audit_head"]
    return Readable(
        reference=h["case"]["reference"],
        title=f"Case history {h['case']['reference']}",
        meta=f"Exported {moment(h['exported_at'])} (UK time){stood}.",
        facts=_facts(h, names),
        gaps=_gaps(h),
        tables=_tables(h, names),
        history=history(h["audit"], names),
        picture=picture,
        audit_head=f"Audit chain head when exported: entry {head['seq']}, hash {head['hash']}.",
    )
