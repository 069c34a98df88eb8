"""Llamadas telefónicas: the front creates the ticket during the call, the back office takes it on."""

from datetime import timedelta

import pytest

from engine.errors import FormErrors
from tests.conftest import START
from tests.fixtures.desk import BY_ROLE

PROCESS = "atencion_llamadas"


def test_the_front_creates_the_ticket_and_the_back_office_gets_it_due_next_day(desk):
    case = desk.case(desk.start(PROCESS))
    assert case.ticket == "AC-2026-000001" and case.channel == "telefono" and case.case_type == "queja_reclamo"
    assert case.citizen_phone == "6123-4567" and case.status == "abierto"
    task = desk.task(case.id, "Task_revisar_ticket_llamada")
    assert task.lane == "operador_back_office" and task.due_at == START + timedelta(days=1)
    with desk.atiende.store.read() as s:
        assert desk.atiende.tasks_for(s, BY_ROLE["operador_front"]) == []  # the front only captures


def test_the_back_office_confirms_the_type_and_the_common_tramitacion_follows(desk):
    case_id = desk.start(PROCESS, tipo_caso="queja_reclamo")
    desk.do(case_id, "Task_revisar_ticket_llamada", tipo_caso="reporte", corregimiento="pueblo_nuevo")
    case = desk.case(case_id)
    assert case.case_type == "reporte" and case.citizen_email == "pedro.castillo@example.com"
    assert case.due_at == START + timedelta(days=30)  # from the call, not from the review
    assert desk.ready(case_id) == ["Task_plantilla_reporte"]
    desk.do(case_id, "Task_plantilla_reporte")
    desk.do(case_id, "Task_confeccionar_hoja")
    desk.do(case_id, "Task_aprobar_hoja")
    desk.do(case_id, "Task_acuse_recibo")
    desk.do(case_id, "Task_respuesta_final", medio_respuesta="telefono")
    assert desk.case(case_id).status == "cerrado" and desk.ready(case_id) == []


def test_a_call_needs_the_phone_and_the_place_for_notifications(atiende):
    with pytest.raises(FormErrors) as exc:
        atiende.start_case(
            PROCESS,
            {"tipo_caso": "sugerencia", "ciudadano_nombre": "Ana", "asunto": "x", "descripcion": "y"},
            BY_ROLE["operador_front"],
        )
    assert set(exc.value.errors) == {"ciudadano_telefono", "lugar_notificaciones"}


def test_a_ticket_left_unreviewed_still_escalates_at_the_legal_term(desk):
    case_id = desk.start(PROCESS)
    desk.wait(days=2)
    desk.do(case_id, "Task_revisar_ticket_llamada")  # reviewed late: the 30 days run from the call
    desk.wait(days=28, seconds=1)
    assert desk.case(case_id).status == "escalado a la unidad"
