"""A step over its budget (engine.bpm.scripting.budget) fails cleanly: a Spanish error naming the step, nothing
written, no lock left on other people's work; and a diagram set's validation is bounded in time."""

from __future__ import annotations

import resource
import time

import pytest
from sqlalchemy import func, select

from engine.access.accounts import Actor
from engine.bpm.scripting import budget
from engine.bpm.state.serializer import InstanceSerializer
from engine.db.models import Case
from engine.errors import DiagramError, StepFailed, StepOverBudget
from engine.procedures import versions
from tests.fixtures import probes
from tests.fixtures.desk import Desk
from tests.fixtures.diagrams import HEADER, NOTE_FORM, one_task

OPERADOR = Actor("operador", frozenset({"operador"}))
BOMB = "a = 'a' * 100000\nb = [a] * 100000"  # the probe: 10**10 characters as JSON
CPU_BOMB = "a = list('0123456789' * 10000)\n" + "b = sorted(a)\n" * 280
# What a failed step raises out of the facade: the budget's error, or the incident that records it.
FAILED_STEP = (StepOverBudget, StepFailed)


def _peak_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cases(store) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(Case))


@pytest.mark.parametrize("script", [BOMB, CPU_BOMB], ids=["memory", "cpu"])
def test_a_start_over_budget_fails_in_spanish_writes_nothing_and_holds_no_lock(atiende, store, frozen_clock, script):
    atiende.deploy({"prueba.bpmn": one_task(script=script)}, {"nota": NOTE_FORM}, "analista")
    before, peak = _cases(store), _peak_mb()
    spent = budget.CpuBudget(budget.STEP_CPU_SECONDS)  # the CPU as the meter counts it (full collections apart)
    with pytest.raises(FAILED_STEP) as failed:
        atiende.start_case("prueba", {"asunto": "x"}, OPERADOR)
    assert spent.charged() < 2 * budget.STEP_CPU_SECONDS
    assert _peak_mb() - peak < 300
    assert "Marcar" in str(failed.value)  # the script task's name
    assert any(words in str(failed.value) for words in ("produciría", "superó"))
    assert _cases(store) == before
    # The unit of work was rolled back: someone else's case starts at once (SQLite's writer lock is free).
    started = time.monotonic()
    Desk(atiende, frozen_clock).start()
    assert time.monotonic() - started < 5
    assert _cases(store) == before + 1


