"""The forms of the case page's actions; each posts to a route of `gapwatch.web.actions`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ActionForm(FlaskForm):
    next = HiddenField()


class RequestForm(ActionForm):
    to_agency = SelectField("To agency", validators=[DataRequired()])
    role = SelectField("Role they take", choices=[("supervision", "supervision"),
                                                  ("custody", "custody"),
                                                  ("delivery", "delivery (a service)")])
    kind = SelectField("Kind", choices=[
        ("transfer", "transfer (your ownership ends when they take over)"),
        ("referral", "referral (you keep yours)"),
    ])
    due_on = DateField("Due day (they must have taken over by)", validators=[Optional()])
    reason = StringField("Note for the receiver", validators=[Optional(), Length(max=1000)])
    from_agency = SelectField("From agency", validators=[Optional()])


class AcceptForm(ActionForm):
    officer = StringField("Officer who takes the case", validators=[Optional(), Length(max=200)])


class RejectForm(ActionForm):
    reason = StringField("Why (the sender will read this)", validators=[Optional(), Length(max=1000)])


class WithdrawForm(ActionForm):
    reason = StringField("Why (optional)", validators=[Optional(), Length(max=1000)])


class EndForm(ActionForm):
    reason = StringField("Why it ends (e.g. released, order ended)",
                         validators=[Optional(), Length(max=500)])


class OfficerForm(ActionForm):
    officer = StringField("Officer", validators=[Optional(), Length(max=200)])


class AcknowledgeForm(ActionForm):
    note = TextAreaField("Note (what you are doing about it)", validators=[Optional(), Length(max=2000)])
    snooze_until = DateField("Snooze until (optional)", validators=[Optional()])


class CloseForm(ActionForm):
    reason = StringField("Why the case closes", validators=[Optional(), Length(max=500)])


def for_case(agencies: list) -> dict[str, FlaskForm]:
    """Return the blank forms the case page renders, the request form offering `agencies`.

    The page writes its other forms' fields itself (one per flag, handoff and ownership), so
    it needs the acknowledge and close forms only for their labels.
    """
    request = RequestForm(formdata=None)
    request.to_agency.choices = [(code, f"{code} · {name}") for code, name in agencies]
    request.from_agency.choices = [("", "(an intake: nobody)")] + [(c, c) for c, _n in agencies]
    return {"request": request, "acknowledge": AcknowledgeForm(formdata=None),
            "close": CloseForm(formdata=None)}
