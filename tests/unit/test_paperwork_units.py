"""Documents, mail templates and operators on their own, with no database."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import FileSystemLoader
from jinja2.sandbox import SecurityError
from openpyxl import load_workbook
from pypdf import PdfReader

from engine.bpm.scripting import operators
from engine.errors import MailTemplateError, OperatorError
from engine.mail import texts as mail_templates
from engine.paperwork import documents

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 10:30 in Panamá


def hoja(**changes) -> documents.HojaDeTramite:
    values = dict(
        ticket="AC-2026-000042",
        fecha=NOW,
        direccion="Dirección de Gestión Ambiental",
        enlaces=[documents.Persona("Ernesto Ñáñez", "ernesto@ambiente.example")],
        tipo_caso="Reporte",
        canal="Página web – Reporte Ciudadano",
        asunto="Lote baldío con maleza",
        prioridad="Normal",
        resumen="¿Quién limpia el lote? ¡Hay ratas! Vecinos de Pueblo Nuevo piden acción.",
        datos_ciudadano_y_lugar="José Rodríguez, 6123-4567, calle 12 con avenida Perú.",
        corregimiento="Pueblo Nuevo",
        lugar_notificaciones="jose.r@example.com",
        fecha_limite=NOW + timedelta(days=30),
        aprobada_por="Carlos Coordinador",
        aprobada_el=NOW,
        comentarios_aprobacion="",
        acuse_url="https://atiende.example/acuse/AC-2026-000042",
    )
    return documents.HojaDeTramite(**{**values, **changes})


def test_the_hoja_is_one_letter_page_in_spanish_with_dejavu_fonts():
    reader = PdfReader(io.BytesIO(documents.hoja_de_tramite_pdf(hoja())))
    [page] = reader.pages
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
    text = " ".join(page.extract_text().split())
    for expected in (
        "HOJA DE TRÁMITE",
        "AC-2026-000042",
        "¿Quién limpia el lote? ¡Hay ratas!",
        "Ernesto Ñáñez",
        "Fecha: 02/03/2026",
        "Fecha de aprobación 02/03/2026 10:30",
        "01/04/2026",
        "ACUSE DE RECIBO",
    ):
        assert expected in text, expected
    fonts = {str(f["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("DejaVu" in f for f in fonts), fonts
    assert page.get_contents().get_data().count(b" l\n") > 200, "the QR code is drawn (as vector lines)"


def test_case_text_is_printed_as_text_never_fetched():
    trap = '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://203.0.113.9/x.css">'
    text = PdfReader(io.BytesIO(documents.hoja_de_tramite_pdf(hoja(resumen=trap)))).pages[0].extract_text()
    assert "file:///etc/passwd" in text and "root:" not in text


def consolidado(n: int) -> documents.Consolidado:
    filas = [
        documents.FilaConsolidado(
            f"AC-2026-{i:06d}",
            NOW,
            "Queja o reclamo",
            "Basura sin recoger; ¿cuándo?",
            "En seguimiento",
            5,
            25 - i,
            "Inspección programada.",
            NOW,
        )
        for i in range(n)
    ]
    return documents.Consolidado("Dirección de Planificación Urbana", NOW, "Consolidado semanal", filas)


def test_the_consolidado_xlsx_reads_back_row_by_row():
    sheet = load_workbook(io.BytesIO(documents.consolidado_xlsx(consolidado(30)))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0].startswith("Generado el 02/03/2026 10:30 · Consolidado semanal · 30 casos")
    assert rows[3] == (
        "AC-2026-000000",
        "02/03/2026",
        "Queja o reclamo",
        "Basura sin recoger; ¿cuándo?",
        "En seguimiento",
        5,
        25,
        "Inspección programada.",
        "02/03/2026",
    )
    assert rows[-1][6] == -4 and len(rows) == 33


def test_the_consolidado_pdf_reads_as_one_document_over_many_pages():
    reader = PdfReader(io.BytesIO(documents.consolidado_pdf(consolidado(100))))
    texts = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert len(texts) >= 4 and all(round(float(p.mediabox.width)) == 792 for p in reader.pages)  # landscape
    assert all("Ticket Fecha Tipo de caso Resumen" in t for t in texts)  # the header on every page
    assert [f"Página {n}" in t for n, t in enumerate(texts, start=1)] == [True] * len(texts)  # numbered throughout
    assert sum(t.count("AC-2026-0000") for t in texts) == 100 and texts[0].count("CONSOLIDADO DE SEGUIMIENTO") == 1
    assert "CONSOLIDADO DE SEGUIMIENTO" not in " ".join(texts[1:])


def test_merging_keeps_every_page_in_order():
    one, two = (documents.hoja_de_tramite_pdf(hoja(ticket=t)) for t in ("AC-2026-000001", "AC-2026-000002"))
    pages = PdfReader(io.BytesIO(documents.merge_pdfs([one, two]))).pages
    assert ["AC-2026-000001" in p.extract_text() for p in pages] == [True, False]
    assert "AC-2026-000002" in pages[1].extract_text()


@pytest.fixture
def templates(tmp_path, monkeypatch):
    monkeypatch.setattr(mail_templates._env, "loader", FileSystemLoader(tmp_path))
    return tmp_path


def test_a_template_for_the_citizen_must_show_the_ticket(templates):
    (templates / "sin_ticket.txt").write_text("Asunto: Respuesta\n\nEstimado {{ ciudadano_nombre }}", encoding="utf-8")
    (templates / "con_ticket.txt").write_text(
        "Asunto: Caso {{ ticket }}\n\nHola {{ ciudadano_nombre }}:\n{{ texto }}", encoding="utf-8"
    )
    (templates / "sin_asunto.txt").write_text("Hola {{ ticket }}", encoding="utf-8")
    (templates / "roto.txt").write_text("Asunto: {{ ticket \n", encoding="utf-8")
    assert "debe mostrar el número de ticket" in mail_templates.problem("sin_ticket", needs_ticket=True)
    assert mail_templates.problem("sin_ticket") is None  # a mail to an enlace need not
    assert "debe empezar con «Asunto:" in mail_templates.problem("sin_asunto")
    assert "tiene un error" in mail_templates.problem("roto")
    assert "no existe" in mail_templates.problem("otra")
    filled = {"ticket": "AC-2026-000007", "ciudadano_nombre": "Ana", "texto": "Listo."}
    subject, body = mail_templates.render("con_ticket", filled, needs_ticket=True)
    assert (subject, body) == ("Caso AC-2026-000007", "Hola Ana:\nListo.")
    with pytest.raises(MailTemplateError):
        mail_templates.render("sin_ticket", {"ticket": "AC-2026-000007"}, needs_ticket=True)


def test_a_template_is_checked_again_when_its_file_changes(templates):
    path = templates / "respuesta.txt"
    path.write_text("Asunto: Caso {{ ticket }}\n\n{{ texto }}", encoding="utf-8")
    assert mail_templates.problem("respuesta", needs_ticket=True) is None
    assert mail_templates.problem("respuesta", needs_ticket=True) is None  # the kept verdict
    path.write_text("Asunto: Respuesta\n\n{{ texto }}", encoding="utf-8")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))  # a later edit, whatever the clock's grain
    assert "debe mostrar el número de ticket" in mail_templates.problem("respuesta", needs_ticket=True)
    path.unlink()
    assert "no existe" in mail_templates.problem("respuesta", needs_ticket=True)


def test_an_edited_template_cannot_reach_python(templates):
    (templates / "malicioso.txt").write_text(
        "Asunto: x\n\n{{ ticket.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8"
    )
    with pytest.raises(SecurityError):
        mail_templates.render("malicioso", {"ticket": "AC-2026-000001"})


def test_the_shipped_templates_are_valid_and_the_citizens_shows_the_ticket():
    assert {"remision_hoja", "recordatorio_acuse", "consolidado", "respuesta_final"} <= set(mail_templates.names())
    assert all(mail_templates.problem(name) is None for name in mail_templates.names())
    assert mail_templates.problem("respuesta_final", needs_ticket=True) is None


def test_operators_only_describe_what_should_happen():
    data = {
        "ticket": "AC-2026-000003",
        "direccion": "gestion_ambiental",
        "resumen": "Lote con maleza",
        "ciudadano_email": "ana@example.com",
        "canal": "correo_electronico",
        "respuesta_final": "Se limpió.",
    }
    result, effects = operators.run("remitir_hoja_de_tramite", data, {})
    assert result == {"direccion": "gestion_ambiental", "hoja": "hoja_de_tramite"}
    assert [type(e).__name__ for e in effects] == ["Documento", "Correo"]
    assert effects[1].adjuntos == ("hoja_de_tramite",) and effects[1].plantilla == "remision_hoja"
    result, effects = operators.run(
        "responder_ciudadano",
        {**data, "canal": "telefono"},
        {"plantilla": "respuesta_final", "canales": ["correo_electronico"]},
    )
    assert result["enviada_por_correo"] is False and effects == []
    with pytest.raises(OperatorError, match="operador desconocido"):
        operators.run("ejecutar_comando", data, {})
    with pytest.raises(OperatorError, match="faltan parámetros: plantilla"):
        operators.run("responder_ciudadano", data, {})
    with pytest.raises(OperatorError, match="no indica la dirección"):
        operators.run("remitir_hoja_de_tramite", {"ticket": "AC-2026-000003"}, {})
