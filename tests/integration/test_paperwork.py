"""Service tasks make paper and mail inside the engine step: the hoja, its remission, the reminder,
the answer to the citizen and the consolidado, on a small diagram of tests/fixtures/paperwork.py."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from engine.audit import chain as audit_chain
from engine.audit import trail as audit
from engine.bpm.runtime import Runtime
from engine.db.models import AuditEvent, Case, Document, OutboxMessage
from engine.errors import DiagramError
from engine.facade import Atiende
from engine.paperwork import consolidado
from engine.settings import MailSettings, Settings
from tests.fixtures import paperwork as pw
from tests.fixtures.paperwork import Office, pdf_text


def test_approval_remits_the_hoja_as_a_pdf_to_the_direccions_enlaces_in_the_same_step(office):
    case_id = office.start()
    office.do(case_id, "hoja", pw.HOJA, pw.OPERADOR)
    assert office.rows(OutboxMessage) == [] and office.rows(Document) == []

    office.do(case_id, "aprobar", {"decision_hoja": "aprobar", "comentarios_aprobacion": "Conforme."}, pw.COORDINADOR)

    [hoja] = office.rows(Document, kind="hoja_de_tramite")
    [message] = office.rows(OutboxMessage)
    ticket = office.rows(Case)[0].ticket
    assert (hoja.case_id, hoja.direccion, hoja.content_type) == (case_id, "planificacion_urbana", "application/pdf")
    assert message.recipients == ["elena@planificacion.example", "nusta@planificacion.example"]
    assert message.state == "pendiente" and message.kind == "remision_hoja"
    assert [a.document_id for a in message.attachments] == [hoja.id]
    assert ticket in message.subject and "Dirección de Planificación Urbana" in message.subject
    assert f"/acuse/{ticket}" in message.body
    kinds = [e.kind for e in office.rows(AuditEvent, case_id=case_id)]
    assert kinds.index("tarea_completada") < kinds.index("documento_generado") < kinds.index("correo_en_cola")
    assert office.task(case_id, "acuse") is not None


def test_links_and_the_sender_come_from_the_process_settings(office, frozen_clock):
    configured = Settings(base_url="https://atiende.municipio-pma.gob.pa", smtp=MailSettings(sender="311@pma.example"))
    elsewhere = Office(Atiende(office.store, frozen_clock, settings=configured), frozen_clock)
    case_id = elsewhere.start()
    elsewhere.remit(case_id)
    [message] = elsewhere.rows(OutboxMessage)
    ticket = elsewhere.rows(Case)[0].ticket
    assert f"https://atiende.municipio-pma.gob.pa/acuse/{ticket}" in message.body
    assert message.sender == "311@pma.example" and "@pma.example>" in message.message_id
    [hoja] = elsewhere.rows(Document, kind="hoja_de_tramite")
    assert f"https://atiende.municipio-pma.gob.pa/acuse/{ticket}" in "".join(
        pdf_text(elsewhere.content(hoja.id)).split()
    )


def test_the_hoja_says_what_the_direccion_needs_and_has_the_acuse_box(office):
    case_id = office.start()
    office.remit(case_id)
    [hoja] = office.rows(Document, kind="hoja_de_tramite")
    pages = PdfReader(io.BytesIO(office.content(hoja.id))).pages
    text = pdf_text(office.content(hoja.id))
    ticket = office.rows(Case)[0].ticket

    assert len(pages) == 1
    assert abs(float(pages[0].mediabox.width) - 612) < 1 and abs(float(pages[0].mediabox.height) - 792) < 1  # letter
    flat = " ".join(text.split())
    for expected in (
        "HOJA DE TRÁMITE",
        ticket,
        "Fecha: 02/03/2026",
        "Para Dirección de Planificación Urbana",
        "Elena Enlace Ábrego (elena@planificacion.example)",
        "Ñusta Núñez",
        "Tipo de caso Queja o reclamo",
        "Basura sin recoger en la calle 50",
        "el camión no pasa desde hace dos semanas",
        "frente a la parada de la calle 50",
        "Corregimiento Bella Vista",
        "Prioridad Alta",
        "Aprobada por Carlos Coordinador",
        "Fecha de aprobación 02/03/2026",
        "Conforme, remítase.",
        "ACUSE DE RECIBO",
        "Recibido por",
        "Firma y sello",
        "01/04/2026",
    ):
        assert expected in flat, expected
    assert f"http://127.0.0.1:5000/acuse/{ticket}" in "".join(text.split())  # the QR's address, printed too


def test_a_returned_hoja_goes_back_to_the_operator_and_nothing_is_sent(office):
    case_id = office.start()
    office.do(case_id, "hoja", pw.HOJA, pw.OPERADOR)
    office.do(
        case_id,
        "aprobar",
        {"decision_hoja": "devolver", "comentarios_aprobacion": "Falta la ubicación."},
        pw.COORDINADOR,
    )
    assert office.task(case_id, "hoja") is not None
    assert office.rows(OutboxMessage) == [] and office.rows(Document) == []


def test_a_step_that_fails_after_the_effects_leaves_no_hoja_and_no_mail(office, monkeypatch):
    case_id = office.start()
    office.do(case_id, "hoja", pw.HOJA, pw.OPERADOR)
    approval = office.task(case_id, "aprobar")

    def broken(*args, **kwargs):
        raise RuntimeError("falla simulada al proyectar las tareas")

    monkeypatch.setattr(Runtime, "_project_tasks", staticmethod(broken))
    with pytest.raises(RuntimeError):
        office.atiende.complete_task(approval.id, {"decision_hoja": "aprobar"}, pw.COORDINADOR)
    monkeypatch.undo()

    assert office.rows(OutboxMessage) == [] and office.rows(Document) == []
    assert office.task(case_id, "aprobar").id == approval.id  # still waiting, as if nothing happened
    office.atiende.complete_task(approval.id, {"decision_hoja": "aprobar"}, pw.COORDINADOR)
    assert len(office.rows(OutboxMessage)) == 1 and len(office.rows(Document)) == 1


def test_a_direccion_without_an_enlace_email_keeps_the_message_as_failed_with_the_reason(office):
    case_id = office.start()
    office.remit(case_id, direccion="obras_construcciones")
    [message] = office.rows(OutboxMessage)
    assert message.state == "fallido" and message.recipients == []
    assert "Dirección de Obras y Construcciones no tiene coordinador de enlace" in message.last_error


def test_the_acuse_reminder_comes_after_the_days_set_in_the_diagram(office):
    office.deploy(dias_acuse=2)
    case_id = office.start()
    office.remit(case_id)
    office.clock.advance(days=1, hours=23)
    office.atiende.run_timer_sweep()
    assert office.task(case_id, "reclamar") is None and len(office.rows(OutboxMessage)) == 1

    office.clock.advance(hours=2)
    office.atiende.run_timer_sweep()
    reminder = office.rows(OutboxMessage)[-1]
    assert office.task(case_id, "reclamar").lane == "operador"
    assert reminder.kind == "recordatorio_acuse" and "El 02/03/2026 le remitimos la hoja" in reminder.body
    [hoja] = office.rows(Document)
    assert [a.document_id for a in reminder.attachments] == [hoja.id]  # the same hoja, again
    assert office.task(case_id, "acuse") is not None  # the enlace can still confirm


def test_changing_n_in_the_diagram_changes_when_the_reminder_comes(office):
    office.deploy(dias_acuse=5)
    case_id = office.start()
    office.remit(case_id)
    office.clock.advance(days=3)
    office.atiende.run_timer_sweep()
    assert office.task(case_id, "reclamar") is None
    office.clock.advance(days=2, minutes=1)
    office.atiende.run_timer_sweep()
    assert office.task(case_id, "reclamar") is not None


def test_the_answer_reaches_the_citizen_by_email_from_the_approved_template_with_the_ticket(office):
    case_id = office.start()
    office.remit(case_id)
    office.do(case_id, "acuse", pw.ACUSE, pw.ENLACE)
    office.do(case_id, "respuesta", {"respuesta_final": "El camión recolector pasará lunes y jueves."}, pw.OPERADOR)
    answer = office.rows(OutboxMessage)[-1]
    ticket = office.rows(Case)[0].ticket
    assert answer.kind == "respuesta_ciudadano" and answer.recipients == ["maria.perez@example.com"]
    assert ticket in answer.subject and ticket in answer.body
    assert "Estimado(a) María Pérez" in answer.body and "pasará lunes y jueves" in answer.body
    assert office.rows(Case)[0].status == "en seguimiento"


def test_a_case_without_email_gets_no_message_and_the_diagram_learns_why(office):
    case_id = office.start(ciudadano_email="")
    office.remit(case_id)
    office.do(case_id, "acuse", pw.ACUSE, pw.ENLACE)
    office.do(case_id, "respuesta", {"respuesta_final": "Resuelto."}, pw.OPERADOR)
    assert [m.kind for m in office.rows(OutboxMessage)] == ["remision_hoja"]


def test_the_consolidado_lists_open_remitted_cases_of_its_direccion_in_xlsx_and_pdf(office):
    first, second = office.start(), office.start(asunto="Luminaria apagada")
    other, unsent = office.start(), office.start()
    office.remit(first)
    office.clock.advance(days=3)
    office.remit(second, resumen="Luminaria apagada frente al parque; ¿reparación?")
    office.remit(other, direccion="gestion_ambiental")
    office.do(first, "acuse", pw.ACUSE, pw.ENLACE)
    office.clock.advance(days=2)

    office.atiende.start_case("consolidado", {"direccion": "planificacion_urbana"}, pw.OPERADOR)

    message = office.rows(OutboxMessage)[-1]
    assert message.kind == "consolidado" and message.recipients == [
        "elena@planificacion.example",
        "nusta@planificacion.example",
    ]
    xlsx, pdf = (office.content(a.document_id) for a in message.attachments)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Consolidado de seguimiento de casos — Dirección de Planificación Urbana"
    assert values[2] == (
        "Ticket",
        "Fecha",
        "Tipo de caso",
        "Resumen",
        "Estado",
        "Días transcurridos",
        "Días restantes",
        "Último seguimiento",
        "Fecha del seguimiento",
    )
    tickets = {c.id: c.ticket for c in office.rows(Case)}
    body = values[3:]
    assert [row[0] for row in body] == [tickets[first], tickets[second]]  # not the other dirección, not unsent
    assert body[1][1:7] == (
        "02/03/2026",
        "Queja o reclamo",
        "Luminaria apagada frente al parque; ¿reparación?",
        "En seguimiento",
        5,
        25,
    )
    assert tickets[unsent] not in pdf_text(pdf)
    text = pdf_text(pdf)
    assert "CONSOLIDADO DE SEGUIMIENTO DE CASOS" in text and tickets[second] in text and "¿reparación?" in text


@pytest.mark.parametrize("detail", [[1, 2], {"datos": "texto"}, "texto"], ids=["list", "datos-not-object", "string"])
def test_a_completion_whose_detail_has_another_shape_leaves_the_consolidado_whole(office, store, detail):
    case_id = office.start()
    office.remit(case_id)
    with store.unit_of_work() as s:  # as a detail written by hand in the database would read
        audit.record(s, office.clock.now(), "enlace", "tarea_completada", case_id=case_id, detail=detail)
    with store.read() as s:
        [fila] = consolidado.build(s, "planificacion_urbana", office.clock.now(), "semanal").filas
    assert fila.fecha_ultimo_seguimiento is None


def record_follow_up(s, office, case_id: int, avance: str) -> None:
    """A follow-up the enlace completed, as the real procedure's form records it."""
    audit.record(
        s,
        office.clock.now(),
        "enlace",
        "tarea_completada",
        case_id=case_id,
        detail={"datos": {"avance_semanal": avance}},
    )


