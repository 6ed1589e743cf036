"""Fixtures for the rules' tests: a region, and the findings of one rule on a day."""

from __future__ import annotations

from datetime import date

import pytest

from gapwatch.scan import scan
from tests.support import D, region


@pytest.fixture
def world(session):
    """The test region's agencies and its ICCP contract (YSS for WMERCIA)."""
    region(session)
    return session


@pytest.fixture
def found(world):
    """Return a function giving one rule's findings on a day, as a dry run that writes nothing."""

    def findings(day: date | str, rule: str, **config):
        day = D(day) if isinstance(day, str) else day
        result = scan(world, day, dry_run=True, config=config)
        return [f for f in result.findings if f.rule == rule]

    return findings
