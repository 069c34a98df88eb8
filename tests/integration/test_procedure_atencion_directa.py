"""Atención directa: the operador de gestión al ciudadano captures in person; the common tramitación follows."""

import pytest

from engine.demo.procedures import STARTS
from engine.errors import FormErrors
from tests.fixtures.desk import BY_ROLE

PROCESS = "atencion_directa"


@pytest.mark.parametrize(
    "case_type,template",
    [
        ("queja_reclamo", "Task_plantilla_queja_reclamo"),
        ("sugerencia", "Task_plantilla_sugerencia"),
        ("reporte", "Task_plantilla_reporte"),
    ],
)
def test_each_type_captured_in_person_goes_to_its_template(desk, case_type, template):
    case = desk.case(desk.start(PROCESS, tipo_caso=case_type))
    assert case.channel == "presencial" and case.case_type == case_type and case.ticket.startswith("AC-")
    assert desk.ready(case.id) == [template]
    assert case.status == "abierto" and case.due_at is not None


def test_a_solicitud_de_informacion_is_not_taken_at_the_counter(atiende):
    with pytest.raises(FormErrors) as exc:
        atiende.start_case(
            PROCESS, {**STARTS[PROCESS], "tipo_caso": "solicitud_informacion"}, BY_ROLE["operador_gestion_ciudadano"]
        )
    assert exc.value.errors == {"tipo_caso": "Elija una opción de la lista."}


def test_a_counter_case_is_remitted_followed_up_and_answered(desk):
    case_id = desk.start(PROCESS)
    desk.to_follow_up(case_id)
    assert desk.case(case_id).status == "en seguimiento"
    desk.wait(days=7, seconds=1)
    assert "Task_seguimiento_semanal" in desk.ready(case_id)
    desk.do(case_id, "Task_respuesta_final", medio_respuesta="presencial")
    assert desk.case(case_id).status == "cerrado"
