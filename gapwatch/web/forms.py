"""The forms of the case page's actions; each posts to a route of `gapwatch.web.actions`."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from flask import request
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from gapwatch import clock, text
from gapwatch.authority import HOLDS, Offers
from gapwatch.errors import InvalidInput

PARTS = ("day", "month", "year")


def day_from_parts(parts: tuple[str, str, str], called: str) -> date:
    """Read a day typed as day, month and year; refuse it in words that say what to change."""
    missing = [name for name, text in zip(PARTS, parts, strict=True) if not text]
    if missing:
        raise ValueError(f"{called.capitalize()} must include a {' and a '.join(missing)}")
    if not all(text.isdigit() for text in parts):
        raise ValueError(f"{called.capitalize()} must be numbers only, for example {clock.example_day()}")
    day, month, year = (int(text) for text in parts)
    if len(parts[2]) != 4:
        raise ValueError(f"{called.capitalize()} must have a year of four digits, for example 2026")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{called.capitalize()} must be a real day, for example {clock.example_day()}") from None


def query_day(name: str) -> date | None:
    """Read the query string's day `name`, typed in three boxes (`name-day`, `name-month`,
    `name-year`, as `date_input` draws them) or whole (YYYY-MM-DD, as links carry it); a day
    that does not parse is refused (400), naming the field."""
    parts = tuple(request.args.get(f"{name}-{part}", "").strip() for part in PARTS)
    if any(parts):
        try:
            return clock.check_day(day_from_parts(parts, "the day"), name)
        except ValueError as error:
            raise InvalidInput(str(error), field=name) from None
    value = request.args.get(name, "").strip()
    return clock.parse_day(value, name) if value else None


class DayField(Field):
    """A day typed in GOV.UK's three boxes, posted as `<name>-day`, `<name>-month`, `<name>-year`.

    One `<name>` box in the form YYYY-MM-DD is read too (a script or an older page posting the
    day whole). `parts` keeps what was typed, so a refused form shows it again.
    """

    def __init__(self, label=None, validators=None, *, called: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.called = called or self.label.text.lower()

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.process_errors, self.raw_data = [], []
        self.object_data = None if data is unset_value else data
        self.data, self.parts = self.object_data, ("", "", "")
        if formdata is None:
            return
        self.data = None
        parts = tuple(formdata.get(f"{self.name}-{part}", "").strip() for part in PARTS)
        whole = formdata.get(self.name, "").strip()
        try:
            if any(parts):
                self.parts, self.raw_data = parts, [" ".join(parts)]
                self.data = day_from_parts(parts, self.called)
            elif whole:
                self.raw_data = [whole]
                self.data = clock.parse_day(whole, self.called)
                self.parts = (str(self.data.day), str(self.data.month), str(self.data.year))
        except clock.DayRefused as error:
            self.process_errors.append(f"{self.called.capitalize()} {error.why}")
        except ValueError as error:
            self.process_errors.append(str(error))

    def pre_validate(self, form) -> None:
        """Keep a day that did not parse refused as such: DataRequired would say only "enter it"."""
        if self.process_errors:
            raise StopValidation()


def bounded_day(_form, field) -> None:
    """Refuse a day outside the ones gapwatch accepts (clock.EARLIEST..LATEST)."""
    if field.data is not None:
        try:
            clock.check_day(field.data, field.name)
        except clock.DayRefused as error:
            raise ValidationError(f"{clock.long_day(field.data)} {error.why}") from None


def plain_text(_form, field) -> None:
    """Refuse bidirectional and other control characters (gapwatch.text)."""
    if field.data and (why := text.problem(field.data)) is not None:
        raise ValidationError(f"the text {why}")


class ActionForm(FlaskForm):
    next = HiddenField()
    # Which form of the page it was ("waiting-reject-12"): a refusal reopens that one.
    place = HiddenField()


PLACE = re.compile(r"[a-z]+(-[a-z_]+)*(-[0-9]+)?")


@dataclass(frozen=True)
class Refused:
    """A refused form: which one (`place`), its errors by field and what was typed, to show again.

    `errors` holds messages in people's words, keyed by the form's own field names; a refusal
    that names no field is kept under the form's main field, where the person can act on it.
    """

    place: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    days: frozenset[str] = frozenset()  # fields typed as three boxes: their first is the day's

    def __bool__(self) -> bool:
        return bool(self.errors)

    def error(self, place: str, name: str) -> str | None:
        return self.errors.get(name) if place == self.place else None

    def value(self, place: str, name: str, default=""):
        return self.values.get(name, default) if place == self.place else default

    def here(self, place: str) -> bool:
        return bool(self.errors) and place == self.place

    def summary(self) -> list[tuple[str, str]]:
        """The error summary's lines, each linking to its field (`<place>-<field>`)."""
        return [(f"#{self.place}-{name}{'-day' if name in self.days else ''}", message)
                for name, message in self.errors.items()]


NOTHING_REFUSED = Refused()


