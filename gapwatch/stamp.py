"""The data stamp: a number every unit of work replaces when it commits.

A page that keeps what it rendered may serve it again for as long as the stamp is the one it
rendered under: any committed change to journeys, flags, agencies or users gives a new stamp
in the same transaction. The stamp is random, not a counter, so a restored backup or an
emptied test database can never bring back a stamp that once meant other data.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from gapwatch.db import is_sqlite
from gapwatch.models import DataStamp

CURRENT = select(DataStamp.value).where(DataStamp.id == 1)


def renew(session: Session) -> None:
    """Give the data a new stamp, inside the writer's transaction."""
    value = secrets.randbits(62)
    dialect = sqlite if is_sqlite(session) else postgresql
    session.execute(
        dialect.insert(DataStamp).values(id=1, value=value)
        .on_conflict_do_update(index_elements=["id"], set_={"value": value})
    )


def current(session: Session) -> int | None:
    """Return the data's stamp (None before the first write)."""
    return session.connection().execute(CURRENT).scalar()
