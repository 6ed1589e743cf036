"""Fixtures of the identity tests: the rules' region and findings."""

from tests.rules.conftest import found, world  # noqa: F401