def unlink_missing(page: str, refused: Refused) -> str:
    """Return the page with each error summary link whose field it does not show made plain
    text: a form refused because its action is no longer open (a request withdrawn meanwhile,
    a gap taken by another) is not on the page shown again, and a link to it goes nowhere."""
    for href, _message in refused.summary():
        if f'id="{href[1:]}"' not in page:
            page = re.sub(rf'<a href="{re.escape(href)}">(.*?)</a>', r"\1", page, count=1,
                          flags=re.S)
    return page


KINDS = {"transfer": "transfer (your ownership ends when they take over)",
         "referral": "referral (you keep yours)"}
# A referral asked by an agency that holds nothing today (in a gap, its last owner or the home
# area): it keeps nothing, and the receiver's ownership is the case's only one.
REFERRAL_HOLDING_NOTHING = "referral (they take it on: you hold no part of the case today)"
ROLES = {"supervision": "supervision", "custody": "custody", "delivery": "delivery (a service)"}


class RequestForm(ActionForm):
    to_agency = SelectField("To agency", validators=[DataRequired()])
    # The role follows from the receiver (a prison holds custody, a provider delivery); a form
    # may still name it, and the authority table refuses one the receiver cannot hold.
    role = SelectField("Role they take", choices=[SelectChoice(*c) for c in ROLES.items()],
                       validators=[Optional()])
    kind = SelectField("Kind", choices=[SelectChoice(*c) for c in KINDS.items()])
    due_on = DayField("Due day (they must have taken over by)", validators=[Optional(), bounded_day],
                      called="the due day")
    reason = StringField("Note for the receiver", validators=[Optional(), Length(max=1000), plain_text])
    from_agency = SelectField("From agency", validators=[Optional()])


class AcceptForm(ActionForm):
    officer = StringField("Officer who takes the case", validators=[Optional(), Length(max=200), plain_text])


class RejectForm(ActionForm):
    reason = StringField("Why (the sender will read this)", validators=[Optional(), Length(max=1000), plain_text])


class WithdrawForm(ActionForm):
    reason = StringField("Why (optional)", validators=[Optional(), Length(max=1000), plain_text])


class EndForm(ActionForm):
    reason = StringField("Why it ends (e.g. released, order ended)",
                         validators=[Optional(), Length(max=500), plain_text])


class OfficerForm(ActionForm):
    officer = StringField("Officer", validators=[Optional(), Length(max=200), plain_text])


class AcknowledgeForm(ActionForm):
    # The agency's acknowledgement as the page showed it (`operations.acknowledgement_mark`).
    seen = HiddenField(validators=[Optional(), Length(max=16)])
    note = TextAreaField("Note (what you are doing about it)", validators=[Optional(), Length(max=2000), plain_text])
    snooze_until = DayField("Snooze until (optional)", validators=[Optional(), bounded_day],
                            called="the snooze day")


class CloseForm(ActionForm):
    reason = StringField("Why the case closes", validators=[Optional(), Length(max=500), plain_text])


class TakeForm(ActionForm):
    officer = StringField("Officer who will supervise", validators=[DataRequired(),
                                                                    Length(max=200), plain_text])


def _only(kind: str, roles: dict[str, tuple[str, ...]]) -> str:
    """Say which roles a kind may be asked in, when not all the roles offered."""
    some = [ROLES[role] for role, kinds in roles.items() if kind in kinds]
    return "" if len(some) == len(roles) else f" — for {' or '.join(some)} only"


def for_case(agencies: list, offers: Offers, my_agency: str | None, *,
             holding: bool = True, asked: Collection[str] = ()) -> dict[str, FlaskForm]:
    """Return the blank forms the case page renders, offering only what `offers` allows.

    The request form lists the agencies that may hold a role the user may ask for (by role,
    as the authority table's role table reads), but not those `asked` already (a case has one
    pending handoff to an agency at most, and one that accepted it from a later day is coming),
    and only the kinds allowed, said as they are for the user (`holding`: whether its agency
    holds an ownership today). The page writes
    its other forms' fields itself (one per flag, handoff and ownership), so it needs the
    acknowledge and close forms only for their labels.
    """
    request = RequestForm(formdata=None)
    roles = dict(offers.ask)
    groups = {  # one group of receivers per role
        ROLES[role]: [(code, name if name.endswith(f"({code})") else f"{name} ({code})")
                      for code, name, kind in agencies
                      if code != my_agency and code not in asked and role in HOLDS.get(kind, ())]
        for role in roles
    }
    request.to_agency.choices = {group: choices for group, choices in groups.items() if choices}
    kinds = dict.fromkeys(k for role_kinds in roles.values() for k in role_kinds)
    said = KINDS if holding else {**KINDS, "referral": REFERRAL_HOLDING_NOTHING}
    # One select of kinds serves every role: a kind allowed for some roles only says which (an
    # area holding supervision transfers it, but only refers a provider's delivery on).
    request.kind.choices = [(k, said[k] + _only(k, roles)) for k in KINDS if k in kinds]
    request.from_agency.choices = [("", "(an intake: nobody)")] + [
        (c, c) for c, _n, _k in agencies]
    return {"request": request, "acknowledge": AcknowledgeForm(formdata=None),
            "close": CloseForm(formdata=None), "take": TakeForm(formdata=None)}
