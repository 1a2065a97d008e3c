"""The dossier as a PDF (fpdf2: pure Python, no system libraries).

The package ships its own Unicode font (DejaVu Sans, Bitstream Vera licence, in
``bot/resources/fonts``), so a name in Greek, Cyrillic, Arabic or Hebrew prints as typed on any
machine, and the text stays selectable and searchable (fpdf2 embeds a ToUnicode map). The JSON
dossier is embedded in the PDF as an attachment, so one file carries both the readable and the
machine-readable record. Font subsetting logs at INFO through fontTools; the loggers are quiet
whether or not logging was configured (``bot.ops.logs`` sets the same floors for the server).
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.dossier.formats.document import (
    Chronology,
    Document,
    Fields,
    Heading,
    LongText,
    Paragraph,
    Table,
)

FONTS = resources.files("bot").joinpath("resources/fonts")
SIZES = {1: 16.0, 2: 13.0, 3: 11.0}
for _name, _floor in (("fontTools", logging.WARNING), ("fpdf", logging.ERROR)):
    if logging.getLogger(_name).level < _floor:
        logging.getLogger(_name).setLevel(_floor)


def _font(name: str) -> Path:
    return Path(str(FONTS.joinpath(name)))


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title = title
        self.family = "dejavu"
        self.add_font(self.family, "", _font("DejaVuSans.ttf"))
        self.add_font(self.family, "B", _font("DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("nonconformity-bot")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.doc_title} — {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)

    def write_block(
        self, value: str, *, size: float = 9.0, bold: bool = False, gap: float = 1.5
    ) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(gap)


def to_pdf(doc: Document, attachment: tuple[str, bytes] | None = None) -> bytes:
    """``attachment`` is (file name, content): the JSON dossier, embedded in the PDF."""
    pdf = _Pdf(doc.title)
    if attachment is not None:
        name, content = attachment
        pdf.embed_file(
            bytes=content,
            basename=name,
            mime_type="application/json",
            associated_file_relationship="Data",
            desc=doc.title,
        )
    pdf.add_page()
    pdf.write_block(doc.title, size=SIZES[1], bold=True, gap=3)
    for part in doc.parts:
        if isinstance(part, Heading):
            if part.level == 1 and pdf.get_y() > pdf.t_margin + 1:
                pdf.add_page()  # a new chapter (the appendix) starts on its own page
            pdf.ln(2)
            pdf.write_block(part.text, size=SIZES.get(part.level, 11.0), bold=True)
        elif isinstance(part, Paragraph):
            pdf.write_block(part.text, bold=part.strong)
        elif isinstance(part, Fields):
            for label, value in part.rows:
                _field(pdf, label, value)
            pdf.ln(1.5)
        elif isinstance(part, LongText):
            pdf.write_block(part.label, bold=True, gap=0.5)
            pdf.write_block(part.text or "—")
        elif isinstance(part, Chronology):
            for line in part.lines:
                pdf.write_block("• " + line, gap=0.8)
            pdf.ln(1)
        elif isinstance(part, Table):
            _records(pdf, part)
    return bytes(pdf.output())


LABEL_WIDTH = 50.0


def _field(pdf: _Pdf, label: str, value: str) -> None:
    pdf.set_font(pdf.family, "B", 9)
    if pdf.get_string_width(label) > LABEL_WIDTH - 2:  # a long label gets its own line
        pdf.multi_cell(0, 4.5, label, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_x(pdf.l_margin + LABEL_WIDTH)
    else:
        pdf.cell(LABEL_WIDTH, 4.5, label)
    pdf.set_font(pdf.family, "", 9)
    pdf.multi_cell(0, 4.5, value or "—", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _records(pdf: _Pdf, table: Table) -> None:
    """Each row as a small block: the first columns on one line, the rest labelled beneath."""
    for row in table.rows:
        head = " · ".join(cell for cell in row[:3] if cell)
        pdf.write_block(head, size=8.5, bold=True, gap=0.3)
        for column in range(3, len(row)):
            label = table.headers[column] if column < len(table.headers) else ""
            mono = column in table.mono  # hashes: fixed width, ASCII only
            pdf.set_font("courier" if mono else pdf.family, "", 7.5)
            text = f"{label}: {row[column] or '-'}"
            pdf.multi_cell(0, 3.6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.2)
