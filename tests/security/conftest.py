"""The web tests' small region and signed-in browsers, for the hardening tests too."""

from tests.web.conftest import browse, users, world  # noqa: F401
