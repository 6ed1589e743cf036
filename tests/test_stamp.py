"""Whose pages a unit of work's changes reach, from what it audits (`gapwatch.stamp.Reach`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gapwatch import clock, stamp
from gapwatch import operations as ops
from gapwatch.alerts import outbox
from gapwatch.alerts.settings import AlertSettings
from gapwatch.exports import export_case
from gapwatch.exports.bulk import export_all
from gapwatch.models import Agency, Flag
from gapwatch.scan import scan
from gapwatch.stamp import MOST_CASES, Reach
from tests.support import act


def test_actions_on_cases_reach_those_cases_and_anything_else_reaches_everyone():
    reach = Reach()
    reach.note("handoff.requested", 7)
    reach.note("flag.acknowledged", 9)
    reach.told_before(["STAFFS"])
    assert (reach.everyone, reach.cases, reach.codes) == (False, {7, 9}, {"STAFFS"})
    reach.note("person.updated", 7)  # a person's details show on every case of theirs
    assert reach.everyone and not reach.cases and not reach.codes
    reach.note("handoff.accepted", 8)
    assert reach.everyone and not reach.cases  # once everyone, always everyone


def test_an_action_on_a_case_named_without_it_reaches_everyone():
    reach = Reach()
    reach.note("case.updated", None)
    assert reach.everyone


def test_more_cases_than_a_dashboard_is_worth_reach_everyone():
    reach = Reach()
    reach.include(range(MOST_CASES))
    assert not reach.everyone
    reach.note("ownership.started", MOST_CASES + 1)
    assert reach.everyone


def test_exports_and_sending_mail_leave_every_dashboard_kept(journeys, engine, tmp_path):
    """Nothing a kept dashboard shows changes when a case is exported or a digest is sent."""
    session = journeys
    scan(session, clock.today())  # its digests wait in the outbox
    agencies = session.execute(select(Agency.id)).scalars().all()

    def stamps():
        found = (stamp.current(session), [stamp.of_agency(session, a) for a in agencies])
        session.rollback()
        return found

    before = stamps()
    actor = ops.Actor(name="user:auditor@hmip.example")
    export_case(session, actor, "C-1", fmt="json")
    export_all(engine, tmp_path / "all.zip", actor=actor)
    settings, now = AlertSettings.of({}), clock.now()
    claim = outbox.claim_next(session, now, settings, set())
    assert claim is not None
    outbox.mark_failed(session, claim, now, "421 try later", settings)
    claim = outbox.claim_next(session, now + timedelta(hours=1), settings, set())
    assert outbox.mark_sent(session, claim, now + timedelta(hours=1))
    assert stamps() == before
    flag_id, notify = session.execute(select(Flag.id, Flag.notify)).first()
    act(session, ops.acknowledge_flag, flag_id=flag_id, on=clock.today(), note="On it",
        actor=ops.Actor(name=f"user:duty@{notify[0]}", agency=notify[0]))
    # while a change that shows renews them
    assert stamps() != before
