"""The PDF case history, drawn with fpdf2: the readable history (`exports.readable`) in DejaVu
Sans, with the whole journey's picture.

**The font.** DejaVu Sans covers the Latin, Greek, Cyrillic and Arabic scripts of a probation
caseload ("Łukasz Żółć", "محمد"); fpdf2's built-in fonts cover Latin-1 only. It is taken from
Debian's `fonts-dejavu-core` (`/usr/share/fonts/truetype/dejavu/`, which `scripts/setup-system`
installs for `make run` and `make test`), or from the folder `GAPWATCH_PDF_FONT_DIR` names; a
missing font stops the export with a message saying what to install. Not shipped in the package:
Debian keeps the font current, and the wheel stays free of 1.4 MB of font files.

**Shaping.** `uharfbuzz` shapes the text (fpdf2's `set_text_shaping`): Arabic letters join and
right-to-left runs read in the right order. Text is ragged-right: never justified.
"""

from __future__ import annotations

import os
from math import cos, pi, sin
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align
from fpdf.fonts import FontFace

from gapwatch.exports.readable import Readable, Table
from gapwatch.web.timeline import LOOKS, Picture

FAMILY = "DejaVu"
FONT_DIR_SETTING = "GAPWATCH_PDF_FONT_DIR"
DEBIAN_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
HEADING = FontFace(emphasis="BOLD", fill_color=(230, 232, 235))
INK = (27, 31, 36)
MUTED = (80, 90, 100)


class FontMissing(RuntimeError):
    """The PDF's Unicode font is not on this machine."""


def font_files() -> dict[str, Path]:
    """Return the DejaVu Sans files by style ('' and 'B'), or say what to install."""
    given = os.environ.get(FONT_DIR_SETTING)
    folder = Path(given) if given else DEBIAN_FONT_DIR
    files = {style: folder / name for style, name in FONT_FILES.items()}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        where = (f"{FONT_DIR_SETTING}={given}" if given
                 else f"{DEBIAN_FONT_DIR} (Debian's fonts-dejavu-core)")
        raise FontMissing(
            f"the PDF export needs the DejaVu Sans font, and {', '.join(missing)} is missing from "
            f"{where}: install it with `apt-get install fonts-dejavu-core` (scripts/setup-system "
            f"does), or set {FONT_DIR_SETTING} to a folder holding "
            f"{' and '.join(FONT_FILES.values())}")
    return files


LRM = "\u200e"  # a left-to-right mark: an English page's lines run left to right


def ltr(text: str) -> str:
    """Keep a line left-to-right even when it opens with an Arabic name ("محمد عبد الله (P-1)"
    with the reference on the right); the name itself still reads right to left."""
    return LRM + text


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


