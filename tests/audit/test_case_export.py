"""A case's exported history holds everything the database holds for it, in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from gapwatch import audit
from gapwatch import operations as ops
from gapwatch.exports import export_case
from gapwatch.exports.formats import CSV_COLUMNS, FORMULA_STARTS
from gapwatch.models import Agency, AuditEvent, Case, Handoff, Ownership, Person
from gapwatch.queries import load_journey
from tests.support import D, act, event, load, person_and_case, region

AUDITOR = ops.Actor(name="user:inspector@hmip.example", read_only=True)


def exported(session, fmt="json", **options):
    return export_case(session, AUDITOR, "C-1", fmt=fmt, **options)


def history(session, **options) -> dict:
    return json.loads(exported(session, **options))


def table_rows(session, model, where) -> list[dict]:
    """Read rows straight from the table, every column, as JSON would hold them."""
    table = model.__table__
    rows = session.execute(select(table).where(where).order_by(table.c.id)).mappings()
    return [audit.plain(dict(row)) for row in rows]


def agency_codes(session) -> dict[int, str]:
    return dict(session.execute(select(Agency.id, Agency.code)).all())


def test_json_holds_every_column_of_the_person_case_ownerships_and_handoffs(journey):
    data = history(journey)
    case = journey.execute(select(Case).where(Case.reference == "C-1")).scalar_one()
    codes = agency_codes(journey)
    [person] = table_rows(journey, Person, Person.id == case.person_id)
    assert data["person"] == {**{k: v for k, v in person.items() if k != "home_area_id"},
                              "home_area": codes[person["home_area_id"]]}
    [case_row] = table_rows(journey, Case, Case.id == case.id)
    assert data["case"] == {k: v for k, v in case_row.items() if k != "person_id"}
    owned = table_rows(journey, Ownership, Ownership.case_id == case.id)
    assert sorted(data["ownerships"], key=lambda o: o["id"]) == [
        {**{k: v for k, v in o.items() if k not in {"case_id", "agency_id"}},
         "agency": codes[o["agency_id"]]} for o in owned]
    handed = table_rows(journey, Handoff, Handoff.case_id == case.id)
    assert sorted(data["handoffs"], key=lambda h: h["id"]) == [
        {**{k: v for k, v in h.items() if k not in {"case_id", "from_agency_id", "to_agency_id"}},
         "from_agency": codes.get(h["from_agency_id"]), "to_agency": codes[h["to_agency_id"]]}
        for h in handed]
    assert len(owned) == 2 and len(handed) == 2


def test_json_holds_every_audit_entry_of_the_case_including_its_own_export(journey):
    data = history(journey)
    case_id = data["case"]["id"]
    entries = table_rows(journey, AuditEvent, AuditEvent.case_id == case_id)
    assert [e["seq"] for e in data["audit"]] == [e["seq"] for e in entries]
    for got, stored in zip(data["audit"], entries, strict=True):
        assert got == {k: v for k, v in stored.items() if k != "id"}
    assert data["audit"][-1]["action"] == "export.case"
    assert data["audit_head"] == {"seq": entries[-1]["seq"], "hash": entries[-1]["hash"]}


def test_the_gaps_are_the_journeys(journey):
    data = history(journey, as_of=D("2026-12-31"))
    assert data["gaps"] == [{"starts_on": "2026-06-10", "ends_on": "2026-06-15", "days": 5}]
    journey_gaps = load_journey(journey, "C-1").gaps(D("2026-01-10"), D("2027-01-01"))
    assert [(g.starts_on.isoformat(), g.ends_on.isoformat()) for g in journey_gaps] == [
        ("2026-06-10", "2026-06-15")]


def test_a_gap_still_open_has_no_end(journey):
    act(journey, ops.end_ownership, case="C-1", on=D("2026-09-01"), agency="WMIDS",
        reason="moved away")
    assert history(journey, as_of=D("2026-10-01"))["gaps"][-1] == {
        "starts_on": "2026-09-01", "ends_on": None, "days": 31}


@pytest.mark.parametrize("day", ["2026-01-09", "2026-01-10", "2026-05-01", "2026-05-02",
                                 "2026-06-09", "2026-06-10", "2026-06-14", "2026-06-15",
                                 "2026-06-20", "2026-12-31"])
def test_as_of_gives_the_journey_as_it_stood(journey, day):
    then = load_journey(journey, "C-1").as_of(D(day))
    data = history(journey, as_of=D(day))
    assert data["as_of"] == day
    assert [(o["id"], o["agency"], o["role"], o["starts_on"], o["ends_on"], o["officer"])
            for o in data["ownerships"]] == [
        (o.id, o.agency, o.role, o.starts_on.isoformat(), o.ends_on and o.ends_on.isoformat(),
         o.officer) for o in then.ownerships]
    assert [(h["id"], h["status"], h["decided_on"], h["reason"]) for h in data["handoffs"]] == [
        (h.id, h.status, h.decided_on and h.decided_on.isoformat(), h.reason)
        for h in then.handoffs]


def test_as_of_leaves_out_what_was_decided_later(journey):
    data = history(journey, as_of=D("2026-05-01"))
    assert [(h["to_agency"], h["status"], h["reason"]) for h in data["handoffs"]] == [
        ("WMERCIA", "pending", None)]
    assert [(o["agency"], o["ends_on"], o["ended_reason"]) for o in data["ownerships"]] == [
        ("HMP-HEWELL", None, None)]
    assert data["gaps"] == []


def test_every_export_is_audited(journey):
    for fmt in ("json", "csv", "html", "pdf"):
        exported(journey, fmt, as_of=D("2026-06-01") if fmt == "pdf" else None)
    entries = journey.execute(
        select(AuditEvent).where(AuditEvent.action == "export.case").order_by(AuditEvent.seq)
    ).scalars().all()
    assert [(e.actor, e.case_reference, e.detail["format"], e.detail["as_of"]) for e in entries] == [
        ("user:inspector@hmip.example", "C-1", "json", None),
        ("user:inspector@hmip.example", "C-1", "csv", None),
        ("user:inspector@hmip.example", "C-1", "html", None),
        ("user:inspector@hmip.example", "C-1", "pdf", "2026-06-01"),
    ]
    assert audit.verify(journey).ok


def test_an_unknown_case_is_named(journey):
    from gapwatch.errors import NotFound

    with pytest.raises(NotFound, match="unknown case 'C-404'"):
        export_case(journey, AUDITOR, "C-404")


# -- CSV --------------------------------------------------------------------------------------
def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_csv_has_one_row_per_event(journey):
    data = history(journey)
    rows = csv_rows(exported(journey, "csv"))
    assert list(rows[0]) == list(CSV_COLUMNS)
    kinds = [r["event"] for r in rows]
    assert kinds.count("ownership_started") == len(data["ownerships"]) == 2
    assert kinds.count("ownership_ended") == 1
    assert kinds.count("officer_allocated") == 1
    assert kinds.count("handoff_requested") == 2
    assert {"handoff_rejected", "handoff_accepted", "gap_started", "gap_ended",
            "case_opened", "person"} <= set(kinds)
    # every audit entry of the case, the csv's own export included
    audited = [int(r["audit_seq"]) for r in rows if r["event"].startswith("audit:")]
    assert audited == [e["seq"] for e in data["audit"]] + [data["audit"][-1]["seq"] + 1]
    days = [r["day"] for r in rows if r["day"]]
    assert days == sorted(days)


INJECTIONS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-3+4", "@SUM(A1)",
              "\t=1", "\r=1"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_csv_cells_never_start_a_formula(session, payload):
    region(session)
    load(session,
         {"type": "person", "reference": "P-1", "given_name": payload, "family_name": payload,
          "date_of_birth": "1990-01-01", "home_area": "WMIDS"},
         {"type": "case", "reference": "C-1", "person": "P-1", "opened_on": "2026-01-10"},
         event("C-1", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision",
               officer=payload),
         event("C-1", "2026-02-01", "ownership_ended", agency="WMIDS", reason=payload),
         event("C-1", "2026-02-01", "handoff_requested", from_agency=None, to_agency="WMERCIA",
               role="supervision", kind="referral"),
         event("C-1", "2026-02-02", "handoff_rejected", to_agency="WMERCIA", reason=payload))
    rows = csv_rows(exported(session, "csv"))
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    inert = "'" + payload
    assert inert in cells  # the officer, the reasons: kept, but as text
    assert sum(c == inert for c in cells) >= 3


# -- HTML and PDF ------------------------------------------------------------------------------
def test_html_shows_the_history_escaped_and_prints_well(session):
    region(session)
    person_and_case(session)
    load(session, event("C-1", "2026-01-10", "ownership_started", agency="WMIDS",
                        role="supervision", officer="<script>alert(1)</script>"))
    page = exported(session, "html").decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "@page" in page and "break-inside: avoid" in page
    # Days as people read them, agencies by name and code (issue 13).
    assert "Case history C-1" in page and "10 January 2026" in page
    assert "West Midlands Probation (WMIDS)" in page


def pdf_text(pdf: bytes) -> str:
    """The text of every page, as a PDF reader extracts it (pypdf, the test extra's)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize(("given", "family"), [("Łukasz", "Żółć"), ("محمد", "عبد الله")],
                         ids=["polish", "arabic"])
