"""The office's papers as files: the hoja de trámite and the consolidado (PDF, letter size; XLSX).

Rendering only: callers gather the facts (``HojaDeTramite``, ``Consolidado``) and store the
bytes. HTML templates under ``engine/paperwork/documentos`` are rendered with Jinja2
(autoescaped: case text is the citizen's) and laid out by WeasyPrint with DejaVu fonts,
which cover á é í ó ú ñ ¿ ¡. Styles are inlined and WeasyPrint may fetch ``data:`` URIs only
(the QR code), so no text in a case can make the server read a file or open a URL.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import segno
import weasyprint
from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from pypdf import PdfWriter

from engine.clock import PANAMA

TEMPLATES = Path(__file__).parent / "documentos"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROWS_PER_PART = 250  # rows of a consolidado laid out at once


def fecha(value: date | datetime | None) -> str:
    """dd/mm/aaaa, the Panamá calendar day of a moment."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PANAMA).date()
    return value.strftime("%d/%m/%Y")


def fecha_hora(value: datetime | None) -> str:
    """dd/mm/aaaa HH:MM in Panamá time."""
    return "" if value is None else value.astimezone(PANAMA).strftime("%d/%m/%Y %H:%M")


@dataclass(frozen=True)
class Persona:
    nombre: str
    correo: str | None = None


@dataclass(frozen=True)
class HojaDeTramite:
    """What a hoja de trámite says; every value already in words (labels, not codes)."""

    ticket: str
    fecha: datetime
    direccion: str
    enlaces: list[Persona]
    tipo_caso: str
    canal: str
    asunto: str
    resumen: str
    datos_ciudadano_y_lugar: str
    prioridad: str
    corregimiento: str
    lugar_notificaciones: str
    fecha_limite: datetime | None
    aprobada_por: str | None
    aprobada_el: datetime | None
    comentarios_aprobacion: str
    acuse_url: str


@dataclass(frozen=True)
class FilaConsolidado:
    """One case of a consolidado de seguimiento."""

    ticket: str
    fecha: datetime
    tipo_caso: str
    resumen: str
    estado: str
    dias_transcurridos: int
    dias_restantes: int | None
    ultimo_seguimiento: str
    fecha_ultimo_seguimiento: datetime | None


@dataclass(frozen=True)
class Consolidado:
    """The follow-up register of one dirección at one moment."""

    direccion: str
    generado_el: datetime
    periodo: str
    filas: list[FilaConsolidado] = field(default_factory=list)


_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
_env.filters["fecha"] = fecha
_env.filters["fecha_hora"] = fecha_hora


def _layout(template: str, **context) -> weasyprint.Document:
    html = _env.get_template(template).render(**context)
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).render()


def render_pdf(template: str, **context) -> bytes:
    """A PDF from one of the document templates."""
    return _layout(template, **context).write_pdf()


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI, for an <img> of a document."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def hoja_de_tramite_html(hoja: HojaDeTramite) -> str:
    """The hoja de trámite as the HTML its PDF is laid out from: a task page shows this very page."""
    return _env.get_template("hoja_de_tramite.html").render(hoja=hoja, qr=qr_data_uri(hoja.acuse_url))


def hoja_de_tramite_pdf(hoja: HojaDeTramite) -> bytes:
    """The hoja de trámite as a one-page letter-size PDF, with the acuse box and the QR code."""
    return render_pdf("hoja_de_tramite.html", hoja=hoja, qr=qr_data_uri(hoja.acuse_url))


def consolidado_pdf(consolidado: Consolidado) -> bytes:
    """The consolidado as a landscape letter-size PDF table, its pages numbered throughout.

    It is laid out in parts of ``ROWS_PER_PART`` rows and the parts joined: WeasyPrint keeps a
    whole layout in memory (10,000 rows in one layout took 1.6 GB), a part's stays small.
    """
    rows = consolidado.filas
    parts, first_page = [], 1
    for start in range(0, max(len(rows), 1), ROWS_PER_PART):
        layout = _layout(
            "consolidado.html",
            c=consolidado,
            filas=rows[start : start + ROWS_PER_PART],
            first=start == 0,
            first_page=first_page,
        )
        first_page += len(layout.pages)
        parts.append(layout.write_pdf())
    return parts[0] if len(parts) == 1 else merge_pdfs(parts)


COLUMNS = [  # (header, width, value of a row)
    ("Ticket", 18, lambda f: f.ticket),
    ("Fecha", 12, lambda f: fecha(f.fecha)),
    ("Tipo de caso", 22, lambda f: f.tipo_caso),
    ("Resumen", 60, lambda f: f.resumen),
    ("Estado", 18, lambda f: f.estado),
    ("Días transcurridos", 12, lambda f: f.dias_transcurridos),
    ("Días restantes", 12, lambda f: f.dias_restantes),
    ("Último seguimiento", 50, lambda f: f.ultimo_seguimiento),
    ("Fecha del seguimiento", 14, lambda f: fecha(f.fecha_ultimo_seguimiento)),
]


def consolidado_xlsx(consolidado: Consolidado) -> bytes:
    """The consolidado as a spreadsheet; written row by row, so 10,000 cases stay small in memory."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Consolidado")
    for index, (_, width, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A4"
    bold = Font(bold=True)
    sheet.append([_cell(sheet, f"Consolidado de seguimiento de casos — {consolidado.direccion}", bold)])
    count = len(consolidado.filas)
    parts = [
        f"Generado el {fecha_hora(consolidado.generado_el)}",
        consolidado.periodo,
        f"{count} caso{'' if count == 1 else 's'}",
    ]
    generated = " · ".join(part for part in parts if part)  # no period on a consolidado asked for by hand
    sheet.append([_cell(sheet, generated)])
    fill = PatternFill("solid", fgColor="DCE6F2")
    sheet.append([_cell(sheet, header, bold, fill) for header, _, _ in COLUMNS])
    wrap = Alignment(wrap_text=True, vertical="top")
    for fila in consolidado.filas:
        sheet.append([_cell(sheet, value(fila), alignment=wrap) for _, _, value in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet, value, font=None, fill=None, alignment=None):
    """A cell of the spreadsheet; text is always stored as text.

    openpyxl writes a string that starts with ``=`` as a formula, and a spreadsheet program may run
    one that starts with ``+``, ``-``, ``@``, tab or CR: a resumen or an asunto is the citizen's
    words, so it is typed as a string, unchanged and never a formula (OWASP's CSV injection).
    """
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def merge_pdfs(pdfs: list[bytes]) -> bytes:
    """One PDF with the pages of every PDF given, in order."""
    writer = PdfWriter()
    for content in pdfs:
        writer.append(io.BytesIO(content))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
