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
