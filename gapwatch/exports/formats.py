"""Writing a case history (`exports.history`) as JSON, CSV, printable HTML or PDF."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gapwatch.audit import plain
from gapwatch.clock import long_day
from gapwatch.exports.readable import readable

FORMATS = ("json", "csv", "html", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
CSV_COLUMNS = (
    "day", "event", "case", "agency", "from_agency", "to_agency", "role", "kind", "status",
    "officer", "severity", "rule", "text", "actor", "at", "audit_seq", "record_id",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render(history: dict, fmt: str, *, names: Mapping[str, str] | None = None,
           picture=None) -> bytes:
    """Return the history written in format `fmt` (one of FORMATS). The HTML and the PDF say
    agencies by `names` (name by code) and draw `picture`, the whole journey laid out."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt in ("html", "pdf"):
        doc = readable(history, names or {}, picture)
        written = to_html(history, doc) if fmt == "html" else to_pdf(doc)
    else:
        written = to_json(history) if fmt == "json" else to_csv(history)
    return written if isinstance(written, bytes) else written.encode("utf-8")


def to_json(history: dict) -> str:
    return json.dumps(plain(history), indent=2, ensure_ascii=False) + "\n"


# -- CSV: one row per event -------------------------------------------------------------------
def inert(value) -> str:
    """Return a cell's text so that no spreadsheet runs it as a formula."""
    if value is None:
        text = ""
    elif isinstance(value, dict | list):
        text = json.dumps(plain(value), ensure_ascii=False, sort_keys=True)
    else:
        text = str(plain(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _person_events(history: dict) -> list[tuple]:
    p, c = history["person"], history["case"]
    who = ("details withheld" if p.get("details_withheld") else
           f"{p['given_name']} {p['family_name']} ({p['reference']}), born {p['date_of_birth']}")
    rows = [(None, {"event": "person", "agency": p["home_area"], "record_id": p["id"],
                    "text": who + (", restricted" if p["restricted"] else "")})]
    rows.append((c["opened_on"], {"event": "case_opened", "record_id": c["id"],
                                  "text": f"risk {c['risk_level']}"}))
    if c["closed_on"]:
        rows.append((c["closed_on"], {"event": "case_closed", "record_id": c["id"]}))
    return rows


def _journey_events(history: dict) -> list[tuple]:
    rows = []
    for o in history["ownerships"]:
        base = {"agency": o["agency"], "role": o["role"], "record_id": o["id"]}
        rows.append((o["starts_on"], {**base, "event": "ownership_started", "officer": o["officer"]}))
        if o["allocated_on"]:
            rows.append((o["allocated_on"], {**base, "event": "officer_allocated",
                                             "officer": o["officer"]}))
        if o["ends_on"]:
            rows.append((o["ends_on"], {**base, "event": "ownership_ended", "text": o["ended_reason"]}))
    for h in history["handoffs"]:
        base = {"from_agency": h["from_agency"], "to_agency": h["to_agency"], "role": h["role"],
                "kind": h["kind"], "record_id": h["id"]}
        due = f"due {h['due_on']}" if h["due_on"] else None
        rows.append((h["requested_on"], {**base, "event": "handoff_requested", "status": "pending",
                                         "text": due}))
        if h["decided_on"]:
            rows.append((h["decided_on"], {**base, "event": f"handoff_{h['status']}",
                                           "status": h["status"], "officer": h["officer"],
                                           "text": h["reason"]}))
    for g in history["gaps"]:
        rows.append((g["starts_on"], {"event": "gap_started", "text": f"{g['days']} days"}))
        if g["ends_on"]:
            rows.append((g["ends_on"], {"event": "gap_ended"}))
    return rows


def _flag_events(history: dict) -> list[tuple]:
    rows = []
    for f in history["flags"]:
        base = {"rule": f["rule"], "severity": f["severity"], "record_id": f["id"]}
        rows.append((f["since"], {**base, "event": "flag_raised", "status": f["status"],
                                  "text": f["message"]}))
        for a in f["acknowledgements"]:
            rows.append((a["acknowledged_on"], {**base, "event": "flag_acknowledged",
                                                "actor": f"{a['agency']}: {a['acknowledged_by']}",
                                                "text": a["note"]}))
        if f["resolved_on"]:
            rows.append((f["resolved_on"], {**base, "event": "flag_resolved"}))
    return rows


def _audit_events(history: dict) -> list[tuple]:
    from gapwatch.exports.history import local_day

    return [
        (local_day(e["at"]), {"event": f"audit:{e['action']}", "actor": e["actor"], "at": e["at"],
                              "audit_seq": e["seq"], "text": e["detail"]})
        for e in history["audit"]
    ]


def csv_rows(history: dict) -> list[dict]:
    """Return the history as events in day order, each a dict of CSV_COLUMNS."""
    events = (_person_events(history) + _journey_events(history) + _flag_events(history)
              + _audit_events(history))
    ordered = sorted(enumerate(events), key=lambda item: (item[1][0] or date.min, item[0]))
    case = history["case"]["reference"]
    return [{"day": day, "case": case, **values} for _, (day, values) in ordered]


def to_csv(history: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(history):
        writer.writerow([inert(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


# -- HTML and PDF: the readable history (`exports.readable`) ---------------------------------
def to_html(history: dict, doc) -> str:
    from gapwatch.web.timeline import svg

    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(default=True))
    environment.filters["long_day"] = long_day
    template = environment.get_template("exports/case.html")
    picture = Markup(svg(doc.picture, "journey")) if doc.picture is not None else None
    return template.render(h=history, doc=doc, picture=picture)


def to_pdf(doc) -> bytes:
    from gapwatch.exports.pdf import CaseHistoryPdf

    return CaseHistoryPdf(doc).build()
