"""The forms of the case page's actions; each posts to a route of `gapwatch.web.actions`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from gapwatch import clock, text
from gapwatch.authority import HOLDS, Offers


def bounded_day(_form, field) -> None:
    """Refuse a day outside the ones gapwatch accepts (clock.EARLIEST..LATEST)."""
    if field.data is not None:
        try:
            clock.check_day(field.data, field.name)
        except clock.DayRefused as error:
            raise ValidationError(f"{field.data.isoformat()} {error.why}") from None


def plain_text(_form, field) -> None:
    """Refuse bidirectional and other control characters (gapwatch.text)."""
    if field.data and (why := text.problem(field.data)) is not None:
        raise ValidationError(f"the text {why}")


class ActionForm(FlaskForm):
    next = HiddenField()


KINDS = {"transfer": "transfer (your ownership ends when they take over)",
         "referral": "referral (you keep yours)"}
ROLES = {"supervision": "supervision", "custody": "custody", "delivery": "delivery (a service)"}


class RequestForm(ActionForm):
    to_agency = SelectField("To agency", validators=[DataRequired()])
    # The role follows from the receiver (a prison holds custody, a provider delivery); a form
    # may still name it, and the authority table refuses one the receiver cannot hold.
    role = SelectField("Role they take", choices=list(ROLES.items()), validators=[Optional()])
    kind = SelectField("Kind", choices=list(KINDS.items()))
    due_on = DateField("Due day (they must have taken over by)", validators=[Optional(), bounded_day])
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
    note = TextAreaField("Note (what you are doing about it)", validators=[Optional(), Length(max=2000), plain_text])
    snooze_until = DateField("Snooze until (optional)", validators=[Optional(), bounded_day])


class CloseForm(ActionForm):
    reason = StringField("Why the case closes", validators=[Optional(), Length(max=500), plain_text])


class TakeForm(ActionForm):
    officer = StringField("Officer who will supervise", validators=[DataRequired(),
                                                                    Length(max=200), plain_text])


def for_case(agencies: list, offers: Offers, my_agency: str | None) -> dict[str, FlaskForm]:
    """Return the blank forms the case page renders, offering only what `offers` allows.

    The request form lists the agencies that may hold a role the user may ask for (by role,
    as the authority table's role table reads), and only the kinds allowed. The page writes
    its other forms' fields itself (one per flag, handoff and ownership), so it needs the
    acknowledge and close forms only for their labels.
    """
    request = RequestForm(formdata=None)
    roles = dict(offers.ask)
    request.to_agency.choices = {  # one group of receivers per role
        ROLES[role]: [(code, f"{name} ({code})") for code, name, kind in agencies
                      if code != my_agency and role in HOLDS.get(kind, ())]
        for role in roles
    }
    kinds = dict.fromkeys(k for role_kinds in roles.values() for k in role_kinds)
    request.kind.choices = [(k, KINDS[k]) for k in KINDS if k in kinds]
    request.from_agency.choices = [("", "(an intake: nobody)")] + [
        (c, c) for c, _n, _k in agencies]
    return {"request": request, "acknowledge": AcknowledgeForm(formdata=None),
            "close": CloseForm(formdata=None), "take": TakeForm(formdata=None)}