def test_the_pdf_shows_every_name(session, given, family):
    region(session)
    load(session,
         {"type": "person", "reference": "P-1", "given_name": given, "family_name": family,
          "date_of_birth": "1990-01-01", "home_area": "WMIDS"},
         {"type": "case", "reference": "C-1", "person": "P-1", "opened_on": "2026-01-10"},
         event("C-1", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision"))
    pdf = exported(session, "pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert given in text and family in text and "?" * len(given) not in text
    assert "West Midlands Probation (WMIDS)" in text and "10 January 2026" in text


def test_the_pdf_is_ragged_right_with_the_journey_and_the_history_in_words(journey, monkeypatch):
    from fpdf import FPDF

    from gapwatch.exports.pdf import CaseHistoryPdf

    aligned = []
    for name, key in (("multi_cell", "align"), ("table", "text_align")):
        drawn = getattr(FPDF, name)

        def spy(self, *args, _drawn=drawn, _key=key, **kwargs):
            aligned.append(str(kwargs.get(_key, "justified (fpdf2's default)")))
            return _drawn(self, *args, **kwargs)
        monkeypatch.setattr(CaseHistoryPdf, name, spy)
    text = pdf_text(exported(journey, "pdf"))
    # Every paragraph and table ragged-right: justified text opens rivers between words.
    assert aligned and set(aligned) <= {"L", "Align.L", "LEFT"}, set(aligned)
    assert "The whole journey" in text and "GAP · 5 days" in text
    assert "custody" in text and "✗ rejected 2 May" in text
    assert "History of the case: who did what, when" in text
    assert "Named A. Patel as officer for West Midlands Probation (WMIDS)'s supervision" in text
    assert "Rejected the transfer of supervision from HMP Hewell (HMP-HEWELL) to West Mercia" in text
    assert '{"' not in text and "['" not in text  # no JSON, no Python lists


def test_the_html_says_the_history_in_words_with_the_picture(journey):
    page = exported(journey, "html").decode()
    assert "<svg" in page and "GAP · 5 days" in page
    assert "Named A. Patel as officer for West Midlands Probation (WMIDS)&#39;s supervision" in page
    assert "{&#34;" not in page and "[&#39;" not in page  # no JSON, no Python lists
    assert 'style="' not in page  # the export's own CSP allows only its stylesheet


def test_a_missing_font_is_named_with_what_to_install(session, monkeypatch, tmp_path):
    from gapwatch.exports import pdf

    region(session)
    person_and_case(session)
    monkeypatch.setenv(pdf.FONT_DIR_SETTING, str(tmp_path))
    with pytest.raises(pdf.FontMissing, match="apt-get install fonts-dejavu-core"):
        exported(session, "pdf")


# -- flags ---------------------------------------------------------------------------------------
def test_flags_are_exported_with_every_column_and_their_lifecycle(flagged):
    from gapwatch.models import Flag

    data = history(flagged)
    stored = table_rows(flagged, Flag, Flag.case_id == data["case"]["id"])
    assert len(stored) == 1
    [flag] = data["flags"]
    assert {k: v for k, v in flag.items() if k not in ("lifecycle", "acknowledgements")} == {
        k: v for k, v in stored[0].items() if k != "case_id"}
    assert [(a["agency"], a["note"]) for a in flag["acknowledgements"]] == [
        ("WMIDS", "=calling WMIDS duty officer")]
    assert [e["action"] for e in flag["lifecycle"]] == [
        "flag.opened", "flag.acknowledged", "flag.resolved"]
    entries = {e["seq"]: e for e in data["audit"]}
    assert all(entries[e["seq"]]["action"] == e["action"] for e in flag["lifecycle"])
    assert flag["status"] == "resolved" and flag["resolved_on"] == "2026-06-16"


@pytest.mark.parametrize(("day", "status", "lifecycle"), [
    ("2026-06-11", None, None),
    ("2026-06-12", "open", ["flag.opened"]),
    # WMIDS acknowledged; HMP-HEWELL, told too, had not: the flag stayed open.
    ("2026-06-13", "open", ["flag.opened", "flag.acknowledged"]),
    ("2026-06-16", "resolved", ["flag.opened", "flag.acknowledged", "flag.resolved"]),
])
def test_a_flag_as_it_stood(flagged, day, status, lifecycle):
    flags = history(flagged, as_of=D(day))["flags"]
    if status is None:
        assert flags == []
        return
    [flag] = flags
    assert (flag["status"], [e["action"] for e in flag["lifecycle"]]) == (status, lifecycle)
    said = [a["agency"] for a in flag["acknowledgements"]]
    assert said == (["WMIDS"] if "flag.acknowledged" in lifecycle else [])


def test_flag_events_in_the_csv_are_inert(flagged):
    rows = csv_rows(exported(flagged, "csv"))
    kinds = [r["event"] for r in rows]
    assert {"flag_raised", "flag_acknowledged", "flag_resolved"} <= set(kinds)
    [ack] = [r for r in rows if r["event"] == "flag_acknowledged"]
    assert ack["text"] == "'=calling WMIDS duty officer"
