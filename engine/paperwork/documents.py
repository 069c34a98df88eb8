"""The office's papers as files: the hoja de trámite and the consolidado (PDF, letter size; XLSX).

Rendering only: callers gather the facts (``HojaDeTramite``, ``Consolidado``) and store the
bytes. The hoja's HTML template under ``engine/paperwork/documentos`` is rendered with Jinja2
(autoescaped: case text is the citizen's) and laid out by WeasyPrint with DejaVu fonts,
which cover á é í ó ú ñ ¿ ¡. Styles are inlined and WeasyPrint may fetch ``data:`` URIs only
(the QR code), so no text in a case can make the server read a file or open a URL. The
consolidado's long table is laid out by ``tabla_pdf`` (ReportLab) in the same fonts, as plain text.

The facts and the hoja's HTML need none of the layout libraries, and most processes that import
this module never lay out a document: the web server's are made in a child process
(``engine.paperwork.rendering.render_pending_apart``). So WeasyPrint, ReportLab and openpyxl are
imported by the functions that lay out with them, the first time one is called: imported here,
they made the web server's resident memory at rest a quarter larger (139 MB instead of 107).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.clock import PANAMA

if TYPE_CHECKING:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

TEMPLATES = Path(__file__).parent / "documentos"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


_fonts = threading.local()


def _font_config() -> FontConfiguration:
    """This thread's fonts for WeasyPrint, made once: one made per document (WeasyPrint's default)
    is never given back, and a server grew by about 0.2 MB a hoja; one kept stays about 18 MB.
    One per thread, as Pango's font maps are not shared between threads."""
    config = getattr(_fonts, "config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _fonts.config = FontConfiguration()
    return config


def _layout(template: str, **context) -> weasyprint.Document:
    import weasyprint

    html = _env.get_template(template).render(**context)
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).render(font_config=_font_config())


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
    """The consolidado as a landscape letter-size PDF table, the header row on every page.

    Laid out by ``tabla_pdf``, not WeasyPrint: 10,000 cases in seconds instead of minutes.
    """
    from engine.paperwork import tabla_pdf

    count = len(consolidado.filas)
    line = [consolidado.direccion, consolidado.periodo, f"generado el {fecha_hora(consolidado.generado_el)}"]
    heading = tabla_pdf.Heading(
        "Alcaldía de Panamá · Dirección de Atención al Ciudadano",
        "CONSOLIDADO DE SEGUIMIENTO DE CASOS",
        " · ".join([*filter(None, line), f"{count} {'caso' if count == 1 else 'casos'}"]),
    )
    return tabla_pdf.table_pdf(
        f"Consolidado de seguimiento · {consolidado.direccion}",
        heading,
        [tabla_pdf.Column(*column) for column in PDF_COLUMNS],
        (_pdf_row(fila, tabla_pdf.Flagged) for fila in consolidado.filas),
        "La dirección no tiene casos abiertos en seguimiento.",
        "Alcaldía de Panamá · Dirección de Atención al Ciudadano · Línea 311",
    )


PDF_COLUMNS = [  # (header, share of the width, numeric) of each ``tabla_pdf.Column``
    ("Ticket", 11, False),
    ("Fecha", 7.5, False),
    ("Tipo de caso", 10, False),
    ("Resumen", 21, False),
    ("Estado", 9.5, False),
    ("Días transcurridos", 9, True),
    ("Días restantes", 9, True),
    ("Último seguimiento", 18, False),
]


def _pdf_row(f: FilaConsolidado, flagged: Callable[[str], str]) -> list[str]:
    restantes = "—" if f.dias_restantes is None else str(f.dias_restantes)
    seguimiento = f.ultimo_seguimiento or "Sin seguimiento"
    if f.fecha_ultimo_seguimiento:
        seguimiento = f"{fecha(f.fecha_ultimo_seguimiento)}: {seguimiento}"
    return [
        f.ticket,
        fecha(f.fecha),
        f.tipo_caso,
        f.resumen,
        f.estado,
        str(f.dias_transcurridos),
        flagged(restantes) if f.dias_restantes is not None and f.dias_restantes < 0 else restantes,
        seguimiento,
    ]


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
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

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
    from openpyxl.cell import WriteOnlyCell

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
    """One PDF with the pages of every PDF given, in order.

    pypdf is imported here, by the archive's downloads alone: with its cryptography it was
    about 12 MB of every process that never merges a PDF."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for content in pdfs:
        writer.append(io.BytesIO(content))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
