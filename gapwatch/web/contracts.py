"""The commissioner's contract pages: each contract's monthly figures, as charts and tables.

`/contracts` lists the contracts the user may see; `/contracts/<id>` shows one contract's
figures over a date range as the records stood at the end of `as_of`, and offers the same
figures as CSV and PDF. Who may see a contract is the authority table's `may_see_contract`; the
figures are `gapwatch.contracts.figures`, the CLI report's, so the page, its downloads and
`gapwatch contracts report` cannot disagree. Every view and download is in the audit trail.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import aliased

from gapwatch import authority, clock
from gapwatch import contracts as report
from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.errors import InvalidInput
from gapwatch.models import Agency, Contract
from gapwatch.rules import Contract as ContractFacts
from gapwatch.web import forms
from gapwatch.web.charts import Series, bars
from gapwatch.web.forms import query_day

bp = Blueprint("contracts", __name__)
RANGE_FIELDS = ("from", "to", "as_of")
PROVIDER, COMMISSIONER = aliased(Agency), aliased(Agency)
CONTRACTS_QUERY = (
    select(Contract.id, PROVIDER.code.label("provider"), PROVIDER.name.label("provider_name"),
           COMMISSIONER.code.label("commissioner"),
           COMMISSIONER.name.label("commissioner_name"), Contract.service, Contract.starts_on,
           Contract.ends_on)
    .join(PROVIDER, PROVIDER.id == Contract.provider_id)
    .join(COMMISSIONER, COMMISSIONER.id == Contract.commissioner_id)
)
REFERRALS = (("Made", "referrals_made"), ("Accepted", "referrals_accepted"),
             ("Rejected", "referrals_rejected"), ("Unanswered", "referrals_unanswered"))


def _may_see(row) -> authority.Decision:
    return authority.may_see_contract(current_user.agency_code, provider=row.provider,
                                      commissioner=row.commissioner,
                                      reader=current_user.sees_everything)


def _contract_or_refuse(contract_id: int):
    """Return the contract's row if the user may see its figures; 404 or 403 (with why) if not."""
    row = get_session().execute(CONTRACTS_QUERY.where(Contract.id == contract_id)).one_or_none()
    if row is None:
        abort(404)
    decision = _may_see(row)
    if not decision:
        abort(Response(render_template("error.html", code=403, title="Not allowed",
                                       message=decision.reason), 403))
    return row


def _range() -> tuple[date, date, date]:
    """Read `from`, `to` and `as_of` (default: a year of months up to today); refuse nonsense."""
    today = clock.today()
    as_of = query_day("as_of") or today
    last = query_day("to") or as_of
    first = query_day("from") or report.default_first(last)
    if as_of > today:
        raise InvalidInput(f"The records cannot be shown as they stood on {clock.long_day(as_of)}: "
                           f"that is after today ({clock.long_day(today)})", field="as_of")
    if first > last:
        raise InvalidInput(f"From ({clock.long_day(first)}) is after To ({clock.long_day(last)}): "
                           "give a range that runs forwards", field="from")
    if len(report.months(first, last)) > 36:
        raise InvalidInput(f"From {clock.long_day(first)} to {clock.long_day(last)} is more than "
                           "36 months: ask for less", field="from")
    return first, last, as_of


def _figures(row, first: date, last: date, as_of: date) -> list[report.Month]:
    facts = ContractFacts(row.provider, row.commissioner, row.service, row.starts_on,
                          row.ends_on)
    return report.figures(get_session(), first, last, as_of=as_of, commissioner=facts.commissioner,
                          contract=facts)


def _record(action: str, row, first: date, last: date, as_of: date, **more) -> None:
    ops.record_read(get_session(), current_user.actor, action, contract=row.id,
                    provider=row.provider, commissioner=row.commissioner, service=row.service,
                    first=first.isoformat(), last=last.isoformat(), as_of=as_of.isoformat(),
                    **more)


