"""The dossier as a PDF (fpdf2: pure Python, no system libraries).

A Unicode TrueType font is used where the machine has one (DejaVu, Liberation, Noto); without one
the PDF falls back to the built-in Helvetica, which knows Latin-1 only, so other characters are
replaced rather than the export failing. The timeline is printed one event per block, because
two 64-character hashes do not fit in a table column on A4.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.dossier.formats.document import Document, Fields, Heading, LongText, Paragraph, Table

FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
)
LATIN1_SUBSTITUTES = str.maketrans(
    {"—": "-", "–": "-", "…": "...", "’": "'", "‘": "'", "“": '"', "”": '"', "•": "*"}
)
SIZES = {1: 16.0, 2: 13.0, 3: 11.0}


def latin1(value: str) -> str:
    """What the built-in fonts can print: Latin-1, with look-alikes for common punctuation."""
    return value.translate(LATIN1_SUBSTITUTES).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title = title
        self.unicode = False
        self.family = "helvetica"
        for regular, bold in FONT_CANDIDATES:
            if Path(regular).is_file() and Path(bold).is_file():
                self.add_font("dossier", "", regular)
                self.add_font("dossier", "B", bold)
                self.family, self.unicode = "dossier", True
                break
        self.set_title(self.text(title))
        self.set_creator("nonconformity-bot")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def text(self, value: str) -> str:  # type: ignore[override]
        return value if self.unicode else latin1(value)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 7)
        self.set_text_color(110)
        self.cell(0, 5, self.text(f"{self.doc_title} — {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)

    def write_block(
        self, value: str, *, size: float = 9.0, bold: bool = False, gap: float = 1.5
    ) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, self.text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(gap)


def to_pdf(doc: Document) -> bytes:
    pdf = _Pdf(doc.title)
    pdf.add_page()
    pdf.write_block(doc.title, size=SIZES[1], bold=True, gap=3)
    for part in doc.parts:
        if isinstance(part, Heading):
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
        elif isinstance(part, Table):
            _records(pdf, part)
    return bytes(pdf.output())


LABEL_WIDTH = 50.0


def _field(pdf: _Pdf, label: str, value: str) -> None:
    pdf.set_font(pdf.family, "B", 9)
    if pdf.get_string_width(pdf.text(label)) > LABEL_WIDTH - 2:  # a long label gets its own line
        pdf.multi_cell(0, 4.5, pdf.text(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_x(pdf.l_margin + LABEL_WIDTH)
    else:
        pdf.cell(LABEL_WIDTH, 4.5, pdf.text(label))
    pdf.set_font(pdf.family, "", 9)
    pdf.multi_cell(0, 4.5, pdf.text(value or "—"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


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
            text = latin1(text) if mono else pdf.text(text)
            pdf.multi_cell(0, 3.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.2)