def test_the_consolidado_shows_the_last_follow_up_the_enlace_gave(office, store):
    case_id = office.start()
    office.remit(case_id)
    office.clock.advance(days=7)
    with store.unit_of_work() as s:
        record_follow_up(s, office, case_id, "Inspección programada para el jueves.")
        case = s.get(Case, case_id)
        case.data = {**case.data, "avance_semanal": "Inspección programada para el jueves."}
    with store.read() as s:
        [fila] = consolidado.build(s, "planificacion_urbana", office.clock.now() + timedelta(days=1), "semanal").filas
    assert fila.ultimo_seguimiento == "Inspección programada para el jueves."
    assert fila.fecha_ultimo_seguimiento == office.clock.now()
    assert (fila.dias_transcurridos, fila.dias_restantes) == (8, 22)


def test_a_consolidado_built_in_a_transaction_counts_its_waiting_follow_ups_and_leaves_the_chain_alone(office, store):
    """Built inside a step (a service task's document), the consolidado reads that transaction's own
    follow-ups where they wait: writing them first would take the audit chain's lock before the
    step's own writes, which every other writer's commit would then wait behind."""
    case_id = office.start()
    office.remit(case_id)
    office.clock.advance(days=2)
    with store.unit_of_work() as s:
        record_follow_up(s, office, case_id, "Cuadrilla asignada.")
        [fila] = consolidado.build(s, "planificacion_urbana", office.clock.now(), "semanal").filas
        assert fila.fecha_ultimo_seguimiento == office.clock.now()
        assert [e["kind"] for e in audit_chain.pending(s)] == ["tarea_completada"]  # not written: no lock taken
    with store.read() as s:  # it went in with the commit, chained
        details = s.scalars(select(AuditEvent.detail).where(AuditEvent.case_id == case_id)).all()
        assert {"datos": {"avance_semanal": "Cuadrilla asignada."}} in details
        assert audit_chain.verify(s).intact


