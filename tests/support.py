"""Building journeys for tests through the domain operations, never by writing tables (a
fixture built once, `built_once`, is copied into later tests' databases exactly as the
operations wrote it)."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta

from sqlmodel import Session

from gapwatch import operations as ops
from gapwatch.events import apply_record, parse_record

D = date.fromisoformat

# A small West Midlands region, in the seed's spirit.
AGENCIES = [
    ("HMP-HEWELL", "HMP Hewell", "prison"),
    ("HMP-LONG-LARTIN", "HMP Long Lartin", "prison"),
    ("WMERCIA", "West Mercia Probation", "probation"),
    ("WMIDS", "West Midlands Probation", "probation"),
    ("STAFFS", "Staffordshire Probation", "probation"),
    ("WARKS", "Warwickshire Probation", "probation"),
    ("YOS-WORCS", "Worcestershire Youth Offending Service", "youth"),
    ("YSS", "Youth Support Services (YSS)", "provider"),
    ("CONNECT-NACRO", "Connect mentoring (Nacro)", "provider"),
]


PASSWORD = "correct horse battery"  # every test account's
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client, email: str, password: str = PASSWORD) -> str:
    """Sign in through the login form, as a person does; return a CSRF token for later posts."""
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client.get("/login").text)})
    assert response.status_code == 302, response.text
    return csrf_token(client.get("/cases").text)


def system() -> ops.Actor:
    return ops.Actor.system("test")


def act(session: Session, operation, *, actor: ops.Actor | None = None, **values):
    """Run one domain operation in its own unit of work and return its result."""
    with ops.unit_of_work(session, actor or system()) as uow:
        return operation(uow, **values)


def load(session: Session, *records: dict, actor: ops.Actor | None = None) -> None:
    """Apply import records (dicts as in SPEC.md) in one unit of work."""
    with ops.unit_of_work(session, actor or system()) as uow:
        for record in records:
            apply_record(uow, parse_record(record))


def region(session: Session) -> None:
    """Create the test region's agencies and its ICCP contract."""
    load(
        session,
        *[
            {"type": "agency", "code": c, "name": n, "kind": k, "region": "West Midlands",
             "alert_emails": [f"duty@{c.lower()}.example"]}
            for c, n, k in AGENCIES
        ],
        {"type": "contract", "provider": "YSS", "commissioner": "WMERCIA", "service": "ICCP",
         "starts_on": "2025-04-01", "ends_on": None},
    )


def person_and_case(
    session: Session,
    reference: str = "C-1",
    *,
    opened_on: date = D("2026-01-10"),
    born: date = D("1990-05-05"),
    home_area: str = "WMIDS",
    risk_level: str = "medium",
    expected_release_on: date | None = None,
    restricted: bool = False,
) -> None:
    person = f"P-{reference}"
    load(
        session,
        {"type": "person", "reference": person, "given_name": "Sam", "family_name": "Example",
         "date_of_birth": born.isoformat(), "home_area": home_area, "restricted": restricted},
        {"type": "case", "reference": reference, "person": person,
         "opened_on": opened_on.isoformat(), "risk_level": risk_level,
         "expected_release_on": expected_release_on.isoformat() if expected_release_on else None},
    )


def event(case: str, on: date | str, name: str, **values) -> dict:
    on = on if isinstance(on, str) else on.isoformat()
    values = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}
    return {"type": "event", "case": case, "on": on, "event": name, **values}


def days(n: int) -> timedelta:
    return timedelta(days=n)


# -- a fixture's rows, built once per test process ------------------------------------------------
_BUILT: dict[tuple, tuple] = {}  # (name, database kind, day) -> (rows by table, sequences, value)


def built_once(session: Session, name: str, build):
    """Return `build()`, run through the operations on the empty database of `session`, the
    first time a test process asks for `name` on this kind of database and day; after that, copy
    the rows it wrote into the test's empty database, byte for byte (the audit trail's hashes
    and all) through the driver, set PostgreSQL's sequences where they were, and return a copy
    of the same value. A test reads the same database either way: building a small region again
    was a third of a page test on PostgreSQL."""
    from gapwatch import clock  # noqa: PLC0415 (read at call time: a test may move the day)

    key = (name, session.get_bind().dialect.name, clock.today())
    if key not in _BUILT:
        value = build()
        session.rollback()
        _BUILT[key] = (*_copied(session), value)
    else:
        _paste(session, *_BUILT[key][:2])
    return copy.deepcopy(_BUILT[key][2])


def _tables() -> list[str]:
    from sqlmodel import SQLModel  # noqa: PLC0415

    return [table.name for table in SQLModel.metadata.sorted_tables]


def _copied(session: Session) -> tuple[list, list]:
    """Return the rows of every table, as the driver reads them (PostgreSQL: COPY's text)."""
    cursor = session.connection().connection.cursor()
    rows, sequences = [], []
    try:
        if session.get_bind().dialect.name == "postgresql":
            for table in _tables():
                with cursor.copy(f'COPY "{table}" TO STDOUT') as out:
                    data = b"".join(bytes(block) for block in out)
                if data:
                    rows.append((table, data))
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE "
                           "schemaname = current_schema() AND last_value IS NOT NULL")
            sequences = cursor.fetchall()
        else:
            for table in _tables():
                cursor.execute(f'SELECT * FROM "{table}"')
                found = cursor.fetchall()
                if found:
                    rows.append((table, found))
    finally:
        cursor.close()
    session.rollback()
    return rows, sequences


def _paste(session: Session, rows: list, sequences: list) -> None:
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        if session.get_bind().dialect.name == "postgresql":
            # As the suite empties a database (`conftest._empty`): the audit trail's trigger
            # and the foreign keys' checks are left out of this one transaction.
            cursor.execute("SET LOCAL session_replication_role = replica")
            for table, data in rows:
                with cursor.copy(f'COPY "{table}" FROM STDIN') as into:
                    into.write(data)
            for sequence, last in sequences:
                cursor.execute("SELECT setval(%s, %s)", (sequence, last))
        else:
            for table, found in rows:
                marks = ", ".join("?" * len(found[0]))
                cursor.executemany(f'INSERT INTO "{table}" VALUES ({marks})', found)
    finally:
        cursor.close()
    session.commit()
