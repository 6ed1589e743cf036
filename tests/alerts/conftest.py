"""Fixtures for the alert tests: a real SMTP server on a free port, and a region with flags."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from gapwatch import operations as ops
from gapwatch.models import Flag, FlagAcknowledgement
from tests.support import D, load, system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it receives, in order."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    on_data: object = None  # called with the message before the server answers 250

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append((list(envelope.rcpt_tos), message))
        if self.on_data is not None:
            self.on_data(message)
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [m["Subject"] for _to, m in self.messages]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be started and stopped on the same port."""

    def __init__(self, **options):
        self.port = free_port()
        self.inbox = Inbox()
        self.options = options  # aiosmtpd SMTP options, e.g. an authenticator
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                      **self.options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self, **more) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_TIMEOUT": 5,
                "MAIL_FROM": "gapwatch@alerts.example", "BASE_URL": "http://gapwatch.test",
                "ESCALATE_AFTER_DAYS": 3, **more}


@pytest.fixture
def smtp():
    """A running SMTP server that collects what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """An SMTP server's address with nothing listening yet; `.start()` brings it up."""
    server = SmtpServer()
    yield server
    server.stop()


def raise_flag(session, case: str, *, rule: str, severity: str, since, notify: list[str],
               first_seen_on=None, subject: str | None = None, message: str | None = None,
               status: str = "open", acknowledged: dict | None = None,
               last_seen_on=None) -> None:
    """Persist a flag as the scan of DAY leaves it: one row per (case, rule, subject).

    The scan engine is the only writer of flags and has no operation for one flag; the digest
    tests need flags of exact severities and ages, so they write them here, in a unit of work.
    `acknowledged` maps each agency that acknowledged it to the end of its snooze (or None).
    """
    last_seen_on = last_seen_on or DAY
    with ops.unit_of_work(session, system()) as uow:
        state = uow.case(case)
        flag = Flag(
            id=uow.new_id(Flag), case_id=state.case.id, rule=rule, subject=subject or rule,
            severity=severity, since=since, notify=notify,
            message=message or f"{rule} on {case}", status=status,
            first_seen_on=first_seen_on or since, last_seen_on=last_seen_on,
        )
        uow.session.add(flag)
        for agency, until in (acknowledged or {}).items():
            uow.session.add(FlagAcknowledgement(
                id=uow.new_id(FlagAcknowledgement), flag_id=flag.id, agency=agency,
                note="on it", acknowledged_by=f"duty@{agency.lower()}.example",
                acknowledged_on=since, snoozed_until=until))


def escalation_addresses(session) -> None:
    """Give the commissioner and the probation areas their escalation addresses."""
    load(
        session,
        {"type": "agency", "code": "WMERCIA", "name": "West Mercia Probation", "kind": "probation",
         "region": "West Midlands", "alert_emails": ["duty@wmercia.example"],
         "escalation_emails": ["director@wmercia.example"]},
        {"type": "agency", "code": "WMIDS", "name": "West Midlands Probation", "kind": "probation",
         "region": "West Midlands", "alert_emails": ["duty@wmids.example"],
         "escalation_emails": ["head@wmids.example"]},
    )


DAY = D("2026-06-01")


def scenario(session) -> None:
    """Three cases whose flags and handoffs reach six agencies' inboxes on DAY (1 June 2026).

    - C-1, a restricted person in HMP Hewell's custody, home area WMIDS: release-unplanned (high)
      open since 30 May; a supervision referral to WMIDS due 25 May still pending.
    - C-2, supervised by WMERCIA with YSS delivering: contract-lapsed (high) open since 25 May,
      so escalated (3 days).
    - C-3, supervised by STAFFS: unallocated (low), first seen on DAY, also told to WARKS, which
      receives only high and critical flags.
    """
    from tests.support import event, person_and_case, region

    region(session)
    escalation_addresses(session)
    load(session, {"type": "agency", "code": "WARKS", "name": "Warwickshire Probation",
                   "kind": "probation", "region": "West Midlands",
                   "alert_emails": ["duty@warks.example"], "alert_severities": ["high", "critical"]})
    person_and_case(session, "C-1", restricted=True, expected_release_on=D("2026-06-20"))
    person_and_case(session, "C-2", home_area="WMERCIA")
    person_and_case(session, "C-3", home_area="STAFFS")
    load(
        session,
        event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
        event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
              to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-05-25"),
        event("C-2", "2026-01-10", "ownership_started", agency="WMERCIA", role="supervision"),
        event("C-2", "2026-01-10", "ownership_started", agency="YSS", role="delivery"),
        event("C-3", "2026-01-10", "ownership_started", agency="STAFFS", role="supervision"),
    )
    raise_flag(session, "C-1", rule="release-unplanned", severity="high", since=D("2026-05-30"),
               notify=["HMP-HEWELL", "WMIDS"], message="Release on 2026-06-20 has no supervision handoff")
    raise_flag(session, "C-2", rule="contract-lapsed", severity="high", since=D("2026-05-25"),
               notify=["WMERCIA", "YSS"], message="YSS delivers without a contract covering the day")
    raise_flag(session, "C-3", rule="unallocated", severity="low", since=DAY,
               notify=["STAFFS", "WARKS"], message="No officer allocated since 2026-01-10")