def test_a_service_task_cannot_name_an_unknown_operator_or_reach_python(office):
    bad_name = pw.operator("borrar_todo", {})
    escape = pw.operator("remitir_hoja_de_tramite", {"direccion": "__import__('os').getcwd()"})
    missing = pw.operator("responder_ciudadano", {"texto": "respuesta_final"})
    no_template = pw.operator("responder_ciudadano", {"plantilla": "'no_existe'"})
    with pytest.raises(DiagramError) as raised:
        office.atiende.deploy({"t.bpmn": pw.tramite(remitir=bad_name, responder=missing)}, pw.FORMS, "analista")
    messages = [p.message for p in raised.value.problems]
    assert any("operador desconocido «borrar_todo»" in m for m in messages)
    assert any("le falta el parámetro «plantilla»" in m for m in messages)
    with pytest.raises(DiagramError) as raised:
        office.atiende.deploy({"t.bpmn": pw.tramite(remitir=escape, responder=no_template)}, pw.FORMS, "analista")
    messages = [str(p) for p in raised.value.problems]
    assert any("remitir" in m and "no es una expresión permitida" in m for m in messages)
    assert any("no existe la plantilla de correo «no_existe»" in m for m in messages)


def test_only_the_channels_the_diagram_names_are_answered_by_email(office):
    office.deploy(
        responder=pw.operator(
            "responder_ciudadano",
            {
                "plantilla": "'respuesta_final'",
                "texto": "respuesta_final",
                "canales": "['correo_electronico', 'pagina_web']",
            },
        )
    )
    by_phone, by_web = office.start(canal="telefono"), office.start(canal="pagina_web")
    for case_id in (by_phone, by_web):
        office.remit(case_id)
        office.do(case_id, "acuse", pw.ACUSE, pw.ENLACE)
        office.do(case_id, "respuesta", {"respuesta_final": "Atendido."}, pw.OPERADOR)
    answers = [m for m in office.rows(OutboxMessage) if m.kind == "respuesta_ciudadano"]
    assert [m.case_id for m in answers] == [by_web]


def test_a_hoja_approved_after_a_return_prints_the_approval_not_the_return(office):
    case_id = office.start()
    office.do(case_id, "hoja", pw.HOJA, pw.OPERADOR)
    office.do(
        case_id,
        "aprobar",
        {"decision_hoja": "devolver", "comentarios_aprobacion": "Falta la ubicación."},
        pw.COORDINADOR,
    )
    office.do(case_id, "hoja", {**pw.HOJA, "resumen": "Camión no pasa; calle 50 frente a la parada."}, pw.OPERADOR)
    office.do(case_id, "aprobar", {"decision_hoja": "aprobar"}, pw.COORDINADOR)
    [hoja] = office.rows(Document)
    text = " ".join(pdf_text(office.content(hoja.id)).split())
    assert "calle 50 frente a la parada" in text and "Falta la ubicación" not in text
