"""A long table as landscape letter-size PDF pages, laid out by ReportLab's Platypus.

WeasyPrint lays out each cell of a table through Pango, about 8 ms a row: a consolidado of
10,000 cases took over 80 s. A list of cases needs much less than a browser's layout: fixed
column widths, words wrapped at spaces, the header row on every page, and the office's heading
and footer, which follow ``documentos/documentos.css``. A ``LongTable`` of plain strings,
wrapped beforehand with ``simpleSplit`` (a ``Paragraph`` per cell would be many times slower),
does that in seconds, with the DejaVu fonts the other documents use (found by fontconfig, as Pango
finds them for WeasyPrint) embedded as subsets, so that the text can be searched and extracted.
Text is drawn as given, never read as markup.
"""

from __future__ import annotations

import functools
import io
import re
import subprocess
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, LongTable, NextPageTemplate, PageTemplate

PAGE_WIDTH, PAGE_HEIGHT = landscape(letter)
MARGIN, BOTTOM = 1.8 * cm, 2 * cm  # the page's margins in documentos.css; the footer sits in the bottom one
BODY = 6.0  # the 8px margin browsers give <body>: the frame's own padding
WIDTH = PAGE_WIDTH - 2 * (MARGIN + BODY)
ROOM = PAGE_HEIGHT - MARGIN - BODY - BOTTOM  # a page's body, from below the top margin to the footer's
LEADING = 1.35
SIZE = 7.5  # the table's text
PAD_X, PAD_Y = 0.4 * SIZE, 0.25 * SIZE
LINE = LEADING * SIZE
INK, GREY, WARNING = colors.HexColor("#111111"), colors.HexColor("#555555"), colors.HexColor("#aa0000")
HEADER_FILL, NAVY, RULE = colors.HexColor("#dce6f2"), colors.HexColor("#1f3b66"), colors.HexColor("#dddddd")
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
REPLACEMENT = "\ufffd"  # drawn for a character the font lacks
CHUNK = 100  # rows to a table
REPEATED = 40  # the longest cell text worth keeping wrapped, as a list repeats its short values


@dataclass(frozen=True)
class Column:
    """A column of the table: its header, its share of the width, how its cells align."""

    header: str
    share: float  # of the table's width
    numeric: bool = False  # right-aligned


@dataclass(frozen=True)
class Heading:
    """The office's heading on the first page (``.membrete`` of documentos.css)."""

    institution: str
    title: str
    line: str


class Flagged(str):
    """A cell's text printed bold in dark red: a term already past."""


@functools.cache
def _registered() -> re.Pattern[str]:
    """DejaVu Sans and Sans Bold, found by fontconfig as Pango finds them, registered with ReportLab once
    per process; the pattern of the characters they cannot draw."""
    for name, pattern in ((REGULAR, "DejaVu Sans"), (BOLD, "DejaVu Sans:bold")):
        found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, check=True)
        if not found.stdout.lower().endswith(".ttf"):
            raise RuntimeError(f"fontconfig gives {found.stdout!r} for {pattern}: a TrueType DejaVu is needed")
        pdfmetrics.registerFont(TTFont(name, found.stdout))
    rl_config.useA85 = 0  # streams compressed and left binary: ASCII85 makes them slower and a quarter larger
    fonts = [pdfmetrics.getFont(name).face.charToGlyph for name in (REGULAR, BOLD)]
    drawn = "".join(sorted(chr(c) for c in set(fonts[0]) & set(fonts[1]) if chr(c).isprintable()))
    return re.compile(f"[^{re.escape(drawn)}]")


def clean(text: str) -> str:
    """``text`` with its runs of white space made one space (as HTML does), without control and format
    characters, and each character the fonts cannot draw as U+FFFD."""
    text = " ".join(text.split())
    if text.isascii() and text.isprintable():
        return text
    return _registered().sub(lambda found: "" if unicodedata.category(found[0]) in ("Cc", "Cf") else REPLACEMENT, text)


@functools.lru_cache(maxsize=4096)
def _wrapped(text: str, font: str, width: float) -> list[str]:
    return _wrap(text, font, width)


def _wrap(text: str, font: str, width: float, size: float = SIZE) -> list[str]:
    """``text`` in lines no wider than ``width``, broken at spaces; a word wider than a line, between letters."""
    lines = []
    for line in simpleSplit(clean(text), font, size, width):
        while " " not in line and len(line) > 1 and pdfmetrics.stringWidth(line, font, size) > width:  # one word
            cut = next(n for n in range(2, len(line) + 1) if pdfmetrics.stringWidth(line[:n], font, size) > width)
            lines.append(line[: cut - 1])
            line = line[cut - 1 :]
        lines.append(line)
    return lines or [""]


class _Text(Flowable):
    """Lines of text the width of the page, each (font, size, letter-spacing, text); under them, the
    heading's thick navy rule (``.membrete``: padding-bottom 0.4em, border-bottom 3px, margin-bottom 0.8em)."""

    def __init__(self, texts: Sequence[tuple[str, float, float, str]], rule: bool = False) -> None:
        super().__init__()
        self.lines = [(f, s, sp, _wrap(t, f, WIDTH, s)) for f, s, sp, t in texts]
        self.rule = rule
        self.height = sum(LEADING * s * len(lines) for _, s, _, lines in self.lines)
        self.height += (0.4 * 9.5 + 2.25 + 0.8 * 9.5) if rule else 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return WIDTH, self.height

    def draw(self) -> None:
        y = self.height
        self.canv.setFillColor(INK)
        for font, size, spacing, lines in self.lines:
            self.canv.setFont(font, size)
            for line in lines:
                y -= LEADING * size
                self.canv.drawString(0, y + (LEADING - 1) * size / 2 + 0.24 * size, line, charSpace=spacing)
        if self.rule:
            self.canv.setFillColor(NAVY)
            self.canv.rect(0, y - 0.4 * 9.5 - 2.25, WIDTH, 2.25, stroke=0, fill=1)


