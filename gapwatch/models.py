"""The tables of gapwatch: the journey store, its users, flags, jobs, outbox and audit trail.

Rows are written only by the domain operations (`gapwatch.operations`), the rule engine
(flags), the scheduler (job runs) and the mail outbox. Day ranges of ownerships are half-open,
`[starts_on, ends_on)`; contract ranges are inclusive, as contracts are written.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, and_, or_, text
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel


class AgencyKind(StrEnum):
    prison = "prison"
    probation = "probation"
    youth = "youth"
    provider = "provider"
    court = "court"
    police = "police"
    other = "other"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    very_high = "very_high"


# A risk level's place from the highest down: the order the lists sort risks in.
RANK_OF_RISK = {level.value: rank for rank, level in enumerate(reversed(RiskLevel))}


class Role(StrEnum):
    custody = "custody"
    supervision = "supervision"
    delivery = "delivery"


ACCOUNTABLE_ROLES = frozenset({Role.custody, Role.supervision})
# The largest id or sequence number a row can have: the columns are INTEGER, which ends here
# on PostgreSQL. A larger number asked for is not found, never sent to the database.
LARGEST_ID = 2**31 - 1


class HandoffKind(StrEnum):
    transfer = "transfer"
    referral = "referral"


class HandoffStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


MOST_SEVERE_FIRST = tuple(s.value for s in reversed(Severity))
# A severity's place in MOST_SEVERE_FIRST: the order of every list of flags people read.
RANK_OF_SEVERITY = {severity: rank for rank, severity in enumerate(MOST_SEVERE_FIRST)}


class FlagStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class TokenScope(StrEnum):
    read = "read"  # GET the cases, journeys and flags of its agency
    read_write = "read-write"  # and post events


class UserRole(StrEnum):
    case_manager = "case_manager"
    auditor = "auditor"
    admin = "admin"


def _json_list() -> Column:
    return Column(JSON, nullable=False, default=list)


def _refers_to(target: str, key: str):
    """A many-to-one link, declared so a flush inserts the row referred to first."""
    # Without it SQLAlchemy orders one flush's inserts of different tables arbitrarily, and a
    # case could be written before its person (a foreign key violation) in a large import.
    return Relationship(sa_relationship=relationship(target, foreign_keys=key))


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    region: str = Field(default="", max_length=100)
    alert_emails: list[str] = Field(default_factory=list, sa_column=_json_list())
    # Severities this agency's duty inbox wants in its daily digest.
    alert_severities: list[str] = Field(
        default_factory=lambda: [s.value for s in Severity], sa_column=_json_list()
    )
    # Where flags open too long are escalated (a commissioner or a region's lead).
    escalation_emails: list[str] = Field(default_factory=list, sa_column=_json_list())
    active: bool = True


class Contract(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("provider_id", "commissioner_id", "service", "starts_on"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="agency.id", index=True)
    commissioner_id: int = Field(foreign_key="agency.id", index=True)
    service: str = Field(max_length=100)
    starts_on: date
    ends_on: date | None = None
    provider: Agency = _refers_to("Agency", "Contract.provider_id")
    commissioner: Agency = _refers_to("Agency", "Contract.commissioner_id")


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=64, unique=True, index=True)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    home_area_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    restricted: bool = False
    home_area: Agency | None = _refers_to("Agency", "Person.home_area_id")


class Case(SQLModel, table=True):
    __tablename__ = "cases"  # "case" is an SQL keyword

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=64, unique=True, index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    opened_on: date
    closed_on: date | None = Field(default=None, index=True)
    risk_level: str = Field(default=RiskLevel.medium.value, max_length=16)
    expected_release_on: date | None = None
    # Bumped by every operation on the case: lets a form refuse a stale decision.
    version: int = Field(default=1)
    # The first day on which a rule's answer about the case may change (`gapwatch.scan`): the
    # daily scan checks the case again on that day. None: check it at the next scan.
    next_check_on: date | None = Field(default=None, index=True)
    person: Person = _refers_to("Person", "Case.person_id")


class Ownership(SQLModel, table=True):
    __table_args__ = (
        # The dashboard's "unallocated" queue: an agency's ownerships without an officer. The
        # end day and role are in the index so counting the queue never reads the table.
        Index(
            "ix_ownership_unallocated",
            "agency_id",
            "starts_on",
            "ends_on",
            "role",
            sqlite_where=text("officer IS NULL"),
            postgresql_where=text("officer IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    role: str = Field(max_length=16)
    starts_on: date
    ends_on: date | None = None
    officer: str | None = Field(default=None, max_length=200)
    # The first day an officer was named for this ownership (null = never allocated).
    allocated_on: date | None = None
    ended_reason: str | None = Field(default=None, max_length=500)
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id")
    # Started by the agency for itself while another was accountable (a prison's reception):
    # such an ownership does not open a restricted person's details (`gapwatch.authority`).
    self_started: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    case: Case = _refers_to("Case", "Ownership.case_id")
    agency: Agency = _refers_to("Agency", "Ownership.agency_id")
    handoff: Handoff | None = _refers_to("Handoff", "Ownership.handoff_id")


def active_on(day: date):
    """Return a WHERE clause keeping the ownerships active on `day`: started, not yet ended."""
    return and_(Ownership.starts_on <= day,
                or_(Ownership.ends_on.is_(None), Ownership.ends_on > day))


class Handoff(SQLModel, table=True):
    __table_args__ = (
        # A case has at most one pending handoff to a given agency.
        Index(
            "uq_handoff_pending_per_agency",
            "case_id",
            "to_agency_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The dashboard's queues: pending handoffs to and from an agency, due soonest first.
        Index(
            "ix_handoff_pending_to",
            "to_agency_id",
            "due_on",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_handoff_pending_from",
            "from_agency_id",
            "due_on",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)
    role: str = Field(max_length=16)
    from_agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    to_agency_id: int = Field(foreign_key="agency.id", index=True)
    requested_on: date
    due_on: date | None = None
    status: str = Field(default=HandoffStatus.pending.value, max_length=16, index=True)
    decided_on: date | None = None
    reason: str | None = Field(default=None, max_length=1000)
    officer: str | None = Field(default=None, max_length=200)
    case: Case = _refers_to("Case", "Handoff.case_id")
    sender: Agency | None = _refers_to("Agency", "Handoff.from_agency_id")
    receiver: Agency = _refers_to("Agency", "Handoff.to_agency_id")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=16)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    active: bool = True
    # Part of every session's id: signing out, a new password or disabling the account moves
    # it on, and every session made before ends at its next request (server-side sign-out).
    session_generation: int = 0
    created_at: datetime
    password_changed_at: datetime | None = None
    last_login_at: datetime | None = None
    agency: Agency | None = _refers_to("Agency", "User.agency_id")


class AuditEvent(SQLModel, table=True):
    """One entry of the append-only audit trail; entries form a hash chain by `seq`."""

    __table_args__ = (
        # A case's history, newest first, however many views and changes the case has had.
        Index("ix_auditevent_case_seq", "case_id", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    at: datetime
    actor: str = Field(max_length=300)
    action: str = Field(max_length=64, index=True)
    case_id: int | None = None
    case_reference: str | None = Field(default=None, max_length=64)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Flag(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("case_id", "rule", "subject"),
        # The dashboard's flag queue: each severity's open flags, oldest first, in index order.
        Index("ix_flag_queue", "status", "severity", "since", "id"),
        # The dashboard's flags of an agency (`notify @> '["CODE"]'`); PostgreSQL only.
        Index(
            "ix_flag_notify",
            text("(notify::jsonb)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    rule: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=200)
    severity: str = Field(max_length=16)
    since: date
    notify: list[str] = Field(default_factory=list, sa_column=_json_list())
    message: str = Field(max_length=2000)
    evidence: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=FlagStatus.open.value, max_length=16, index=True)
    first_seen_on: date
    # Both indexed for `scan.latest_scanned`, which every write asks (the max of each).
    last_seen_on: date = Field(index=True)
    resolved_on: date | None = Field(default=None, index=True)


class FlagAcknowledgement(SQLModel, table=True):
    """One agency's word on a flag: "we are on it", with a note, perhaps quiet until a day.

    Each agency a flag notifies acknowledges for itself (SPEC.md, "Acknowledgements are per
    agency"); the flag's own status is `acknowledged` only while every agency it notifies has
    acknowledged it. A snooze that has passed, or the flag resolving, ends the acknowledgement.
    """

    __table_args__ = (UniqueConstraint("flag_id", "agency"),)

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True)
    agency: str = Field(max_length=32)
    note: str = Field(max_length=2000)
    acknowledged_by: str = Field(max_length=254)
    acknowledged_on: date
    snoozed_until: date | None = None


class FlagTally(SQLModel, table=True):
    """How many open and acknowledged flags notify each agency, by severity and first day seen.

    The dashboard's counts read these few rows instead of counting an agency's flags (tens of
    thousands in a large region) on every page. Only a scan, a unit of work's re-check and
    acknowledging change a flag; a full scan rewrites the tally inside its unit of work, and the
    others move the flags they write between rows inside theirs (`gapwatch.tally`). `agency` "*" counts every flag
    once, for the view of every agency.
    """

    agency: str = Field(primary_key=True, max_length=32)
    severity: str = Field(primary_key=True, max_length=16)
    status: str = Field(primary_key=True, max_length=16)
    first_seen_on: date = Field(primary_key=True)
    flags: int


class DataStamp(SQLModel, table=True):
    """Random numbers units of work replace when they commit (`gapwatch.stamp`): row 1 at every
    commit, row 2 at a commit whose changes may reach any agency's pages."""

    id: int = Field(default=1, primary_key=True)
    value: int = Field(sa_type=BigInteger)


class AgencyStamp(SQLModel, table=True):
    """An agency's stamp: replaced when a commit changes a case the agency is part of."""

    agency_id: int = Field(primary_key=True, foreign_key="agency.id")
    value: int = Field(sa_type=BigInteger)


class JobRun(SQLModel, table=True):
    """A scheduled job's claim on its day: the unique row makes a daily job run once."""

    __table_args__ = (UniqueConstraint("job", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    day: date
    status: str = Field(default="running", max_length=16)
    host: str = Field(default="", max_length=200)
    started_at: datetime
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    scan_seconds: float | None = None  # the scan's own time, without sending the digests


class ScanRun(SQLModel, table=True):
    """A day the scan wrote flags for: whether it read every case, and the rules' fingerprint
    (their thresholds, the contracts and agencies they read), which a daily scan that reads only
    the cases due must share with the scan of the day before."""

    day: date = Field(primary_key=True)
    full: bool
    rules: str = Field(max_length=64)
    cases: int


class CaseAhead(SQLModel, table=True):
    """What the forecast found coming for one case (`gapwatch.forecast.Ahead`), kept so the next
    days' forecasts take it instead of running the rules ahead on its journey again.

    It holds while the case is as it was read (`version`, `next_check_on`: no operation has
    changed it and no scan has checked it since), for every forecast that ends by `through`:
    the case's findings up to its next check are the ones it was read with, and no rule's
    answer about it changes between the last day looked at and `through`. A unit of work that
    checks a case again drops its row; a full scan drops every row.
    """

    __tablename__ = "case_ahead"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    version: int
    next_check_on: date
    through: date
    # [[day, rule, subject, severity, since, notify, message, evidence], ...], in JSON
    items: str


class SchedulerBeat(SQLModel, table=True):
    """A scheduler process's sign of life, beaten on an interval: one row per process."""

    process: str = Field(primary_key=True, max_length=200)  # host:pid, as JobRun.host
    started_at: datetime
    beat_at: datetime = Field(index=True)


class OutboxMessage(SQLModel, table=True):
    """A digest waiting to be sent, or sent; one per (agency, day, kind).

    The auditors' digest is addressed to no agency (`agency_id` None): one per (day, kind).
    """

    __table_args__ = (
        UniqueConstraint("agency_id", "day", "kind"),
        # NULLs never collide in the constraint above: this keeps the agency-less rows unique.
        Index("ux_outboxmessage_unaddressed", "day", "kind", unique=True,
              sqlite_where=text("agency_id IS NULL"), postgresql_where=text("agency_id IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    day: date = Field(index=True)
    kind: str = Field(default="digest", max_length=16)
    recipients: list[str] = Field(default_factory=list, sa_column=_json_list())
    subject: str = Field(max_length=300)
    body_text: str
    body_html: str
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    message_id: str | None = Field(default=None, max_length=300)
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    created_at: datetime


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    scope: str = Field(default="read-write", max_length=16)  # "read" or "read-write"
    created_at: datetime
    expires_at: datetime | None = None  # None: until revoked
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="apitoken.id", index=True)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str
    created_at: datetime


class ImportBatch(SQLModel, table=True):
    """A file already imported, by content hash: importing it again changes nothing."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True, index=True)
    filename: str = Field(max_length=500)
    records: int
    imported_at: datetime
    actor: str = Field(max_length=300)


class PersonIdentifier(SQLModel, table=True):
    """An identifier another system knows a person by (`gapwatch.identity`): one value per scheme.

    A (scheme, value) pair names one person only, and a person holds one value of a scheme.
    """

    __table_args__ = (
        UniqueConstraint("scheme", "value"),
        UniqueConstraint("person_id", "scheme"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    scheme: str = Field(max_length=40)
    value: str = Field(max_length=64)
    person: Person = _refers_to("Person", "PersonIdentifier.person_id")


class PersonLink(SQLModel, table=True):
    """Two person records known to be one person; `unlinked_on` set once the link is undone.

    A link never changes either record: the rules read the journeys of linked persons as one.
    `person_a_id` is always the lower id. Undoing a link keeps its row; linking again adds one.
    """

    __table_args__ = (
        Index(
            "uq_personlink_active",
            "person_a_id",
            "person_b_id",
            unique=True,
            sqlite_where=text("unlinked_on IS NULL"),
            postgresql_where=text("unlinked_on IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_a_id: int = Field(foreign_key="person.id", index=True)
    person_b_id: int = Field(foreign_key="person.id", index=True)
    linked_on: date
    linked_by: str = Field(max_length=300)
    reason: str = Field(max_length=1000)
    proposal_id: int | None = Field(default=None, foreign_key="linkproposal.id")
    unlinked_on: date | None = None
    unlinked_by: str | None = Field(default=None, max_length=300)
    unlink_reason: str | None = Field(default=None, max_length=1000)


class LinkModel(SQLModel, table=True):
    """One trained Splink model (its JSON), kept so that every proposal's score can be explained."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    trained_at: datetime
    persons: int  # scored by this run
    trained_on: int  # persons the model was trained on (fewer than it scored: the shipped model)
    threshold: float
    splink_version: str = Field(max_length=32)
    model: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProposalStatus(StrEnum):
    open = "open"
    confirmed = "confirmed"
    rejected = "rejected"
    lapsed = "lapsed"


class LinkProposal(SQLModel, table=True):
    """A pair of persons Splink scored above the threshold: open until someone decides it.

    One row per pair (`person_a_id` the lower id). A later run rescores an open proposal; a pair
    it no longer finds lapses; a decided pair is never proposed again.
    """

    __table_args__ = (UniqueConstraint("person_a_id", "person_b_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_a_id: int = Field(foreign_key="person.id", index=True)
    person_b_id: int = Field(foreign_key="person.id", index=True)
    probability: float
    match_weight: float
    # Each comparison's level and partial match weight, as the model scored the pair.
    reasons: list = Field(default_factory=list, sa_column=_json_list())
    model_id: int = Field(foreign_key="linkmodel.id")
    status: str = Field(default=ProposalStatus.open.value, max_length=16, index=True)
    proposed_on: date
    decided_on: date | None = None
    decided_by: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=1000)
