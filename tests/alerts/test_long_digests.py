"""A digest lists the first hundred lines of each list and says how many more there are."""

from __future__ import annotations

from datetime import date

import pytest

from gapwatch.alerts.digest import CaseLine, Digest, FlagItem, HandoffItem
from gapwatch.alerts.render import LISTED, digest_mail, escalation_mail
from gapwatch.models import Agency

DAY = date(2026, 11, 25)


def flag(n: int, escalated: bool = False) -> FlagItem:
    case = CaseLine(f"C-{n:05d}", f"Person {n}", f"http://gapwatch.test/cases/C-{n:05d}")
    return FlagItem(case, "unallocated", "medium", f"message {n}", date(2026, 11, 1), 24,
                    False, escalated)


def handoff(n: int) -> HandoffItem:
    case = CaseLine(f"H-{n:05d}", f"Person {n}", f"http://gapwatch.test/cases/H-{n:05d}")
    return HandoffItem(case, "transfer", "supervision", "HMP-HEWELL", "WMIDS",
                       date(2026, 11, 1), date(2026, 11, 20), 5)


def digest(count: int) -> Digest:
    agency = Agency(id=1, code="WMIDS", name="West Midlands Probation", kind="probation",
                    alert_emails=["duty@wmids.example"], alert_severities=["medium"])
    return Digest(agency=agency, day=DAY, open_flags=[flag(n, True) for n in range(count)],
                  waiting=[handoff(n) for n in range(count)],
                  escalation_emails=["lead@region.example"])


@pytest.mark.parametrize("count", [LISTED, LISTED + 1, 3 * LISTED])
def test_each_list_shows_at_most_the_limit_and_counts_the_rest(count):
    mail = digest_mail(digest(count), 3)
    escalation = escalation_mail(digest(count), 3)
    more = count - LISTED
    for part in (mail.text, mail.html):
        assert part.count("/cases/C-") == min(count, LISTED)
        assert part.count("/cases/H-") == min(count, LISTED)
        assert (f"and {more} more, on the gapwatch dashboard" in part) == (more > 0)
    for part in (escalation.text, escalation.html):
        assert part.count("/cases/C-") == min(count, LISTED)
        assert (f"and {more} more, on the gapwatch dashboard" in part) == (more > 0)
    assert f"({count})" in mail.text  # the headings still count every line


def test_a_gathered_digest_holds_the_first_lines_of_each_list_and_counts_them_all(
        session, monkeypatch):
    """Twenty flags on C-1 to C-3, of every severity and age, some acknowledged or snoozed by
    one of the agencies they tell: gathered holding two lines of a list, each digest shows the
    first two of what it shows holding them all, counts every line, and says the same worst
    thing and the same escalations."""
    from gapwatch.alerts import digest as gathering
    from gapwatch.alerts.render import digest_subject, worst
    from gapwatch.alerts.settings import AlertSettings
    from tests.alerts.conftest import DAY as ON
    from tests.alerts.conftest import raise_flag, scenario
    from tests.support import days

    scenario(session)
    severities = ["low", "critical", "medium", "high"]
    for n in range(20):
        told = [["WMIDS", "WMERCIA"], ["WMIDS"], ["WMERCIA", "YSS", "WMIDS"]][n % 3]
        said = [None, {"WMIDS": None}, {"WMIDS": ON + days(2)}, {"WMERCIA": ON - days(1)},
                None][n % 5]
        raise_flag(session, f"C-{n % 3 + 1}", rule="unallocated", subject=f"s{n}",
                   severity=severities[n % 4], since=ON - days(n % 7),
                   first_seen_on=ON - days(n % 4), notify=told, acknowledged=said)
    settings = AlertSettings(base_url="http://gapwatch.test", escalate_after_days=2)

    def gathered(listed: int) -> dict:
        monkeypatch.setattr(gathering, "LISTED", listed)
        session.rollback()
        return {d.agency.code: d for d in gathering.gather(session, ON, settings)}

    whole, short = gathered(1000), gathered(2)
    assert sorted(whole) == sorted(short)
    assert whole["WMIDS"].open_flags.total > 2 and whole["WMIDS"].escalated.total > 2
    for code, every in whole.items():
        # What a digest made of the whole lists by hand reads in them, line by line.
        read = Digest(every.agency, ON, new_flags=list(every.new_flags),
                      open_flags=list(every.open_flags))
        assert every.escalated == read.escalated, code
        assert worst(every) == worst(read), code
        few = short[code]
        for name in ("new_flags", "open_flags", "escalated"):
            assert getattr(few, name) == getattr(every, name)[:2], (code, name)
            assert getattr(few, name).total == len(getattr(every, name)), (code, name)
        assert digest_subject(few) == digest_subject(every)