def test_a_timer_path_over_budget_is_rolled_back_and_the_sweep_goes_on(atiende, store, frozen_clock):
    xml = (
        one_task()
        .replace(
            '<bpmn:endEvent id="end_t"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>',
            '<bpmn:scriptTask id="bomba" name="Bomba"><bpmn:incoming>f6</bpmn:incoming>'
            "<bpmn:outgoing>f7</bpmn:outgoing>"
            f"<bpmn:script>{BOMB}</bpmn:script></bpmn:scriptTask>"
            '<bpmn:endEvent id="end_t"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f7" sourceRef="bomba" targetRef="end_t"/>',
        )
        .replace('<bpmn:sequenceFlow id="f6" sourceRef="bt" targetRef="end_t"/>', "")
    )
    xml = xml.replace("</bpmn:process>", '<bpmn:sequenceFlow id="f6" sourceRef="bt" targetRef="bomba"/></bpmn:process>')
    atiende.deploy({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, "analista")
    case_id = atiende.start_case("prueba", {"asunto": "x"}, OPERADOR).case_id
    desk = Desk(atiende, frozen_clock)
    peak, spent = _peak_mb(), budget.CpuBudget(budget.STEP_CPU_SECONDS)
    desk.wait(days=4)  # the sweep returns: the firing failed within its budget
    assert spent.charged() < 2 * budget.STEP_CPU_SECONDS
    assert _peak_mb() - peak < 300
    assert desk.history(case_id, "temporizador_disparado") == []  # and was rolled back
    assert desk.ready(case_id) == ["ut"]
    desk.start()  # nothing left locked


def test_a_timer_expression_over_budget_is_refused_at_validation_within_its_budget(atiende):
    spent = budget.CpuBudget(budget.STEP_CPU_SECONDS)
    with pytest.raises(DiagramError) as refused:
        atiende.deploy(
            {"prueba.bpmn": one_task(timer="sumar_dias(ahora(), 200000, habiles=True)")},
            {"nota": NOTE_FORM},
            "analista",
        )
    assert spent.charged() < 2 * budget.STEP_CPU_SECONDS
    assert any(p.element_id == "bt" and "el máximo es 3660" in p.message for p in refused.value.problems)


def test_validating_a_diagram_set_is_bounded_in_time_whatever_its_timers():
    burner = "sorted(list('0123456789' * 10000)) and " * 90 + "'P1D'"
    timers = 14  # each would burn its whole step budget: more together than the validation's
    spent = budget.CpuBudget(budget.VALIDATION_CPU_SECONDS)
    with pytest.raises(DiagramError) as refused:
        versions.check({"prueba.bpmn": _many_timers(timers, burner)}, {"nota": NOTE_FORM}, InstanceSerializer())
    assert spent.charged() < budget.VALIDATION_CPU_SECONDS + 2 * budget.STEP_CPU_SECONDS
    whole = f"presupuesto de {budget.VALIDATION_CPU_SECONDS:g} s de CPU"
    assert any(whole in p.message for p in refused.value.problems)


def _many_timers(count: int, expression: str) -> str:
    """One process: a user task with ``count`` boundary timers, each with ``expression``."""
    timers = "".join(
        f'<bpmn:boundaryEvent id="t{i}" attachedToRef="ut" cancelActivity="false"><bpmn:outgoing>g{i}</bpmn:outgoing>'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{expression}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        f'</bpmn:boundaryEvent><bpmn:endEvent id="e{i}"><bpmn:incoming>g{i}</bpmn:incoming></bpmn:endEvent>'
        f'<bpmn:sequenceFlow id="g{i}" sourceRef="t{i}" targetRef="e{i}"/>'
        for i in range(count)
    )
    return one_task().replace("</bpmn:process>", timers + "</bpmn:process>")


LOOP = (
    HEADER.format(doctype="")
    + """
  <bpmn:process id="bucle" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="st" name="Contar"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>back</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" name="¿Listo?" default="back"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>out</bpmn:outgoing><bpmn:outgoing>back</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>out</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="st"/>
    <bpmn:sequenceFlow id="f2" sourceRef="st" targetRef="gw"/>
    <bpmn:sequenceFlow id="out" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression>n &gt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="st"/>
  </bpmn:process>
</bpmn:definitions>
"""
)
SELF_CALL = (
    HEADER.format(doctype="")
    + """
  <bpmn:process id="bucle" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call" name="Otra vez" calledElement="bucle"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
)


@pytest.mark.parametrize(
    "xml,expected",
    [(LOOP, "pasos automáticos"), (SELF_CALL, f"{budget.MAX_CALL_DEPTH} actividades de llamada")],
    ids=["loop without a wait", "process calling itself"],
)
def test_a_request_stops_after_its_budget_of_automatic_steps(xml, expected):
    # Run as the runtime runs a step, in a child process: without the bound it spins until killed. (Lint
    # may refuse these diagrams too; the runtime must stop them anyway, e.g. in a version deployed before.)
    outcome = probes.run(
        f"""
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from engine.bpm import parsing
        from engine.bpm.scripting import sandbox
        from engine.bpm.runtime import _ScriptWatch
        parser = parsing.parser_for({{"bucle.bpmn": {xml!r}}})
        workflow = BpmnWorkflow(
            parser.get_spec("bucle"), parser.get_subprocess_specs("bucle"), script_engine=sandbox.script_engine()
        )
        def call():
            watch = _ScriptWatch()
            workflow.do_engine_steps(watch.will, watch.did)
        """
    )
    assert outcome["error"] == "StepOverBudget", outcome
    assert outcome["message"].startswith("el paso «") and expected in outcome["message"], outcome
    assert outcome["cpu"] < budget.ENGINE_CPU_SECONDS + 0.5, outcome
