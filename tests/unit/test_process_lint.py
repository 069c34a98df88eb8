"""Deploy checks for subprocess lanes, calendars (timer start events) and task labels."""

from datetime import datetime

import pytest

from engine.bpm import parsing as bpmn
from engine.bpm import start_events
from engine.bpm.state.serializer import InstanceSerializer
from engine.errors import DiagramError
from engine.procedures import versions as procedures
from tests.fixtures.diagrams import HEADER, NOTE_FORM

PROPS = "<bpmn:extensionElements><spiffworkflow:properties>{}</spiffworkflow:properties></bpmn:extensionElements>"


def prop(name, value):
    return f'<spiffworkflow:property name="{name}" value="{value}"/>'


def subprocess_diagram(subprocess_in_lane: bool) -> str:
    """start → embedded subprocess (with a user task in lane Operador) → end."""
    refs = "<bpmn:flowNodeRef>sp</bpmn:flowNodeRef>" if subprocess_in_lane else ""
    return (
        HEADER.format(doctype="")
        + f"""
  <bpmn:process id="prueba" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Coordinador">{refs}</bpmn:lane>
      <bpmn:lane id="l2" name="Operador"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>ut</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="sp" name="Tramitación"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="s2"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="ut" name="Revisar">{PROPS.format(prop("formulario", "nota"))}
        <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="e2"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="ut"/>
      <bpmn:sequenceFlow id="g2" sourceRef="ut" targetRef="e2"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sp"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sp" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )


def scheduled_diagram(
    timer='<bpmn:timeCycle>"R/P7D"</bpmn:timeCycle>',
    selector="direcciones_con_casos_abiertos",
    plain_start=False,
    rotulo="lote['ubicacion']",
) -> str:
    """A timer start event (and maybe a plain one) → user task → end."""
    plain = (
        (
            '<bpmn:startEvent id="manual"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:sequenceFlow id="f0" sourceRef="manual" targetRef="ut"/>'
        )
        if plain_start
        else ""
    )
    return (
        HEADER.format(doctype="")
        + f"""
  <bpmn:process id="prueba" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Operador"><bpmn:flowNodeRef>ut</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="cada_semana" name="Cada semana">{PROPS.format(prop("selector", selector))}
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:timerEventDefinition>{timer}</bpmn:timerEventDefinition>
    </bpmn:startEvent>
    {plain}
    <bpmn:userTask id="ut" name="Revisar">{PROPS.format(prop("formulario", "nota") + prop("rotulo", rotulo))}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="cada_semana" targetRef="ut"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ut" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )


def check(xml):
    return procedures.check({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, InstanceSerializer())


def problems(xml) -> list[bpmn.Problem]:
    with pytest.raises(DiagramError) as exc:
        check(xml)
    return exc.value.problems


def test_a_subprocess_in_a_lane_would_put_its_user_tasks_in_that_lane_and_is_refused():
    [problem] = problems(subprocess_diagram(subprocess_in_lane=True))
    assert problem.element_id == "sp" and "carril «Coordinador»" in problem.message
    assert "tareas de usuario" in problem.message


def test_a_subprocess_in_no_lane_leaves_each_task_in_its_own_lane():
    [candidate] = check(subprocess_diagram(subprocess_in_lane=False))
    _spec, subprocesses = InstanceSerializer().spec_from_dict(candidate.spec)
    assert subprocesses["sp"].task_specs["ut"].lane == "Operador"


def test_a_clean_calendar_deploys_with_its_schedule():
    [candidate] = check(scheduled_diagram())
    assert candidate.schedules == {"cada_semana": "R/P7D"}


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({"selector": "todas_las_direcciones"}, "el selector «todas_las_direcciones» no existe"),
        ({"timer": '<bpmn:timeDuration>"P7D"</bpmn:timeDuration>'}, "debe ser un ciclo"),
        ({"plain_start": True}, "no puede tener además un inicio sin temporizador"),
        ({"rotulo": "__import__('os')"}, "rótulo no permitido"),
    ],
)
def test_what_a_calendar_or_a_label_may_not_say(kwargs, expected):
    found = problems(scheduled_diagram(**kwargs))
    assert any(expected in p.message for p in found), [p.message for p in found]
    assert all(p.element_id for p in found)


@pytest.mark.parametrize(
    "cycle,after,expected",
    [
        ("R/2026-01-05T08:00:00-05:00/P7D", "2026-03-02T09:00:00-05:00", "2026-03-09T08:00:00-05:00"),
        ("R/2026-01-05T08:00:00-05:00/P7D", "2026-03-09T08:00:00-05:00", "2026-03-16T08:00:00-05:00"),  # strictly after
        (
            "R/2026-01-05T08:00:00-05:00/P7D",
            "2025-12-01T00:00:00-05:00",
            "2026-01-05T08:00:00-05:00",
        ),  # before the first
        ("R/P7D", "2026-03-04T12:00:00-05:00", "2026-03-09T08:00:00-05:00"),  # no first run: Mondays at 8:00
        ("R2/2026-01-05T08:00:00-05:00/P7D", "2026-01-06T00:00:00-05:00", "2026-01-12T08:00:00-05:00"),
        ("R2/2026-01-05T08:00:00-05:00/P7D", "2026-01-12T08:00:00-05:00", None),  # two runs, both done
    ],
)
def test_the_next_run_of_a_calendar(cycle, after, expected):
    found = start_events.next_run(cycle, datetime.fromisoformat(after))
    assert found == (datetime.fromisoformat(expected) if expected else None)
