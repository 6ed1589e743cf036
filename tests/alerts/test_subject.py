"""The subject's worst thing, read from the first unanswered flag of each sorted list, is the
worst of every unanswered flag of the digest, whatever the lists hold."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from gapwatch.alerts.digest import RANK_OF_SEVERITY, CaseLine, Digest, FlagItem
from gapwatch.alerts.render import HEADLINES, worst

DAY = date(2026, 6, 1)
items = st.builds(
    lambda reference, rule, severity, since, acknowledged: FlagItem(
        case=CaseLine(reference, "Sam Example", f"http://gapwatch.test/cases/{reference}"),
        rule=rule, severity=severity, message="", since=DAY - timedelta(days=since),
        days_open=since, acknowledged=acknowledged, escalated=False),
    st.sampled_from(["C-1", "C-2", "C-3"]), st.sampled_from(sorted(HEADLINES)),
    st.sampled_from(["critical", "high", "medium", "low"]), st.integers(0, 5), st.booleans())


def by_rank(flags: list[FlagItem]) -> list[FlagItem]:
    """As `gather` sorts each list."""
    return sorted(flags, key=lambda f: (RANK_OF_SEVERITY.get(f.severity, 9), f.since,
                                        f.case.reference))


@given(new=st.lists(items, max_size=8), still=st.lists(items, max_size=8))
def test_the_worst_is_the_worst_of_every_unanswered_flag(new, still):
    digest = Digest(SimpleNamespace(code="WMIDS"), DAY, new_flags=by_rank(new),
                    open_flags=by_rank(still))
    unanswered = [f for f in digest.new_flags + digest.open_flags if not f.acknowledged]
    if not unanswered:
        assert worst(digest) is None
        return
    top = min(unanswered, key=lambda f: (RANK_OF_SEVERITY.get(f.severity, 9), f.since))
    same = sum(1 for f in unanswered if f.severity == top.severity)
    headline = HEADLINES[top.rule].format(case=top.case.reference)
    assert worst(digest) == f"{same} {top.severity}: {headline}" + (
        f" and {same - 1} more" if same > 1 else "")


def test_a_flag_first_seen_today_has_been_open_today_not_0_days():
    """As the pages say it (a walk found "(0 days)" in the digest of a gap begun that day)."""
    from gapwatch.alerts.digest import FlagLines
    from gapwatch.alerts.render import digest_mail

    def flag(days: int) -> FlagItem:
        return FlagItem(case=CaseLine(f"C-{days}", "Sam Example", "http://gapwatch.test/c"),
                        rule="no-accountable-owner", severity="high", message="Nobody.",
                        since=DAY - timedelta(days=days), days_open=days, acknowledged=False,
                        escalated=False)

    agency = SimpleNamespace(code="WMIDS", name="West Midlands Probation",
                             alert_emails=["duty@wmids.example"],
                             alert_severities=["critical", "high", "medium", "low"])
    flags = [flag(0), flag(1), flag(5)]
    mail = digest_mail(Digest(agency, DAY, new_flags=FlagLines(flags, 3)), 5)
    for text in (mail.text, mail.html):
        assert "(today)" in text and "(1 day)" in text and "(5 days)" in text
        assert "0 days" not in text
