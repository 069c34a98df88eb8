"""Staff pages speak the office's words: labels instead of codes, plurals that agree, no escapes
or developer jargon (issue 18, «Codes and jargon»)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import func, select

from engine.db.models import Case
from tests.web.conftest import html, start_case, task_id, to_approval
from tests.web.test_captura import CALL

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
# Words of the diagrams' machinery: an operator reads the instructions, not the diagram's XML.
JARGON = ("multiinstancia", "multi-instancia", "multiinstance", "gateway")


def remitted(store, browser) -> int:
    operador = browser("operador")
    case_id = start_case(operador, asunto="Acera rota frente a la escuela")
    to_approval(store, operador, case_id)
    coordinador = browser("coordinador")
    response = coordinador.post(
        "/documentos/aprobaciones", {"tarea": [task_id(store, case_id, "Aprobar hoja de trámite")]}
    )
    assert response.status_code == 200, html(response)
    return case_id


def test_the_auditors_case_trail_shows_labels_not_codes(browser):
    page = html(browser("auditor").get("/auditoria/casos/1"))  # a demo case: correo, queja, Bella Vista
    changes = " ".join(re.findall(r'<span class="despues">(.*?)</span>', page))
    assert "Correo electrónico" in changes and "Queja o reclamo" in changes and "Bella Vista" in changes
    for code in ("correo_electronico", "queja_reclamo", "bella_vista"):
        assert code not in changes


def test_the_audit_log_shows_accents_not_json_escapes(browser):
    page = html(browser("auditor").get("/auditoria/"))
    assert "Versión inicial (datos de demostración)" in page  # the deploy's note, with its accents
    assert "\\u00" not in page


def test_an_archive_of_one_hoja_says_la_hoja(store, browser):
    remitted(store, browser)
    page = html(browser("operador").get("/documentos/archivo?direccion=planificacion_urbana&mes=2026-03"))
    assert "Descargar la hoja del mes en PDF" in page
    assert "las 1 hojas" not in page


def test_the_consolidado_header_has_no_empty_parts_and_agrees_in_number(store, browser):
    remitted(store, browser)
    response = browser("operador").get("/documentos/consolidado/planificacion_urbana.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    text = re.sub(r"\s+", " ", text)
    assert "· ·" not in text
    assert "1 caso" in text and "1 casos" not in text
    assert "1 casos" not in html(browser("operador").get("/documentos/consolidado?direccion=planificacion_urbana"))


def test_task_instructions_carry_no_developer_words():
    for diagram in sorted(PROCESSES.glob("*.bpmn")):
        for instructions in re.findall(r"<bpmn:documentation>(.*?)</bpmn:documentation>", diagram.read_text(), re.S):
            for word in JARGON:
                assert word not in instructions.lower(), f"{diagram.name}: «{word}» in «{instructions[:80]}…»"


def test_the_case_record_names_the_channel_a_diagram_sets(store, browser):
    operador = browser("operador")
    response = operador.post("/captura/llamada", CALL)
    assert response.status_code == 302, html(response)
    with store.read() as s:
        case_id = s.scalar(select(func.max(Case.id)))
    record = html(operador.get(f"/casos/{case_id}")).split("Datos del caso", 1)[1]
    assert "Llamada telefónica" in record  # the canal the call procedure's start event records
    assert ">telefono<" not in record.replace(" ", "").replace("\n", "")
