"""Defensa del Usuario – 311: denuncias inspected or remitted (30 days), quejas inspected, sugerencias to meetings."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.db.models import Case
from engine.demo.procedures import QUEJA_311, SUGERENCIA_311
from engine.errors import FormErrors
from tests.conftest import START
from tests.fixtures.row_held import while_row_held
from tests.integration.test_versions import diagrams  # noqa: F401 - the fixture: an editable copy of processes/

PROCESS = "defensa_usuario_311"
MEETING_DAY = timedelta(days=2, hours=1, seconds=1)  # Wednesday 4 March, 10:00 in Panamá: the meeting's calendar


def start(desk, data=None, **changes) -> int:
    return desk.start(PROCESS, **{**(data or {}), **changes})


def meeting(store) -> Case:
    with store.read() as s:
        return s.scalars(select(Case).where(Case.ticket.like("RS-%")).order_by(Case.id.desc())).first()


def test_a_311_case_gets_its_own_ticket_series_and_the_channel_it_came_by(desk):
    case = desk.case(start(desk))
    assert case.ticket == "DU-2026-000001" and case.channel == "plataforma_311" and case.case_type == "denuncia"
    assert case.status == "abierto" and case.due_at is None
    assert desk.ready(case.id) == ["Task_evaluar_denuncia"]


def test_a_denuncia_that_warrants_it_is_inspected_and_the_result_notified(desk):
    case_id = start(desk)
    desk.do(case_id, "Task_evaluar_denuncia", decision_denuncia="inspeccion")
    assert desk.ready(case_id) == ["Task_inspeccion"] and desk.task(case_id, "Task_inspeccion").lane == "inspector"
    desk.do(case_id, "Task_inspeccion")
    assert desk.ready(case_id) == ["Task_notificar_resultado"]
    desk.do(case_id, "Task_notificar_resultado")
    case = desk.case(case_id)
    assert case.status == "cerrado" and case.data["resultado_inspeccion"] == "confirmado"


def test_a_remitted_denuncia_goes_to_the_enlace_of_the_direccion_with_30_days_to_answer(desk):
    case_id = start(desk)
    with pytest.raises(FormErrors) as exc:
        desk.do(case_id, "Task_evaluar_denuncia", decision_denuncia="remitir")
    assert exc.value.errors == {"direccion": "Este campo es obligatorio."}
    desk.do(case_id, "Task_evaluar_denuncia", decision_denuncia="remitir", direccion="planificacion_urbana")
    case = desk.case(case_id)
    assert case.status == "en seguimiento" and case.direccion == "planificacion_urbana"
    assert case.due_at == START + timedelta(days=30) == case.timer_due_at
    task = desk.task(case_id, "Task_responder_remision")
    assert (task.lane, task.direccion) == ("enlace", "planificacion_urbana")
    desk.wait(days=10)
    desk.do(case_id, "Task_responder_remision")
    desk.do(case_id, "Task_notificar_resultado")
    assert desk.case(case_id).status == "cerrado" and desk.case(case_id).timer_due_at is None


def test_a_remission_unanswered_in_30_days_is_escalated_and_reclaimed(desk):
    case_id = start(desk)
    desk.do(case_id, "Task_evaluar_denuncia", decision_denuncia="remitir", direccion="planificacion_urbana")
    desk.wait(days=30)  # due exactly now: not yet
    assert desk.case(case_id).status == "en seguimiento"
    desk.wait(seconds=1)
    assert desk.case(case_id).status == "escalado a la unidad"
    assert desk.ready(case_id) == ["Task_reclamar_respuesta", "Task_responder_remision"]
    assert desk.task(case_id, "Task_reclamar_respuesta").lane == "defensa_usuario"
    desk.do(case_id, "Task_responder_remision")  # the answer arrives late: the reclaim is withdrawn on closing
    desk.do(case_id, "Task_notificar_resultado")
    assert desk.case(case_id).status == "cerrado" and desk.ready(case_id) == []


def test_a_queja_is_inspected_and_its_result_recorded(desk):
    case_id = start(desk, QUEJA_311)
    assert desk.ready(case_id) == ["Task_inspeccion"]
    desk.do(case_id, "Task_inspeccion", resultado_inspeccion="corregido", hallazgos="Se devolvió el cobro.")
    desk.do(case_id, "Task_notificar_resultado")
    case = desk.case(case_id)
    assert case.status == "cerrado" and case.data["hallazgos"] == "Se devolvió el cobro."


def test_a_sugerencia_waits_for_the_meeting_whose_acta_closes_it_with_what_was_decided(desk, store):
    first, second = start(desk, SUGERENCIA_311), start(desk, SUGERENCIA_311, asunto="Más bancas")
    assert desk.case(first).status == "en seguimiento" and desk.ready(first) == []
    assert desk.wait(seconds=MEETING_DAY.total_seconds()).started == 1
    acta = meeting(store)
    assert acta.ticket == "RS-2026-000001" and acta.data["agenda"] == [
        "DU-2026-000001 · Horario extendido los sábados",
        "DU-2026-000002 · Más bancas",
    ]
    [task] = desk.tasks(acta.id)
    desk.do(
        acta.id,
        task.bpmn_id,
        tomadas_en_cuenta=["DU-2026-000001"],
        descartadas=["DU-2026-000002"],
        acuerdo_reunion="Se abrirá un piloto; no hay espacio para más bancas.",
    )
    assert desk.case(acta.id).status == "cerrado"
    for case_id, decision in ((first, "tomada_en_cuenta"), (second, "descartada")):
        case = desk.case(case_id)
        assert case.status == "cerrado" and case.data["decision_reunion"] == decision
        assert case.data["enviado_por"] == "RS-2026-000001"
        [received] = desk.history(case_id, "mensaje_recibido")
        assert received.detail["mensaje"] == "sugerencia_tratada_en_reunion"


def test_a_postponed_sugerencia_goes_to_the_next_meetings_agenda(desk, store):
    case_id = start(desk, SUGERENCIA_311)
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta = meeting(store)
    [task] = desk.tasks(acta.id)
    desk.do(acta.id, task.bpmn_id, acuerdo_reunion="Falta el presupuesto.")  # not ticked: postponed
    assert desk.case(case_id).status == "en seguimiento"
    desk.wait(days=28)
    assert meeting(store).ticket == "RS-2026-000002"
    assert meeting(store).data["agenda"] == ["DU-2026-000001 · Horario extendido los sábados"]


def test_an_acta_naming_a_case_that_awaits_no_meeting_is_refused_and_changes_nothing(desk, store):
    waiting, other = start(desk, SUGERENCIA_311), start(desk)  # the second is a denuncia
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta = meeting(store)
    [task] = desk.tasks(acta.id)
    before = desk.state(waiting)
    with pytest.raises(FormErrors) as exc:
        desk.do(acta.id, task.bpmn_id, tomadas_en_cuenta=["DU-2026-000001"], descartadas=["DU-2026-000002"])
    assert "DU-2026-000002" in exc.value.errors["descartadas"]  # beside the field: tests/.../test_acta_lista.py
    assert desk.state(waiting) == before and desk.case(waiting).status == "en seguimiento"
    assert desk.ready(acta.id) == [task.bpmn_id] and desk.ready(other) == ["Task_evaluar_denuncia"]
    with pytest.raises(FormErrors) as exc:
        desk.do(acta.id, task.bpmn_id, descartadas=["AC-1"])
    assert "AC-1" in exc.value.errors["descartadas"]


def test_no_meeting_is_convened_without_pending_sugerencias(desk, store):
    start(desk)
    assert desk.wait(seconds=MEETING_DAY.total_seconds()).started == 0
    assert meeting(store) is None


def test_changing_the_remission_term_in_the_diagram_changes_when_it_escalates(atiende, desk, diagrams):  # noqa: F811
    path = diagrams / "defensa_usuario_311.bpmn"
    text = path.read_text(encoding="utf-8")
    rule = "fecha_limite = sumar_dias(fecha_inicio, 30, habiles=False)"
    assert rule in text
    path.write_text(text.replace(rule, "fecha_limite = sumar_dias(fecha_inicio, 10, habiles=False)"), encoding="utf-8")
    atiende.deploy_directory("analista", note="remitidas: 10 días", processes_dir=diagrams)
    case_id = start(desk)
    desk.do(case_id, "Task_evaluar_denuncia", decision_denuncia="remitir", direccion="planificacion_urbana")
    desk.wait(days=10, seconds=1)
    assert desk.case(case_id).status == "escalado a la unidad"


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_an_acta_whose_delivery_waits_for_a_sugerencia_holds_no_chain_meanwhile(desk, store):
    """A step that throws messages locks the cases it delivers them to after its own writes, which therefore
    do not end the transaction (``statements.ends_here``): it waits for them without holding the audit
    chain, which every writer needs."""
    sugerencia = start(desk, SUGERENCIA_311)
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta = meeting(store)
    [task] = desk.tasks(acta.id)
    waited = while_row_held(
        store,
        "cases",
        sugerencia,
        lambda: desk.do(acta.id, task.bpmn_id, tomadas_en_cuenta=["DU-2026-000001"], acuerdo_reunion="Piloto."),
    )
    assert waited.failures == [] and waited.held_advisory is False
    assert desk.case(sugerencia).status == "cerrado"
