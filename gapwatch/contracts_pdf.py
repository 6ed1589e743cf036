"""The contract report as a PDF for a quarterly contract review: one table per contract."""

from __future__ import annotations

from datetime import date
from itertools import groupby

from fpdf import FPDF
from fpdf.fonts import FontFace

from gapwatch.clock import long_day
from gapwatch.exports.pdf import FAMILY, font_files

HEADING = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
HEADER = ("Month", "Cases delivered", "Referrals", "Accepted", "Rejected", "Unanswered",
          "Median days to answer", "Delivery days past end", "Flags raised",
          "Median days open")
KEYS = ("month", "cases_delivered", "referrals_made", "referrals_accepted",
        "referrals_rejected", "referrals_unanswered", "median_days_to_answer",
        "delivery_days_past_end", "flags_raised", "median_days_open")


def render_pdf(months: list, first: date, last: date, as_of: date,
               commissioner: str | None) -> bytes:
    """Return the PDF's bytes: a title naming the range and day, then each contract's months.
    In the case history's font (DejaVu Sans), so a service or agency named in any script of a
    caseload prints as it is written, and with days said as the pages say them."""
    pdf = FPDF(orientation="landscape", format="A4")
    for style, path in font_files().items():
        pdf.add_font(FAMILY, style, str(path))
    pdf.set_text_shaping(True)
    span = f"{long_day(first)} to {long_day(last)}"
    pdf.set_title(f"Contract report {span}")
    pdf.set_creator("gapwatch")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 15)
    whose = f" for {commissioner}" if commissioner else ""
    pdf.cell(0, 9, f"Contract report{whose}, {span}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=8)
    pdf.cell(0, 5, f"As the records stood at the end of {long_day(as_of)}.", new_x="LMARGIN",
             new_y="NEXT")
    if not months:
        pdf.cell(0, 6, "No contract in this range.", new_x="LMARGIN", new_y="NEXT")
    for contract, rows in groupby(months, key=lambda m: m.contract):
        pdf.ln(3)
        pdf.set_font(FAMILY, "B", 11)
        ends = long_day(contract.ends_on) if contract.ends_on else "open-ended"
        pdf.cell(0, 7, f"{contract.provider} for {contract.commissioner}: {contract.service}"
                       f" ({long_day(contract.starts_on)} to {ends})", new_x="LMARGIN",
                 new_y="NEXT")
        pdf.set_font(FAMILY, size=8)
        with pdf.table(headings_style=HEADING, line_height=4, repeat_headings=1) as table:
            table.row(list(HEADER))
            for month in rows:
                values = month.row()
                table.row([str(values[k]) or "-" for k in KEYS])
    return bytes(pdf.output())