class CaseHistoryPdf(FPDF):
    def __init__(self, doc: Readable):
        super().__init__(orientation="landscape", format="A4")
        self.doc = doc
        for style, path in font_files().items():
            self.add_font(FAMILY, style, str(path))
        self.set_text_shaping(True)
        self.set_margins(14, 12, 14)
        self.set_auto_page_break(auto=True, margin=14)
        self.set_title(doc.title)
        self.set_creator("gapwatch")
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, size=7)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.doc.title}: page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*INK)

    def build(self) -> bytes:
        """Draw every section and return the PDF's bytes."""
        doc = self.doc
        self.add_page()
        self.set_font(FAMILY, "B", 16)
        self.cell(0, 9, doc.title, new_x="LMARGIN", new_y="NEXT")
        self._para(doc.meta, 8.5, MUTED)
        self._heading("Person and case")
        self.set_font(FAMILY, size=9.5)
        for label, value in doc.facts:
            self.set_font(FAMILY, "B", 9.5)
            self.cell(38, 5.2, label)
            self.set_font(FAMILY, size=9.5)
            self.multi_cell(0, 5.2, ltr(value), align=Align.L, new_x="LMARGIN", new_y="NEXT")
        self._heading("Owner-less gaps")
        for line in doc.gaps or ["None: an agency was accountable on every day the case was open."]:
            self._para(line, 9.5)
        if doc.picture is not None:
            self._picture(doc.picture)
        for table in doc.tables:
            self._table(table)
        self._history()
        self._para(doc.audit_head, 7.5, MUTED)
        return bytes(self.output())

    # -- text ---------------------------------------------------------------------------------
    def _para(self, text: str, size: float, colour=INK) -> None:
        self.set_font(FAMILY, size=size)
        self.set_text_color(*colour)
        self.multi_cell(0, size * 0.5, ltr(text), align=Align.L, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def _heading(self, text: str) -> None:
        if self.will_page_break(30):
            self.add_page()
        self.ln(3)
        self.set_font(FAMILY, "B", 12)
        self.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")

    def _table(self, table: Table) -> None:
        self._heading(table.title)
        if not table.rows:
            self._para(table.empty, 9.5)
            return
        self.set_font(FAMILY, size=8)
        width = self.epw
        with self.table(headings_style=HEADING, line_height=4.2, repeat_headings=1,
                        text_align="LEFT", col_widths=tuple(w * width for w in table.widths),
                        width=width, padding=1.2) as out:
            out.row(table.header)
            for row in table.rows:
                out.row([ltr(cell) for cell in row])

    def _history(self) -> None:
        self._heading("History of the case: who did what, when")
        if not self.doc.history:
            self._para("No entries.", 9.5)
        for line in self.doc.history:
            if self.will_page_break(11):
                self.add_page()
            self.set_font(FAMILY, "B", 8.5)
            self.multi_cell(0, 4.3, ltr(f"{line.when} · {line.who}"), align=Align.L,
                            new_x="LMARGIN", new_y="NEXT")
            self.set_font(FAMILY, size=8.5)
            self.set_x(self.l_margin + 4)
            self.multi_cell(self.epw - 4, 4.3, ltr(line.what), align=Align.L, new_x="LMARGIN",
                            new_y="NEXT")
            self.ln(1.2)

    # -- the journey picture -----------------------------------------------------------------
    def _picture(self, pic: Picture) -> None:
        self._heading("The whole journey")
        scale = self.epw / pic.width
        if self.will_page_break(pic.height * scale + 4):
            self.add_page()
        x0, y0 = self.l_margin, self.get_y() + 1
        for shape in pic.shapes:
            self._shape(shape, x0, y0, scale)
        self.set_dash_pattern()
        self.set_line_width(0.2)
        self.set_draw_color(0)
        self.set_fill_color(255)
        self.set_xy(self.l_margin, y0 + pic.height * scale + 2)
        self.set_text_color(*INK)

    def _shape(self, shape, x0: float, y0: float, k: float) -> None:
        look = LOOKS[shape.look]
        at = shape.at
        fill, stroke = look.get("fill"), look.get("stroke")
        if fill and fill != "none":
            self.set_fill_color(*_rgb(fill))
        if stroke:
            self.set_draw_color(*_rgb(stroke))
            self.set_line_width(look.get("width", 1) * k)
        dash = look.get("dash")
        self.set_dash_pattern(dash[0] * k, dash[1] * k) if dash else self.set_dash_pattern()
        style = ("DF" if stroke else "F") if fill and fill != "none" else "D"
        point = lambda i: (x0 + at[i] * k, y0 + at[i + 1] * k)  # noqa: E731
        if shape.kind == "rect":
            x, y, w, h = x0 + at[0] * k, y0 + at[1] * k, at[2] * k, at[3] * k
            self.rect(x, y, w, h, style=style)
            if shape.look == "gap":
                self._hatch(x, y, w, h, k)
        elif shape.kind == "line":
            self.line(*point(0), *point(2))
        elif shape.kind == "poly":
            self.polygon([point(i) for i in range(0, len(at), 2)], style=style)
        elif shape.kind == "curve":
            self.bezier([point(i) for i in range(0, 8, 2)], style="D")
        elif shape.kind == "text":
            self.set_dash_pattern()
            self.set_font(FAMILY, "B" if shape.bold else "", 12 * k * 72 / 25.4)
            self.set_text_color(*_rgb(look["fill"]))
            x, y = point(0)
            if shape.anchor == "end":
                x -= self.get_string_width(shape.text)
            self.text(x, y, ltr(shape.text))

    def _hatch(self, x: float, y: float, w: float, h: float, k: float) -> None:
        """The gap's diagonal hatching, as on the page."""
        look = LOOKS["hatch"]
        self.set_draw_color(*_rgb(look["stroke"]))
        self.set_line_width(look["width"] * k)
        self.set_dash_pattern()
        step, slant = 8 * k, (cos(pi / 4), sin(pi / 4))
        with self.rect_clip(x, y, w, h):
            n = 0
            while n * step < w + h:
                start = x - h + n * step
                self.line(start, y + h, start + h * slant[0] / slant[1], y)
                n += 1
