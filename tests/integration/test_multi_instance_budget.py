"""A multi-instance task makes at most ``budget.MAX_INSTANCES`` instances: a constant above it is refused at
validation, naming the element; a cardinality or input list that comes out above it at run time stops the
step before any instance is made (StepOverBudget naming the element, then an incident), within its budget."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.access.accounts import Actor
from engine.bpm.scripting import budget
from engine.db.models import HumanTask
from engine.errors import StepFailed, StepOverBudget
from tests.fixtures.diagrams import NOTE_FORM, one_task
from tests.unit.test_diagram_rules import check, problems

OPERADOR = Actor("operador", frozenset({"operador"}))
_TASK_END = "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>"


def _looped(loop: str, script: str = "marcado = True", sequential: bool = False) -> str:
    kind = ' isSequential="true"' if sequential else ""
    characteristics = f"<bpmn:multiInstanceLoopCharacteristics{kind}>{loop}</bpmn:multiInstanceLoopCharacteristics>"
    return one_task(script=script).replace(
        _TASK_END, _TASK_END.replace("</bpmn:userTask>", "") + characteristics + "</bpmn:userTask>"
    )


def _cardinality(expression: str, **kwargs) -> str:
    return _looped(f"<bpmn:loopCardinality>{expression}</bpmn:loopCardinality>", **kwargs)


def test_a_constant_cardinality_above_the_bound_is_refused_naming_the_element():
    [problem] = problems({"prueba.bpmn": _cardinality(str(budget.MAX_INSTANCES + 1))})
    assert (problem.element_id, problem.element_name) == ("ut", "Revisar")
    assert f"más de {budget.MAX_INSTANCES} instancias" in problem.message


def test_a_constant_cardinality_at_the_bound_passes():
    assert check({"prueba.bpmn": _cardinality(str(budget.MAX_INSTANCES))})


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_a_cardinality_above_the_bound_at_run_time_stops_before_the_instances_are_made(atiende, sequential):
    xml = _cardinality("cantidad", script="cantidad = 100000", sequential=sequential)
    atiende.deploy({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, "analista")
    started = time.thread_time()
    with pytest.raises((StepOverBudget, StepFailed)) as failed:
        atiende.start_case("prueba", {"asunto": "x"}, OPERADOR)
    assert time.thread_time() - started < 2 * budget.STEP_CPU_SECONDS
    assert "Revisar" in str(failed.value) and f"{budget.MAX_INSTANCES} instancias" in str(failed.value)


def test_an_input_list_above_the_bound_at_run_time_is_stopped(atiende):
    loop = '<bpmn:loopDataInputRef>lotes</bpmn:loopDataInputRef><bpmn:inputDataItem id="lote" name="lote" />'
    xml = _looped(loop, script=f"lotes = [1] * {budget.MAX_INSTANCES + 1}")
    atiende.deploy({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, "analista")
    with pytest.raises((StepOverBudget, StepFailed)) as failed:
        atiende.start_case("prueba", {"asunto": "x"}, OPERADOR)
    assert "Revisar" in str(failed.value) and f"{budget.MAX_INSTANCES} instancias" in str(failed.value)


def test_an_input_list_within_the_bound_makes_one_task_per_item(atiende, store):
    loop = "<bpmn:loopDataInputRef>lotes</bpmn:loopDataInputRef>" + '<bpmn:inputDataItem id="lote" name="lote" />'
    atiende.deploy({"prueba.bpmn": _looped(loop, script="lotes = [1, 2, 3]")}, {"nota": NOTE_FORM}, "analista")
    started = atiende.start_case("prueba", {"asunto": "x"}, OPERADOR)
    with store.read() as s:
        tasks = s.scalars(select(HumanTask).where(HumanTask.case_id == started.case_id)).all()
    assert len(tasks) == 3
