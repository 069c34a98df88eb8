"""The paperwork wired into the real common procedure (processes/tramitacion_comun.bpmn)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.access.accounts import create_user
from engine.db.models import Document, OutboxMessage
from engine.paperwork import rendering


@pytest.fixture
def enlace(store):
    with store.unit_of_work() as s:
        create_user(
            s,
            "enlace",
            "Elena Enlace",
            "x",
            ["enlace"],
            email="elena@planificacion.example",
            direccion="planificacion_urbana",
        )
        create_user(s, "coordinador", "Carlos Coordinador", "x", ["coordinador"])


def messages(store) -> list[OutboxMessage]:
    with store.read() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_case_by_email_gets_its_hoja_sent_a_reminder_and_the_answer_by_email(desk, store, enlace):
    case_id = desk.start()
    template = next(t for t in desk.ready(case_id) if t.startswith("Task_plantilla_"))
    desk.do(case_id, template)
    desk.do(case_id, "Task_confeccionar_hoja")
    assert messages(store) == []
    desk.do(case_id, "Task_aprobar_hoja")

    [remision] = messages(store)
    ticket = desk.case(case_id).ticket
    assert remision.kind == "remision_hoja" and remision.recipients == ["elena@planificacion.example"]
    with store.read() as s:
        hoja_id = s.scalar(select(Document.id).where(Document.case_id == case_id))
    [content] = rendering.contents(store, [hoja_id])  # as the outbox worker or a download renders it
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert ticket in text and "Elena Enlace" in text and "Carlos Coordinador" in text and "ACUSE DE RECIBO" in text
    assert desk.ready(case_id) == ["Task_acuse_recibo"]
    assert desk.case(case_id).status == "en seguimiento"

    desk.wait(days=3, minutes=1)
    assert desk.ready(case_id) == ["Task_acuse_recibo", "Task_reclamar_acuse"]
    assert [m.kind for m in messages(store)] == ["remision_hoja", "recordatorio_acuse"]
    desk.do(case_id, "Task_reclamar_acuse")
    desk.do(case_id, "Task_acuse_recibo")
    assert desk.ready(case_id) == ["Task_respuesta_final"]

    desk.do(case_id, "Task_respuesta_final", respuesta_final="Se restableció la recolección los lunes.")
    answer = messages(store)[-1]
    assert answer.kind == "respuesta_ciudadano" and answer.recipients == ["maria.perez@example.com"]
    assert ticket in answer.subject and "Se restableció la recolección los lunes." in answer.body
    assert desk.case(case_id).status == "cerrado"
