"""The PDF case history, drawn with fpdf2 (pure Python: installs from the package index alone).

fpdf2's built-in fonts cover Latin-1; other characters print as '?'. The JSON export is the
complete record, the PDF its readable copy.
"""

from __future__ import annotations

import json

from fpdf import FPDF
from fpdf.fonts import FontFace

from gapwatch.audit import plain
from gapwatch.exports.formats import latin

HEADING = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))


class CaseHistoryPdf(FPDF):
    def __init__(self, history: dict):
        super().__init__(orientation="landscape", format="A4")
        self.history = history
        self.set_auto_page_break(auto=True, margin=14)
        self.set_title(latin(f"Case history {history['case']['reference']}"))
        self.set_creator("gapwatch")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", size=7)
        reference = self.history["case"]["reference"]
        self.cell(0, 5, latin(f"Case history {reference} - page {self.page_no()}/{{nb}}"), align="R")

    def build(self) -> bytes:
        """Draw every section and return the PDF's bytes."""
        self.add_page()
        self._title()
        self._facts()
        self._gaps()
        h = self.history
        self._table("Ownerships", ("#", "Agency", "Role", "From", "Until", "Officer", "Ended because"),
                    [(o["id"], o["agency"], o["role"], o["starts_on"], o["ends_on"] or "-",
                      o["officer"] or "-", o["ended_reason"] or "") for o in h["ownerships"]])
        self._table("Handoffs", ("#", "Kind", "From", "To", "Role", "Requested", "Due", "Decision",
                                 "Decided", "Reason"),
                    [(x["id"], x["kind"], x["from_agency"] or "intake", x["to_agency"], x["role"],
                      x["requested_on"], x["due_on"] or "-", x["status"], x["decided_on"] or "-",
                      x["reason"] or "") for x in h["handoffs"]])
        self._table("Flags", ("#", "Rule", "Severity", "Since", "Status", "Message", "Resolved"),
                    [(f["id"], f["rule"], f["severity"], f["since"], f["status"], f["message"],
                      f["resolved_on"] or "-") for f in h["flags"]])
        self._table("Audit trail of the case", ("Seq", "When (UTC)", "Who", "What", "Detail"),
                    [(e["seq"], e["at"].strftime("%Y-%m-%d %H:%M:%S"), e["actor"], e["action"],
                      json.dumps(plain(e["detail"]), sort_keys=True)[:400]) for e in h["audit"]])
        return bytes(self.output())

    def _title(self) -> None:
        h = self.history
        self.set_font("Helvetica", "B", 15)
        self.cell(0, 9, latin(f"Case history {h['case']['reference']}"), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=8)
        stood = f" - as it stood at the end of {h['as_of']}" if h["as_of"] else ""
        self.multi_cell(0, 4, latin(
            f"Exported {h['exported_at']:%Y-%m-%d %H:%M:%S} UTC{stood} - audit chain head "
            f"{h['audit_head']['seq']} {h['audit_head']['hash']}"), new_x="LMARGIN", new_y="NEXT")

    def _facts(self) -> None:
        p, c = self.history["person"], self.history["case"]
        self._heading("Person and case")
        self.set_font("Helvetica", size=9)
        for label, value in (
            ("Person", ("details withheld" if p.get("details_withheld") else
                        f"{p['given_name']} {p['family_name']} ({p['reference']})")
                       + (", restricted" if p["restricted"] else "")),
            ("Born", p["date_of_birth"]), ("Home area", p["home_area"] or "-"),
            ("Opened", c["opened_on"]), ("Closed", c["closed_on"] or "open"),
            ("Risk", c["risk_level"]), ("Expected release", c["expected_release_on"] or "-"),
        ):
            self.cell(40, 5, latin(label))
            self.cell(0, 5, latin(value), new_x="LMARGIN", new_y="NEXT")

    def _gaps(self) -> None:
        self._heading("Owner-less gaps")
        self.set_font("Helvetica", size=9)
        gaps = self.history["gaps"]
        if not gaps:
            self.cell(0, 5, "None: an agency was accountable on every day the case was open.",
                      new_x="LMARGIN", new_y="NEXT")
        for g in gaps:
            until = f"until {g['ends_on']}" if g["ends_on"] else "onwards (still open)"
            self.cell(0, 5, latin(f"Nobody accountable from {g['starts_on']} {until}: {g['days']} days"),
                      new_x="LMARGIN", new_y="NEXT")

    def _heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 7, latin(text), new_x="LMARGIN", new_y="NEXT")

    def _table(self, title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
        self._heading(title)
        self.set_font("Helvetica", size=7.5)
        if not rows:
            self.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
            return
        with self.table(headings_style=HEADING, line_height=4, repeat_headings=1) as table:
            table.row([latin(cell) for cell in header])
            for row in rows:
                table.row([latin(cell) for cell in row])
