"""The commissioner's contract figures, against counts made by hand on a small region."""

from __future__ import annotations

import csv
import io

import pytest

from gapwatch.contracts import figures
from gapwatch.scan import scan
from tests.support import D, event, load, person_and_case, region

FIELDS = ("cases_delivered", "referrals_made", "referrals_accepted", "referrals_rejected",
          "referrals_unanswered", "median_days_to_answer", "delivery_days_past_end",
          "flags_raised", "median_days_open")


def supervised(session, case, on):
    person_and_case(session, case, home_area="WMERCIA", opened_on=D(on))
    load(session, event(case, on, "ownership_started", agency="WMERCIA", role="supervision",
                        officer="A. Officer"))


def referral(session, case, on, to, answer=None, answered_on=None):
    records = [event(case, on, "handoff_requested", from_agency="WMERCIA", to_agency=to,
                     role="delivery", kind="referral")]
    if answer == "accepted":
        records.append(event(case, answered_on, "handoff_accepted", to_agency=to))
    elif answer == "rejected":
        records.append(event(case, answered_on, "handoff_rejected", to_agency=to,
                             reason="full"))
    load(session, *records)


@pytest.fixture
def commissioned(session):
    """WMERCIA buys ICCP from YSS (open-ended) and Connect mentoring until 31 March 2026."""
    region(session)
    load(session, {"type": "contract", "provider": "CONNECT-NACRO", "commissioner": "WMERCIA",
                   "service": "Connect", "starts_on": "2025-04-01", "ends_on": "2026-03-31"})
    supervised(session, "C-1", "2026-01-05")
    referral(session, "C-1", "2026-01-10", "CONNECT-NACRO", "accepted", "2026-01-12")  # 2 days
    supervised(session, "C-2", "2026-02-01")
    referral(session, "C-2", "2026-02-03", "CONNECT-NACRO", "rejected", "2026-02-07")  # 4 days
    supervised(session, "C-3", "2026-03-01")
    referral(session, "C-3", "2026-03-05", "CONNECT-NACRO")  # never answered
    supervised(session, "C-4", "2026-02-01")
    referral(session, "C-4", "2026-02-10", "YSS", "accepted", "2026-02-11")  # 1 day
    # contract-ending opens on 1 March; on 1 April it resolves and contract-lapsed opens.
    for day in ("2026-02-28", "2026-03-01", "2026-04-01"):
        scan(session, D(day))
    return session


def table(rows):
    return {(m.contract.provider, m.first.strftime("%Y-%m")): tuple(m.row()[f] for f in FIELDS)
            for m in rows}


def test_the_figures_match_the_hand_counts(commissioned):
    rows = figures(commissioned, D("2026-01-01"), D("2026-04-30"), as_of=D("2026-04-10"))
    assert table(rows) == {
        ("CONNECT-NACRO", "2026-01"): (1, 1, 1, 0, 0, 2, 0, 0, ""),
        ("CONNECT-NACRO", "2026-02"): (1, 1, 0, 1, 0, 4, 0, 0, ""),
        ("CONNECT-NACRO", "2026-03"): (1, 1, 0, 0, 1, "", 0, 1, 31),
        ("CONNECT-NACRO", "2026-04"): (0, 0, 0, 0, 0, "", 10, 1, 9),
        ("YSS", "2026-01"): (0, 0, 0, 0, 0, "", 0, 0, ""),
        ("YSS", "2026-02"): (1, 1, 1, 0, 0, 1, 0, 0, ""),
        ("YSS", "2026-03"): (1, 0, 0, 0, 0, "", 0, 0, ""),
        ("YSS", "2026-04"): (1, 0, 0, 0, 0, "", 0, 0, ""),
    }


def test_as_of_an_earlier_day_the_later_answers_have_not_happened(commissioned):
    rows = figures(commissioned, D("2026-02-01"), D("2026-02-28"), as_of=D("2026-02-05"))
    assert table(rows)[("CONNECT-NACRO", "2026-02")] == (1, 1, 0, 0, 1, "", 0, 0, "")
    assert table(rows)[("YSS", "2026-02")] == (0, 0, 0, 0, 0, "", 0, 0, "")


def test_the_command_writes_the_csv(app, commissioned, tmp_path):
    path = tmp_path / "report.csv"
    result = app.test_cli_runner().invoke(args=[
        "contracts", "report", "--commissioner", "WMERCIA", "--from", "2026-01-01",
        "--to", "2026-04-30", "--as-of", "2026-04-10", "-o", str(path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {"provider", "commissioner", "service", "month", "cases_delivered", "referrals_made",
            "referrals_accepted", "referrals_rejected", "referrals_unanswered",
            "median_days_to_answer", "delivery_days_past_end", "flags_raised"} <= set(rows[0])
    april = [r for r in rows if r["provider"] == "CONNECT-NACRO" and r["month"] == "2026-04"]
    assert [(r["service"], r["delivery_days_past_end"]) for r in april] == [("Connect", "10")]


@pytest.mark.parametrize(("args", "says"), [
    (["--commissioner", "NOPE"], "NOPE"),
    (["--from", "2026-05-01", "--to", "2026-04-01"], "after --to"),
])
def test_the_command_names_what_is_wrong(app, commissioned, args, says):
    result = app.test_cli_runner().invoke(args=["contracts", "report", *args])
    assert result.exit_code != 0 and says in result.output


def test_the_command_writes_a_pdf(app, commissioned, tmp_path):
    path = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(args=[
        "contracts", "report", "--from", "2026-01-01", "--to", "2026-03-31",
        "--as-of", "2026-04-10", "--format", "pdf", "-o", str(path)])
    assert result.exit_code == 0, result.output
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and len(pdf) > 1500
    refused = app.test_cli_runner().invoke(args=["contracts", "report", "--format", "pdf"])
    assert refused.exit_code != 0 and "-o PATH" in refused.output


def test_the_pdf_prints_a_service_in_any_script_and_days_in_words(app, commissioned, tmp_path):
    """The contract PDF is drawn in the case history's Unicode font: it once printed a name
    outside Latin-1 as '?'."""
    from pypdf import PdfReader

    load(commissioned, {"type": "contract", "provider": "YSS", "commissioner": "WMERCIA",
                        "service": "Mentoring Łódź – محمد", "starts_on": "2026-01-01",
                        "ends_on": None})
    path = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(args=[
        "contracts", "report", "--from", "2026-01-01", "--to", "2026-03-31",
        "--as-of", "2026-04-10", "--format", "pdf", "-o", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    assert "Łódź" in text and "محمد" in text and "?" not in text, text
    assert "1 January 2026 to 31 March 2026" in text and "10 April 2026" in text, text
