"""Paperwork pages on the real procedures: approving many, the outbox, the acuse by QR and on paper,
the archive and the consolidado — each with its role checks."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from engine.db.models import AuditEvent, Case, Document, OutboxMessage
from engine.paperwork import acuse
from tests.web.conftest import html, start_case, task_id, to_approval


def ticket_of(store, case_id: int) -> str:
    with store.read() as s:
        return s.get(Case, case_id).ticket


def outbox(store) -> list[OutboxMessage]:
    with store.read() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def awaiting_approval(store, browser, n: int) -> list[int]:
    operador = browser("operador")
    cases = [start_case(operador, asunto=f"Acera rota número {i}") for i in range(n)]
    for case_id in cases:
        to_approval(store, operador, case_id)
    return cases


def remitted(store, browser) -> int:
    [case_id] = awaiting_approval(store, browser, 1)
    coordinador = browser("coordinador")
    response = coordinador.post(
        "/documentos/aprobaciones", {"tarea": [task_id(store, case_id, "Aprobar hoja de trámite")]}
    )
    assert response.status_code == 200, html(response)
    return case_id


def test_the_coordinator_approves_several_hojas_at_once_and_each_is_remitted(store, browser):
    first, second, third = awaiting_approval(store, browser, 3)
    coordinador = browser("coordinador")
    page = html(coordinador.get("/documentos/aprobaciones"))
    assert all(ticket_of(store, c) in page for c in (first, second, third))
    chosen = [task_id(store, c, "Aprobar hoja de trámite") for c in (first, second)]

    response = coordinador.post("/documentos/aprobaciones", {"tarea": chosen, "comentario": "Conforme."})

    assert response.status_code == 200
    page = html(response)
    assert "2 hojas aprobadas y remitidas" in page
    assert ticket_of(store, third) in page and ticket_of(store, first) not in page  # only the one left to approve
    assert [m.kind for m in outbox(store)] == ["remision_hoja", "remision_hoja"]
    assert outbox(store)[0].recipients == ["enlace@atiende.example"]
    with store.read() as s:
        approvals = list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.kind == "tarea_completada", AuditEvent.actor == "coordinador")
            )
        )
    assert sorted(e.case_id for e in approvals) == [first, second]  # one event per case
    assert all(e.detail["datos"]["comentarios_aprobacion"] == "Conforme." for e in approvals)

    again = coordinador.post(
        "/documentos/aprobaciones", {"tarea": [chosen[0], task_id(store, third, "Aprobar hoja de trámite")]}
    )
    page = html(again)
    assert "1 hoja aprobada y remitida" in page
    assert re.search(rf"{ticket_of(store, first)}: La tarea ya fue completada por coordinador", page)


def test_approving_from_the_list_is_for_coordinators_only(store, browser):
    [case_id] = awaiting_approval(store, browser, 1)
    approval = task_id(store, case_id, "Aprobar hoja de trámite")
    for username in ("operador", "enlace", "auditor"):
        someone = browser(username)
        assert someone.get("/documentos/aprobaciones").status_code == 403
        assert someone.client.post("/documentos/aprobaciones", data={"tarea": approval}).status_code in (400, 403)
    assert outbox(store) == []
    assert browser("coordinador").post("/documentos/aprobaciones", {}).status_code == 422


def test_the_outbox_shows_every_message_and_its_state_to_staff_only(store, browser):
    case_id = remitted(store, browser)
    [message] = outbox(store)
    for username in ("operador", "coordinador", "auditor"):
        page = html(browser(username).get("/documentos/correo"))
        assert message.subject in page and "Pendiente de envío" in page
        assert "No hay un servidor de correo configurado" in page
    detail = html(browser("auditor").get(f"/documentos/correo/{message.id}"))
    assert "enlace@atiende.example" in detail and ticket_of(store, case_id) in detail
    assert f"hoja_de_tramite_{ticket_of(store, case_id)}.pdf" in detail and "Reenviar" not in detail
    assert browser("enlace").get("/documentos/correo").status_code == 403
    assert (
        browser("auditor").post(f"/documentos/correo/{message.id}/reenviar", {}, page="/documentos/correo").status_code
        == 403
    )


def test_the_qr_code_takes_the_direccions_enlace_to_the_acuse_task(store, browser):
    case_id = remitted(store, browser)
    ticket = ticket_of(store, case_id)
    anonymous = browser()
    assert "/ingresar" in anonymous.get(f"/acuse/{ticket}").headers["Location"]

    response = browser("enlace").get(f"/acuse/{ticket}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tareas/{task_id(store, case_id, 'Confirmar acuse de recibo')}")
    assert browser("enlace_ambiental").get(f"/acuse/{ticket}").status_code == 403
    page = html(browser("operador").get(f"/acuse/{ticket}"))
    assert "pendiente" in page and "Registrar el acuse firmado en papel" in page

    enlace = browser("enlace")
    done = enlace.post(
        f"/tareas/{task_id(store, case_id, 'Confirmar acuse de recibo')}",
        {"recibido_por": "Elena Enlace", "fecha_recibo": "2026-03-03"},
    )
    assert done.status_code == 302
    page = html(browser("operador").get(f"/acuse/{ticket}"))
    assert "Recibida por <strong>Elena Enlace</strong> el 03/03/2026" in page


def test_the_operator_records_the_signed_paper_with_its_scan(store, browser):
    case_id = remitted(store, browser)
    operador = browser("operador")
    url = f"/documentos/acuse-en-papel/{case_id}"

    missing = operador.post(url, {"recibido_por": "Pedro Pérez", "fecha_recibo": "2026-03-04"})
    assert missing.status_code == 422 and "Adjunte el escaneo" in html(missing)
    not_a_scan = operador.post(
        url,
        {
            "recibido_por": "Pedro Pérez",
            "fecha_recibo": "2026-03-04",
            "escaneo": (io.BytesIO(b"MZ\x90\x00 ejecutable"), "acuse.pdf"),
        },
    )
    assert not_a_scan.status_code == 422 and "no es un tipo de archivo aceptado" in html(not_a_scan)
    with store.read() as s:
        assert acuse.pending_task(s, case_id) is not None  # nothing recorded yet

    scan = b"%PDF-1.4\n% acuse firmado\n%%EOF\n"
    response = operador.post(
        url,
        {
            "recibido_por": "Pedro Pérez",
            "fecha_recibo": "2026-03-04",
            "escaneo": (io.BytesIO(scan), "acuse firmado.pdf"),
        },
    )
    assert response.status_code == 302
    with store.read() as s:
        assert acuse.pending_task(s, case_id) is None
        received = acuse.received(s, case_id)
        paper = s.scalar(select(AuditEvent).where(AuditEvent.kind == "acuse_en_papel"))
    assert (received.received_by, received.received_on, received.recorded_by, received.on_paper) == (
        "Pedro Pérez",
        "2026-03-04",
        "operador",
        True,
    )
    assert browser("operador").get(f"/casos/adjuntos/{paper.detail['adjunto']}").get_data() == scan
    assert "registrado en papel por operador" in html(browser("coordinador").get(f"/acuse/{ticket_of(store, case_id)}"))
    assert browser("enlace").get(url).status_code == 403
    assert browser("coordinador").get(url).status_code == 403


def test_the_archive_lists_a_months_hojas_and_gives_them_as_one_pdf(store, browser):
    cases = awaiting_approval(store, browser, 2)
    coordinador = browser("coordinador")
    coordinador.post(
        "/documentos/aprobaciones", {"tarea": [task_id(store, c, "Aprobar hoja de trámite") for c in cases]}
    )
    operador = browser("operador")
    page = html(operador.get("/documentos/archivo?direccion=planificacion_urbana&mes=2026-03"))
    first, second = (ticket_of(store, c) for c in cases)
    assert first in page and second in page and page.index(first) < page.index(second)
    assert "No se remitieron" in html(operador.get("/documentos/archivo?direccion=planificacion_urbana&mes=2026-02"))

    response = operador.get("/documentos/archivo/planificacion_urbana/2026-03.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    assert len(reader.pages) == 2
    assert first in reader.pages[0].extract_text() and second in reader.pages[1].extract_text()
    assert operador.get("/documentos/archivo/planificacion_urbana/2026-02.pdf").status_code == 404

    enlace = browser("enlace")
    assert first in html(enlace.get("/documentos/archivo?mes=2026-03"))  # their own dirección
    assert browser("enlace_ambiental").get("/documentos/archivo/planificacion_urbana/2026-03.pdf").status_code == 403
    assert first not in html(browser("enlace_ambiental").get("/documentos/archivo?direccion=planificacion_urbana"))


def test_the_consolidado_downloads_as_xlsx_and_pdf(store, browser):
    case_id = remitted(store, browser)
    ticket = ticket_of(store, case_id)
    operador = browser("operador")
    assert ticket in html(operador.get("/documentos/consolidado?direccion=planificacion_urbana"))
    xlsx = operador.get("/documentos/consolidado/planificacion_urbana.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.get_data())).active.iter_rows(values_only=True))
    assert rows[3][0] == ticket and rows[3][3] == "Acera rota frente a la escuela." and rows[3][4] == "En seguimiento"
    pdf = operador.get("/documentos/consolidado/planificacion_urbana.pdf")
    assert ticket in PdfReader(io.BytesIO(pdf.get_data())).pages[0].extract_text()
    assert browser("enlace_ambiental").get("/documentos/consolidado/planificacion_urbana.xlsx").status_code == 403
    assert browser("analista").get("/documentos/consolidado?direccion=planificacion_urbana").status_code == 403


@pytest.mark.parametrize(
    "username,status",
    [("operador", 200), ("auditor", 200), ("enlace", 200), ("enlace_ambiental", 403), ("analista", 403)],
)
def test_a_hoja_is_downloaded_by_who_may_read_its_case(store, browser, username, status):
    remitted(store, browser)
    [message] = outbox(store)
    document_id = message.attachments[0].document_id
    response = browser(username).get(f"/documentos/{document_id}")
    assert response.status_code == status
    if status == 200:
        assert response.get_data().startswith(b"%PDF")


def test_a_hoja_is_rendered_when_it_is_first_downloaded(store, browser):
    case_id = remitted(store, browser)
    [message] = outbox(store)
    document_id = message.attachments[0].document_id
    assert "en preparación" in html(browser("operador").get(f"/casos/{case_id}"))
    assert browser("enlace_ambiental").get(f"/documentos/{document_id}").status_code == 403
    with store.read() as s:
        assert s.get(Document, document_id).content is None  # a refused reader makes nothing

    response = browser("operador").get(f"/documentos/{document_id}")

    assert response.status_code == 200
    content = response.get_data()
    assert ticket_of(store, case_id) in PdfReader(io.BytesIO(content)).pages[0].extract_text()
    with store.read() as s:
        document = s.get(Document, document_id)
        rendered = s.scalar(select(AuditEvent).where(AuditEvent.kind == "documento_renderizado"))
        assert (document.content, document.sha256) == (content, hashlib.sha256(content).hexdigest())
    assert rendered.detail["documento"] == document_id and rendered.case_id == case_id
    page = html(browser("operador").get(f"/casos/{case_id}"))
    assert "en preparación" not in page and "Documento listo para descargar" in page
    assert browser("auditor").get(f"/documentos/{document_id}").get_data() == content  # stored: the same bytes


def test_the_case_page_lists_its_hoja_and_leads_to_its_acuse(store, browser):
    case_id = remitted(store, browser)
    ticket = ticket_of(store, case_id)
    page = html(browser("operador").get(f"/casos/{case_id}"))
    assert f"hoja_de_tramite_{ticket}.pdf" in page and f"/acuse/{ticket}" in page


def test_the_case_page_lists_the_cases_documents_to_those_who_read_papers(store, browser):
    """Read with the rest of the case's file (engine.cases.expediente), shown by role (PAPER_READERS)."""
    case_id = remitted(store, browser)
    ticket = ticket_of(store, case_id)
    with store.read() as s:
        [hoja] = s.scalars(select(Document).where(Document.case_id == case_id)).all()
    for username in ("operador", "auditor"):
        page = html(browser(username).get(f"/casos/{case_id}"))
        assert f'href="/documentos/{hoja.id}">hoja_de_tramite_{ticket}.pdf</a>' in page
        assert f'href="/acuse/{ticket}"' in page
    page = html(browser("defensa").get(f"/casos/{case_id}"))  # reads cases, not their papers
    assert ticket in page and f'href="/documentos/{hoja.id}"' not in page and f'href="/acuse/{ticket}"' not in page
