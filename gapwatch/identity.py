"""The identifiers other systems know a person by, each checked by its scheme.

- `noms`: the prison number, one letter, four digits, two letters (`A1234BC`).
- `crn`: the probation case reference number, one letter and six digits (`X123456`).
- `pnc`: the Police National Computer id, `YYYY/NNNNNNNC`: the year, a serial number and a
  check character. The check character is `CHECK_LETTERS[n % 23]` where `n` is the number made
  of the year's last two digits and the serial padded to seven digits. A serial may be written
  shorter (`2001/123456F` is `2001/0123456F`) and the year with two digits (`01/123456F`); the
  value is kept in the long form.
- `local:AGENCY`: an agency's own reference, 1 to 64 letters, digits and `-_/.` (the agency code
  must be known; the operation checks it).

Values are compared in capitals with surrounding spaces removed. Plain Python: no database.
"""

from __future__ import annotations

import re

from gapwatch.errors import InvalidInput

CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
NOMS = re.compile(r"[A-Z]\d{4}[A-Z]{2}")
CRN = re.compile(r"[A-Z]\d{6}")
PNC = re.compile(r"(\d{2}|\d{4})/(\d{1,7})([A-Z])")
LOCAL = re.compile(r"[A-Z0-9][A-Z0-9_/.-]{0,63}")
SCHEMES = ("noms", "crn", "pnc")
LOCAL_PREFIX = "local:"


def pnc_check_letter(year: str, serial: str) -> str:
    """Return the check character of the PNC id of `year` (2 or 4 digits) and `serial`."""
    return CHECK_LETTERS[int(year[-2:] + serial.zfill(7)) % 23]


def _pnc(value: str) -> str:
    found = PNC.fullmatch(value)
    if found is None:
        raise InvalidInput(
            f"pnc {value!r} is not a PNC id: write YYYY/NNNNNNNC, e.g. 2001/0123456F",
            field="identifiers.pnc",
        )
    year, serial, letter = found.groups()
    if len(year) == 2:
        # Two-digit years: the PNC began in the 1970s, so 70-99 are the 1900s.
        year = ("19" if int(year) >= 70 else "20") + year
    expected = pnc_check_letter(year, serial)
    if letter != expected:
        raise InvalidInput(
            f"pnc {value!r} has check character {letter}, but {year}/{serial.zfill(7)} "
            f"needs {expected}: check the number",
            field="identifiers.pnc",
        )
    return f"{year}/{serial.zfill(7)}{letter}"


def local_agency(scheme: str) -> str | None:
    """Return the agency code of a `local:AGENCY` scheme, or None for another scheme."""
    return scheme[len(LOCAL_PREFIX):] if scheme.startswith(LOCAL_PREFIX) else None


def normalise(scheme: str, value) -> tuple[str, str]:
    """Return (scheme, value) in their kept form, or refuse them naming what a value looks like."""
    where = f"identifiers.{scheme}"
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"identifier {scheme} must be a non-empty string", field=where)
    text = value.strip().upper()
    if scheme == "noms":
        if not NOMS.fullmatch(text):
            raise InvalidInput(f"noms {value!r} is not a prison number: one letter, four digits "
                               "and two letters, e.g. A1234BC", field=where)
        return scheme, text
    if scheme == "crn":
        if not CRN.fullmatch(text):
            raise InvalidInput(f"crn {value!r} is not a case reference number: one letter and "
                               "six digits, e.g. X123456", field=where)
        return scheme, text
    if scheme == "pnc":
        return scheme, _pnc(text)
    agency = local_agency(scheme)
    if agency:
        if not LOCAL.fullmatch(text):
            raise InvalidInput(f"{scheme} {value!r} must be 1-64 letters, digits or -_/.",
                               field=where)
        return scheme, text
    raise InvalidInput(
        f"identifier scheme {scheme!r} is not one of noms, crn, pnc or local:AGENCY",
        field="identifiers",
    )


def normalise_all(identifiers: dict | None) -> dict[str, str]:
    """Return a record's identifiers in their kept form (an empty dict for none)."""
    if identifiers is None:
        return {}
    if not isinstance(identifiers, dict):
        raise InvalidInput("identifiers must be an object of scheme: value", field="identifiers")
    return dict(normalise(scheme, value) for scheme, value in identifiers.items())
