"""Every branch of the e-mail / web procedure, walked through the engine with a moving clock."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpm.state.codec import PLAIN
from engine.clock import DATE_ERROR
from engine.db.models import AuditEvent, HumanTask
from engine.errors import Forbidden, FormErrors
from tests.conftest import START
from tests.fixtures.desk import COORDINADOR, ENLACE, OPERADOR

TEMPLATES = {
    "queja_reclamo": "Task_plantilla_queja_reclamo",
    "solicitud_informacion": "Task_plantilla_solicitud_informacion",
    "sugerencia": "Task_plantilla_sugerencia",
    "reporte": "Task_plantilla_reporte",
}


@pytest.mark.parametrize("case_type,template", TEMPLATES.items())
def test_each_case_type_gets_its_own_template_then_the_hoja(desk, case_type, template):
    case_id = desk.start(tipo_caso=case_type)
    assert desk.ready(case_id) == [template]
    desk.do(case_id, template)
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]


def test_a_new_case_gets_a_ticket_an_open_status_and_the_legal_30_day_deadline(desk):
    case_id = desk.start()
    case = desk.case(case_id)
    assert case.ticket == "AC-2026-000001"
    assert case.status == "abierto"
    assert case.due_at == START + timedelta(days=30)
    assert case.timer_due_at == START + timedelta(days=30)
    assert (case.case_type, case.channel, case.corregimiento) == ("queja_reclamo", "correo_electronico", "bella_vista")
    [created] = desk.history(case_id, "caso_creado")
    assert created.actor == "operador" and created.detail["ticket"] == case.ticket


def test_the_happy_path_to_a_closed_case(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    case = desk.case(case_id)
    assert case.status == "en seguimiento"
    assert case.direccion == "planificacion_urbana"
    desk.do(case_id, "Task_respuesta_final")
    case = desk.case(case_id)
    assert case.status == "cerrado" and case.closed_at == START
    assert desk.ready(case_id) == [] and case.timer_due_at is None
    statuses = [(e.detail["antes"], e.detail["despues"]) for e in desk.history(case_id, "estado_cambiado")]
    assert statuses == [("abierto", "en seguimiento"), ("en seguimiento", "cerrado")]
    completed = [e.detail["tarea"] for e in desk.history(case_id, "tarea_completada")]
    assert completed == [
        "Task_plantilla_queja_reclamo",
        "Task_confeccionar_hoja",
        "Task_aprobar_hoja",
        "Task_acuse_recibo",
        "Task_respuesta_final",
    ]


def test_the_coordinator_returns_the_hoja_with_comments_and_the_operator_corrects_it(desk):
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja")
    with pytest.raises(FormErrors) as exc:
        desk.do(case_id, "Task_aprobar_hoja", decision_hoja="devolver")
    assert "comentarios_aprobacion" in exc.value.errors
    desk.do(case_id, "Task_aprobar_hoja", decision_hoja="devolver", comentarios_aprobacion="Falta el domicilio.")
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]
    assert desk.case(case_id).status == "abierto"
    desk.do(case_id, "Task_confeccionar_hoja", resumen="Resumen corregido con el domicilio.")
    desk.do(case_id, "Task_aprobar_hoja")
    assert desk.ready(case_id) == ["Task_acuse_recibo"]
    assert desk.case(case_id).data["resumen"] == "Resumen corregido con el domicilio."


def test_weekly_and_biweekly_follow_up_while_waiting_for_the_final_answer(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=7, seconds=1)
    assert desk.ready(case_id) == ["Task_respuesta_final", "Task_seguimiento_semanal"]
    desk.do(case_id, "Task_seguimiento_semanal")
    desk.wait(days=7)
    assert desk.ready(case_id) == ["Task_respuesta_final", "Task_revision_quincenal", "Task_seguimiento_semanal"]
    fired = [e.detail["temporizadores"] for e in desk.history(case_id, "temporizador_disparado")]
    assert fired == [["Seguimiento semanal"], ["Revisión quincenal", "Seguimiento semanal"]]
    desk.do(case_id, "Task_respuesta_final")
    assert desk.ready(case_id) == []  # the pending follow-ups end with the case
    assert desk.case(case_id).status == "cerrado"


def test_a_sweep_after_a_long_pause_catches_up_every_missed_week_once(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=21, seconds=1)
    weekly = [t for t in desk.tasks(case_id) if t.bpmn_id == "Task_seguimiento_semanal"]
    assert len(weekly) == 1  # the diagram renews the open follow-up (repeticion = renovar)
    assert len(desk.history(case_id, "tarea_renovada")) == 2
    assert desk.wait(seconds=1).loaded == 0


def test_at_30_days_the_case_is_escalated_and_the_coordinator_gets_a_task(desk):
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.wait(days=30)  # due exactly now: not yet
    assert desk.case(case_id).status == "abierto"
    desk.wait(seconds=1)
    case = desk.case(case_id)
    assert case.status == "escalado a la unidad"
    assert desk.ready(case_id) == ["Task_atender_escalado", "Task_confeccionar_hoja"]
    assert desk.task(case_id, "Task_atender_escalado").lane == "coordinador"
    desk.do(case_id, "Task_atender_escalado")
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]  # the case still needs its answer


def test_closing_an_escalated_case_withdraws_the_pending_escalation_task(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=30, seconds=1)
    assert "Task_atender_escalado" in desk.ready(case_id)
    assert desk.case(case_id).status == "escalado a la unidad"
    desk.do(case_id, "Task_respuesta_final")
    assert desk.ready(case_id) == []
    assert desk.case(case_id).status == "cerrado"


def test_a_form_cannot_set_what_steers_the_procedure(desk, atiende):
    case_id = desk.start(
        estado_caso="cerrado",
        fecha_limite="2030-01-01T00:00:00-05:00",
        ticket="AC-1999-999999",
        rol_asignado="coordinador",
    )
    case = desk.case(case_id)
    assert case.status == "abierto" and case.ticket == "AC-2026-000001"
    assert case.due_at == START + timedelta(days=30)
    assert "rol_asignado" not in case.data and b"rol_asignado" not in PLAIN.unpack(desk.state(case_id))
    desk.do(case_id, "Task_plantilla_queja_reclamo", estado_caso="cerrado", _privado="x")
    case = desk.case(case_id)
    assert case.status == "abierto" and b"_privado" not in PLAIN.unpack(desk.state(case_id))
    [event] = desk.history(case_id, "tarea_completada")
    assert set(event.detail["datos"]) <= {"hechos", "fecha_hechos", "dependencia_o_funcionario", "pretension"}


def test_a_task_is_only_for_its_role_and_an_enlace_only_for_their_direccion(desk, atiende):
    case_id = desk.start()
    with pytest.raises(Forbidden):
        desk.do(case_id, "Task_plantilla_queja_reclamo", actor=COORDINADOR)
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja", direccion="gestion_ambiental")
    desk.do(case_id, "Task_aprobar_hoja")
    with pytest.raises(Forbidden):
        desk.do(case_id, "Task_acuse_recibo", actor=ENLACE)  # of Planificación Urbana
    with atiende.store.read() as s:
        assert atiende.tasks_for(s, ENLACE) == []
    assert desk.task(case_id, "Task_acuse_recibo").direccion == "gestion_ambiental"


def test_invalid_data_changes_nothing(desk, store):
    case_id = desk.start()
    before, state_before = desk.case(case_id), desk.state(case_id)
    with pytest.raises(FormErrors) as exc:
        desk.do(case_id, "Task_plantilla_queja_reclamo", hechos="", fecha_hechos="31/02/2026")
    assert exc.value.errors == {
        "hechos": "Este campo es obligatorio.",
        "fecha_hechos": DATE_ERROR,
    }
    after = desk.case(case_id)
    assert (after.revision, desk.state(case_id)) == (before.revision, state_before)
    with store.read() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.kind == "tarea_completada")) is None
        assert len(list(s.scalars(select(HumanTask)))) == 1


def test_the_start_form_is_validated_in_spanish(atiende):
    with pytest.raises(FormErrors) as exc:
        atiende.start_case(
            "atencion_correo_web", {"canal": "fax", "ciudadano_cedula": "123", "corregimiento": "narnia"}, OPERADOR
        )
    errors = exc.value.errors
    assert errors["canal"] == "Elija una opción de la lista."
    assert errors["lugar_notificaciones"] == "Este campo es obligatorio."
    assert "ciudadano_cedula" in errors and errors["corregimiento"] == "Elija una opción válida de la lista."


def test_every_step_is_in_the_audit_trail_with_who_and_what(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=7, seconds=1)
    kinds = [e.kind for e in desk.history(case_id)]
    assert kinds[0] == "caso_creado" and kinds.count("tarea_completada") == 4
    assert "estado_cambiado" in kinds and "temporizador_disparado" in kinds and "plazo_fijado" in kinds
    approval = [e for e in desk.history(case_id, "tarea_completada") if e.detail["tarea"] == "Task_aprobar_hoja"][0]
    assert approval.actor == "coordinador" and approval.detail["datos"] == {"decision_hoja": "aprobar"}
    assert approval.at == START


def test_an_escalation_before_remission_is_not_undone_by_the_remission(desk):
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja")
    desk.wait(days=30, seconds=1)
    desk.do(case_id, "Task_aprobar_hoja")  # the remission script sets 'en seguimiento' on its branch
    assert desk.case(case_id).status == "escalado a la unidad"
    desk.do(case_id, "Task_acuse_recibo")
    desk.do(case_id, "Task_respuesta_final")
    assert desk.case(case_id).status == "cerrado"