class _Numbered(Canvas):
    """A canvas that keeps its pages until the end, to write ``footer`` and «Página X de Y» on each."""

    def __init__(self, *args, footer: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.footer = footer
        self.pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
        self.pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, page in enumerate(self.pages, start=1):
            self.__dict__.update(page)
            self.setFont(REGULAR, SIZE)
            self.setFillColor(GREY)
            y = BOTTOM / 2 - SIZE / 3
            self.drawString(MARGIN, y, self.footer)
            self.drawRightString(PAGE_WIDTH - MARGIN, y, f"Página {number} de {len(self.pages)}")
            super().showPage()
        super().save()


def table_pdf(
    title: str, heading: Heading, columns: Sequence[Column], rows: Iterable[Sequence[str]], empty: str, footer: str
) -> bytes:
    """The table as a PDF: ``heading`` on the first page, then the rows under their header.

    With no rows, ``empty`` is said instead of the table. Every page has ``footer`` at its left
    and «Página X de Y» at its right.

    The header row is drawn by the page templates, at the top of every page, and the rows follow
    as tables of ``CHUNK`` rows: a table split at a page's end is built again from the rows it has
    left, so one table of 10,000 rows would cost time in the square of its length.
    """
    _registered()
    total = sum(c.share for c in columns)
    widths = [c.share / total * WIDTH for c in columns]
    inner = [w - 2 * PAD_X for w in widths]
    style = [
        ("FONT", (0, 0), (-1, -1), REGULAR, SIZE, LINE),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD_X),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD_X),
        ("TOPPADDING", (0, 0), (-1, -1), PAD_Y),
        ("BOTTOMPADDING", (0, 0), (-1, -1), PAD_Y),
        *(("ALIGN", (n, 0), (n, -1), "RIGHT") for n, c in enumerate(columns) if c.numeric),
    ]
    header = LongTable(
        [["\n".join(_wrap(c.header, BOLD, w)) for c, w in zip(columns, inner, strict=True)]],
        colWidths=widths,
        style=[
            *style,
            ("FONTNAME", (0, 0), (-1, 0), BOLD),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.75, NAVY),
        ],
    )
    faces = [(BOLD, 12, 0), (BOLD, 15, 0.03 * 15), (REGULAR, 9, 0)]  # h1: letter-spacing 0.03em
    texts = (heading.institution, heading.title, heading.line)
    membrete = _Text([(*f, t) for f, t in zip(faces, texts, strict=True)], rule=True)
    top = PAGE_HEIGHT - MARGIN - BODY
    tall = header.wrap(WIDTH, ROOM)[1]
    above = membrete.wrap(WIDTH, ROOM)[1]
    style.append(("LINEBELOW", (0, 0), (-1, -1), 0.75, RULE))
    most = int((ROOM - tall - 2 * PAD_Y) // LINE) - 1  # a row's lines on a page
    story: list[Flowable] = [NextPageTemplate("later")]
    data: list[list[str]] = []
    flagged: list[tuple] = []
    for values in rows:
        cells = []
        for n, (value, width) in enumerate(zip(values, inner, strict=True)):
            font = BOLD if isinstance(value, Flagged) else REGULAR
            cells.append(_wrapped(value, font, width) if len(value) <= REPEATED else _wrap(value, font, width))
            if font == BOLD:
                at = (n, len(data))
                flagged += [("FONTNAME", at, at, BOLD), ("TEXTCOLOR", at, at, WARNING)]
        for start in range(0, max(map(len, cells)), most):  # a row taller than a page goes on over several
            data.append(["\n".join(lines[start : start + most]) for lines in cells])
        if len(data) >= CHUNK:
            story.append(LongTable(data, colWidths=widths, style=[*style, *flagged]))
            data, flagged = [], []
    if data:
        story.append(LongTable(data, colWidths=widths, style=[*style, *flagged]))
    if len(story) == 1:
        story.append(_Text([(REGULAR, 9.5, 0, empty)]))
        tall = 0

    def first(canvas: Canvas, document: BaseDocTemplate) -> None:
        membrete.drawOn(canvas, MARGIN + BODY, top - above)
        if tall:
            header.drawOn(canvas, MARGIN + BODY, top - above - tall)

    def later(canvas: Canvas, document: BaseDocTemplate) -> None:
        header.drawOn(canvas, MARGIN + BODY, top - tall)

    def frame(height: float) -> Frame:
        return Frame(MARGIN, BOTTOM, PAGE_WIDTH - 2 * MARGIN, height, BODY, 0, BODY, 0)

    out = io.BytesIO()
    document = BaseDocTemplate(
        out,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        pageTemplates=[
            PageTemplate("first", [frame(ROOM - above - tall)], onPage=first),
            PageTemplate("later", [frame(ROOM - tall)], onPage=later),
        ],
        title=title,
        producer="Atiende",
        lang="es-PA",
        initialFontName=REGULAR,  # not Helvetica, which every page would name without drawing with it
    )
    document.build(story, canvasmaker=functools.partial(_Numbered, footer=footer))
    return out.getvalue()
