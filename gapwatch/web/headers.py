"""The security headers every response carries (ASVS 14.4), and which pages may be kept.

The content security policy is strict: scripts and styles come from this site's own files only,
never inline and never evaluated, so injected markup can run nothing. The pages are built to
work under it: htmx runs with `allowEval: false` and without its inline indicator styles
(`base.html`), the dashboard's refresh is held back by `static/gapwatch.js` instead of an
`hx-trigger` filter expression, and the journey picture's styles are in `gapwatch.css`.

Every page but the static files is `Cache-Control: no-store`: nearly every page shows persons,
and a shared computer's back button or disk cache must not show them to the next person.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response, abort, current_app, request

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def policy_with_style(style: str) -> str:
    """Return the policy that also lets one known inline stylesheet apply (a standalone export)."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return POLICY.replace("style-src 'self'", f"style-src 'sha256-{digest}'")


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or current_app.config["BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_large_forms() -> None:
    """Answer 413 to a form body above MAX_FORM_MEMORY_SIZE before anything reads it.

    Werkzeug would leave such a form empty, and the page would then blame a missing CSRF token.
    """
    limit = current_app.config["MAX_FORM_MEMORY_SIZE"]
    if request.mimetype in FORMS and (request.content_length or 0) > limit:
        abort(413)


def init_app(app: Flask) -> None:
    app.after_request(secure_headers)
