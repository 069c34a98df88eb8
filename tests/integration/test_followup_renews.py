"""A follow-up that does not pile up: the diagram says `repeticion` = `renovar` on the weekly follow-up
and the biweekly review, so a new period refreshes the open task's due date instead of adding one."""

from datetime import datetime, timedelta

import pytest

from engine.bpm.state.serializer import InstanceSerializer
from engine.errors import DiagramError
from engine.procedures import versions as procedures
from tests.conftest import START
from tests.fixtures.diagrams import NOTE_FORM, one_task
from web.ui import history
from web.ui.filters import fecha

WEEKLY = "Task_seguimiento_semanal"
BIWEEKLY = "Task_revision_quincenal"


def with_repeticion(value: str) -> str:
    """The one-task diagram, its user task saying what a second token does (``repeticion``)."""
    form = '<spiffworkflow:property name="formulario" value="nota"/>'
    xml = one_task().replace(form, form + f'<spiffworkflow:property name="repeticion" value="{value}"/>')
    assert f'value="{value}"' in xml
    return xml


def open_rows(desk, case_id, bpmn_id):
    return [t for t in desk.tasks(case_id) if t.bpmn_id == bpmn_id]


def test_a_month_without_answer_leaves_one_open_follow_up_with_the_latest_due_date(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    for week in range(1, 5):
        desk.wait(days=7, seconds=1 if week == 1 else 0)
    [weekly] = open_rows(desk, case_id, WEEKLY)
    [biweekly] = open_rows(desk, case_id, BIWEEKLY)
    last_week = START + timedelta(days=28, seconds=1)
    assert weekly.due_at == last_week + timedelta(days=2)  # the plazo (P2D) counted from the last firing
    assert biweekly.due_at == last_week + timedelta(days=2)
    renewed = desk.history(case_id, "tarea_renovada")
    assert sorted(e.detail["tarea"] for e in renewed) == [BIWEEKLY, WEEKLY, WEEKLY, WEEKLY]
    assert all(e.task_id in (weekly.id, biweekly.id) for e in renewed)
    last = [e.detail for e in renewed if e.detail["tarea"] == WEEKLY][-1]
    assert datetime.fromisoformat(last["despues"]) == last_week + timedelta(days=2)
    assert datetime.fromisoformat(last["antes"]) == last_week - timedelta(days=7) + timedelta(days=2)
    shown = history.entries(renewed, {})[-1]  # the case's timeline says it in words
    assert shown.what == "Tarea renovada" and fecha(biweekly.due_at) in shown.detail


def test_the_renewed_task_keeps_who_took_it_and_is_completed_once(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=7, seconds=1)
    [first] = open_rows(desk, case_id, WEEKLY)
    desk.wait(days=7)
    [still] = open_rows(desk, case_id, WEEKLY)
    assert still.id == first.id and still.due_at > first.due_at
    desk.do(case_id, WEEKLY)
    assert open_rows(desk, case_id, WEEKLY) == []
    desk.wait(days=7)  # once answered, the next week brings a new one
    assert len(open_rows(desk, case_id, WEEKLY)) == 1


def test_a_long_pause_catches_up_into_one_task(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=21, seconds=1)
    [weekly] = open_rows(desk, case_id, WEEKLY)  # three weeks fired in one sweep: one task
    assert weekly.due_at == START + timedelta(days=23, seconds=1)
    assert len(desk.history(case_id, "tarea_renovada")) == 2  # weeks 2 and 3; the biweekly fired once
    assert desk.wait(seconds=1).loaded == 0


def test_the_case_closes_with_its_one_follow_up(desk):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=14, seconds=1)
    desk.do(case_id, "Task_respuesta_final")
    assert desk.ready(case_id) == [] and desk.case(case_id).status == "cerrado"


@pytest.mark.parametrize("value", ["renovar", "acumular"])
def test_the_property_takes_the_documented_values(value):
    xml = with_repeticion(value)
    procedures.check({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, InstanceSerializer())


def test_a_wrong_value_is_refused_in_spanish():
    xml = with_repeticion("renueva")
    with pytest.raises(DiagramError) as refused:
        procedures.check({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, InstanceSerializer())
    [problem] = refused.value.problems
    assert "«repeticion»" in problem.message and "«renovar»" in problem.message and "«renueva»" in problem.message
