"""Which text gapwatch accepts in names, notes and reasons.

Bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C) make text
display in another order than it is stored ("Trojan Source"): a note could read differently on
the case page from what the audit trail holds. Control characters other than line breaks and
tabs have no place in a name or a note either. Both are refused, naming the field.
"""

from __future__ import annotations

import unicodedata

from gapwatch.errors import InvalidInput

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ALLOWED_CONTROLS = frozenset("\n\r\t")


def problem(value: str) -> str | None:
    """Say what is wrong with `value` as plain text, or None if nothing is."""
    for char in value:
        if char in BIDI_CONTROLS:
            return f"holds a bidirectional control character (U+{ord(char):04X})"
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
            return f"holds a control character (U+{ord(char):04X})"
    return None


def check_text(value: str | None, field: str) -> str | None:
    """Return `value` if it is plain text; refuse it, naming `field`, otherwise."""
    if value is not None and (why := problem(value)) is not None:
        raise InvalidInput(f"{field} {why}", field=field)
    return value