@bp.route("/contracts")
@login_required
def index():
    session = get_session()
    rows = [r for r in session.execute(
        CONTRACTS_QUERY.order_by(COMMISSIONER.code, PROVIDER.code, Contract.service,
                                 Contract.starts_on)).all() if _may_see(r)]
    ops.record_read(session, current_user.actor, "contracts.listed", shown=len(rows))
    return render_template("contracts/index.html", rows=rows, today=clock.today())


def charts(months: list[report.Month]) -> list[dict]:
    """Return the page's four charts, each with the rows of its table, from the same months."""
    labels = [m.first.strftime("%b %y") for m in months]
    values = [m.row() for m in months]

    def series(label: str, key: str) -> Series:
        return Series(label, tuple(v[key] for v in values))

    def chart(ident, title, desc, parts, columns):
        return {"id": ident, "title": title, "columns": columns,
                "svg": bars(ident, title, desc, labels, parts),
                "rows": [(m.first, [v[key] for _l, key in columns])
                         for m, v in zip(months, values, strict=True)]}

    return [
        chart("delivered", "Cases delivered", "Cases with a delivery under this contract on a "
              "day of each month.", [series("Cases", "cases_delivered")],
              [("Cases delivered", "cases_delivered")]),
        chart("referrals", "Referrals", "Referrals made to the provider in each month, and how "
              "many it accepted, rejected or has not answered.",
              [series(label, key) for label, key in REFERRALS],
              [*REFERRALS, ("Median days to answer", "median_days_to_answer")]),
        chart("past-end", "Delivery days past the contract's end", "Days of each month on which "
              "the provider delivered after the contract ended, with no other contract in force.",
              [series("Days", "delivery_days_past_end")],
              [("Delivery days past end", "delivery_days_past_end")]),
        chart("flags", "Flags raised on the provider's side", "Flags first seen in each month "
              "that told both the provider and the commissioner.",
              [series("Flags", "flags_raised")],
              [("Flags raised", "flags_raised"), ("Median days open", "median_days_open")]),
    ]


@bp.route("/contracts/<int:contract_id>")
@login_required
def show(contract_id: int):
    row = _contract_or_refuse(contract_id)
    refused, status = forms.NOTHING_REFUSED, 200
    try:
        first, last, as_of = _range()
    except InvalidInput as error:
        # The form again, with what was typed and the reason at its field; the figures of the
        # default range below it, so the page stays whole.
        typed = {name: tuple(request.args.get(f"{name}-{part}", "") for part in forms.PARTS)
                 for name in RANGE_FIELDS}
        refused = forms.Refused(place="r", errors={error.field or "from": error.message},
                                values={n: v for n, v in typed.items() if any(v)},
                                days=frozenset(RANGE_FIELDS))
        as_of = last = clock.today()
        first, status = report.default_first(last), 400
    _record("contract.viewed", row, first, last, as_of)
    months = _figures(row, first, last, as_of)
    return render_template("contracts/show.html", contract=row, first=first, last=last,
                           as_of=as_of, charts=charts(months), today=clock.today(),
                           refused=refused,
                           args={"from": first.isoformat(), "to": last.isoformat(),
                                 "as_of": as_of.isoformat()}), status


@bp.route("/contracts/<int:contract_id>/figures.<fmt>")
@login_required
def download(contract_id: int, fmt: str):
    if fmt not in ("csv", "pdf"):
        abort(404)
    row = _contract_or_refuse(contract_id)
    first, last, as_of = _range()
    _record("contract.exported", row, first, last, as_of, format=fmt)
    months = _figures(row, first, last, as_of)
    name = f"contract-{row.provider}-{row.commissioner}-{first}-to-{last}-as-of-{as_of}.{fmt}"
    if fmt == "csv":
        body, media = report.as_csv(months), "text/csv; charset=utf-8"
    else:
        from gapwatch.contracts_pdf import render_pdf  # fpdf2 costs a third of a second to load

        body, media = render_pdf(months, first, last, as_of, row.commissioner), "application/pdf"
    return Response(body, content_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
