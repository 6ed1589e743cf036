"""The flag tally says what counting the flags would say, after every kind of change to them.

The dashboard reads its flag counts from the tally, so a tally that drifted would show case
managers wrong numbers all day. Each step here changes flags one way (a scan opening them,
acknowledgements, snoozes running out, a closed case's flags resolving) and checks the tally of
every agency, and of every agency together, against a count of the flags themselves.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gapwatch import clock, tally
from gapwatch import operations as ops
from gapwatch.models import Agency, Case, Flag, FlagAcknowledgement, FlagStatus
from gapwatch.scan import scan
from tests.support import act, event, load


def counted(session, code: str | None, new_since) -> dict[str, int]:
    """Count the flags notifying `code` (None: every flag) one by one: the slow, plain way.

    For one agency a flag is acknowledged once that agency has acknowledged it; for every
    agency together, once all it tells have (its own status).
    """
    result = {"new": 0, "acknowledged": 0}
    said = {(row[0], row[1]) for row in session.execute(
        select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency))}
    for flag in session.execute(select(Flag)).scalars():
        if code is not None and code not in flag.notify:
            continue
        status = flag.status
        if code is not None and status != FlagStatus.resolved:
            status = FlagStatus.acknowledged if (flag.id, code) in said else FlagStatus.open
        if status == FlagStatus.acknowledged:
            result["acknowledged"] += 1
        elif status == FlagStatus.open:
            result[flag.severity] = result.get(flag.severity, 0) + 1
            result["new"] += flag.first_seen_on >= new_since
    return result


def assert_tally_is_true(session, day) -> None:
    session.expire_all()
    codes = session.execute(select(Agency.code)).scalars().all()
    for code in [None, *codes]:
        told = tally.counts(session, code, day - timedelta(days=1))
        assert {k: v for k, v in told.items() if v} == {
            k: v for k, v in counted(session, code, day - timedelta(days=1)).items() if v
        }, code or "every agency"


def test_the_tally_follows_scans_acknowledgements_snoozes_and_closures(demo):
    today = clock.today()
    result = scan(demo, today)
    assert result.opened > 4
    assert_tally_is_true(demo, today)

    flags = demo.execute(select(Flag).order_by(Flag.id)).scalars().all()
    for number, flag in enumerate(flags[:4]):
        snooze = today + timedelta(days=2) if number % 2 else None
        for code in flag.notify:
            act(demo, ops.acknowledge_flag, actor=ops.Actor(name=f"user:{code}", agency=code),
                flag_id=flag.id, on=today, note="Duty officer on it", snooze_until=snooze)
            assert_tally_is_true(demo, today)  # one agency's word moves that agency's count
    first = flags[0].notify[0]
    act(demo, ops.acknowledge_flag, actor=ops.Actor(name=f"user:{first}", agency=first),
        flag_id=flags[0].id, on=today, note="Said again")
    assert_tally_is_true(demo, today)
    assert tally.counts(demo, None, today)["acknowledged"] == 4

    scan(demo, today + timedelta(days=1))
    assert_tally_is_true(demo, today + timedelta(days=1))

    scan(demo, today + timedelta(days=3))  # the snoozes have run out: those flags reopen
    assert_tally_is_true(demo, today + timedelta(days=3))
    assert tally.counts(demo, None, today)["acknowledged"] == 2

    closing = demo.get(Case, demo.get(Flag, flags[-1].id).case_id).reference
    load(demo, event(closing, today + timedelta(days=4), "case_closed"))
    assert_tally_is_true(demo, today + timedelta(days=3))  # the closing's own re-check
    scan(demo, today + timedelta(days=4))
    assert demo.get(Flag, flags[-1].id).status == FlagStatus.resolved
    assert_tally_is_true(demo, today + timedelta(days=4))


def test_the_tally_follows_flags_that_an_action_resolves_or_opens(demo):
    today = clock.today()
    scan(demo, today)
    wmids = ops.Actor(name="user:cm@wmids.example", agency="WMIDS")
    act(demo, ops.accept_handoff, actor=wmids, case="WM-1003", on=today, to_agency="WMIDS")
    assert_tally_is_true(demo, today)  # its handoff-overdue flag resolved, and counted so
    act(demo, ops.end_ownership, actor=wmids, case="WM-1014", on=today, agency="WMIDS")
    assert_tally_is_true(demo, today)  # a gap opened, and counted so


def test_a_dry_run_and_a_replay_leave_the_tally_as_it_was(demo):
    today = clock.today()
    scan(demo, today + timedelta(days=1))
    before = tally.counts(demo, None, today)
    scan(demo, today + timedelta(days=2), dry_run=True)
    scan(demo, today)
    assert tally.counts(demo, None, today) == before
    assert_tally_is_true(demo, today + timedelta(days=1))
