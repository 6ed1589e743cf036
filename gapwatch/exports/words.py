"""A case history in words, for the exports people read (HTML and PDF): one set of sentences,
two renderers (`exports/case.html` and `exports.pdf`).

Days read "25 November 2026" (`clock.long_day`), agencies by name and code ("West Midlands
Probation (WMIDS)"), and each audit entry as who did what, when, in a sentence; anything an
entry holds that no sentence names is still said, as "field: value" pairs, never as JSON. The
JSON and CSV exports keep the raw record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from gapwatch import clock

# Detail keys said by the sentences themselves, or bookkeeping no reader needs.
QUIET = frozenset({"before", "after", "request_id", "id", "flag", "subject", "evidence", "notify",
                   "flag_status", "version"})


def day(value) -> str:
    """Say a day ("25 November 2026") given as a date or as YYYY-MM-DD text."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(clock.ZONE).date()
    return clock.long_day(value) if value else ""


def moment(at: datetime) -> str:
    """Say a time: "25 November 2026 at 09:14" (Europe/London)."""
    local = at.astimezone(clock.ZONE)
    return f"{clock.long_day(local.date())} at {local:%H:%M}"


def agency(code: str | None, names: Mapping[str, str], *, none: str = "intake") -> str:
    if not code:
        return none
    name = names.get(code)
    if not name or name == code or name.endswith(f"({code})"):
        return name or code
    return f"{name} ({code})"


def _value(key: str, value, names: Mapping[str, str]) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(key, v, names) for v in value) or "none"
    if key in ("agency", "from_agency", "to_agency", "home_area", "provider", "commissioner"):
        return agency(value, names)
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {_value(k, v, names)}" for k, v in value.items())
    if isinstance(value, date | datetime) or key.endswith(("_on", "_until")) or key == "on":
        return day(value)
    return str(value).replace("_", " ") if key in ("risk_level", "role", "status") else str(value)


def changes(before: dict, after: dict, names: Mapping[str, str]) -> str:
    said = [f"{k.replace('_', ' ')} from {_value(k, before.get(k), names)} to "
            f"{_value(k, after.get(k), names)}"
            for k in after if k not in QUIET and before.get(k) != after.get(k)]
    return "; ".join(said)


def _rest(detail: dict, names: Mapping[str, str], skip: tuple[str, ...] = ()) -> str:
    said = [f"{k.replace('_', ' ')}: {_value(k, v, names)}" for k, v in detail.items()
            if k not in QUIET and k not in skip and v not in (None, "", [], {})]
    return f" ({'; '.join(said)})" if said else ""


def _handoff(h: dict, names: Mapping[str, str]) -> str:
    return (f"the {h.get('kind', 'handoff')} of {h.get('role', '')} from "
            f"{agency(h.get('from_agency'), names)} to {agency(h.get('to_agency'), names)}")


def describe(action: str, detail: dict | None, names: Mapping[str, str]) -> str:
    """Say what an audit entry of the case records, as a sentence."""
    d = detail or {}
    before, after = d.get("before"), d.get("after")
    if action == "case.opened":
        release = d.get("expected_release_on")
        return (f"Opened the case for {d.get('person', 'the person')} on {day(d.get('opened_on'))}, "
                f"risk {_value('risk_level', d.get('risk_level'), names)}"
                + (f", release expected on {day(release)}." if release else "."))
    if action == "case.closed":
        return f"Closed the case on {day(d.get('on'))}" + _reason(d)
    if action == "case.viewed":
        return ("Viewed the case page" + (", with the person's details" if d.get("details_shown")
                                          else ", the person's details withheld") + ".")
    if action == "export.case":
        stood = f", as it stood on {day(d.get('as_of'))}" if d.get("as_of") else ""
        return f"Exported the case history as {str(d.get('format', '')).upper()}{stood}."
    if action == "ownership.started":
        officer = f", officer {d['officer']}" if d.get("officer") else ""
        return (f"Started {agency(d.get('agency'), names)}'s {d.get('role')} on "
                f"{day(d.get('on'))}{officer}.")
    if action == "ownership.ended" and isinstance(after, dict):
        return (f"Ended {agency(after.get('agency'), names)}'s {after.get('role')} on "
                f"{day(after.get('ends_on'))}" + _reason(d))
    if action == "officer.assigned" and isinstance(after, dict):
        return (f"Named {after.get('officer')} as officer for {agency(after.get('agency'), names)}'s "
                f"{after.get('role')}" + (f" (was {before.get('officer')})"
                                          if isinstance(before, dict) and before.get("officer")
                                          else "") + ".")
    if action == "handoff.requested" and isinstance(after, dict):
        due = f", due {day(after['due_on'])}" if after.get("due_on") else ""
        reason = f": {after['reason']}" if after.get("reason") else ""
        return (f"{agency(after.get('from_agency'), names, none='An intake')} asked "
                f"{agency(after.get('to_agency'), names)} to take {after.get('role')} "
                f"({after.get('kind')}) on {day(after.get('requested_on'))}{due}{reason}.")
    if action in ("handoff.accepted", "handoff.rejected", "handoff.withdrawn") and isinstance(
            after, dict):
        verb = action.split(".")[1].capitalize()
        reason = f": {after['reason']}" if after.get("reason") and action != "handoff.accepted" else ""
        effective = f", taking effect on {day(d['effective_on'])}" if d.get("effective_on") else ""
        return f"{verb} {_handoff(after, names)} on {day(after.get('decided_on'))}{effective}{reason}."
    if action.startswith("flag."):
        what = action.split(".")[1]
        rule = d.get("rule", "a flag")
        if what == "opened":
            return (f"Raised the flag {rule} ({d.get('severity')}), since {day(d.get('since'))}, "
                    f"telling {_value('agency', d.get('notify'), names)}: {d.get('message', '')}")
        if what == "acknowledged":
            mine = after if isinstance(after, dict) else {}
            note = f": {mine['note']}" if mine.get("note") else ""
            snooze = (f", quiet until {day(mine['snoozed_until'])}" if mine.get("snoozed_until")
                      else "")
            return (f"{agency(d.get('agency'), names)} acknowledged the flag {rule} on "
                    f"{day(d.get('on'))}{snooze}{note}.")
        if what == "resolved":
            why = f": {d['why']}" if d.get("why") else ""
            return f"The flag {rule} was resolved on {day(d.get('on'))}{why}."
        if what == "refreshed" and isinstance(before, dict) and isinstance(after, dict):
            return (f"The flag {rule} changed on {day(d.get('on'))}: "
                    f"{changes(before, after, names) or 'no visible change'}.")
        return f"The flag {rule} was {what} on {day(d.get('on'))}{_rest(d, names, ('rule', 'on'))}."
    noun = action.split(".")[0].replace("_", " ")
    verb = action.split(".")[-1].replace("_", " ")
    if isinstance(before, dict) and isinstance(after, dict):
        return f"The {noun} was {verb}: {changes(before, after, names) or 'no visible change'}."
    if isinstance(after, dict):
        return f"The {noun} was {verb}{_rest(after, names)}{_rest(d, names)}."
    return f"The {noun} was {verb}{_rest(d, names)}."


def _reason(d: dict) -> str:
    return f": {d['reason']}." if d.get("reason") else "."


@dataclass(frozen=True)
class Line:
    """One entry of the history: when, who, what (and its place in the audit chain)."""

    when: str
    who: str
    what: str
    seq: int


def who(actor: str) -> str:
    """Say who acted: "user:cm@wmids.example" is cm@wmids.example; the system's jobs by name."""
    kind, _, name = actor.partition(":")
    if kind == "user":
        return name
    if kind == "system":
        return f"gapwatch ({name})"
    if kind == "cli":
        return f"command line ({name})"
    if kind == "token":
        return f"API token {name}"
    return actor


def history(entries: list[dict], names: Mapping[str, str]) -> list[Line]:
    """The case's audit entries, each as a line in words."""
    return [Line(moment(e["at"]), who(e["actor"]), describe(e["action"], e["detail"], names),
                 e["seq"]) for e in entries]
