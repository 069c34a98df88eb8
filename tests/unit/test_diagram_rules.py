"""The deploy checks added for the editor: call activities resolve, task forms are usable schemas,
loop and event expressions pass the restricted environment — each problem pinned to its element."""

import pytest

from engine.bpm.state.serializer import InstanceSerializer
from engine.errors import DiagramError
from engine.procedures import versions as procedures
from tests.fixtures.diagrams import HEADER, NOTE_FORM, one_task

CALLER = (
    HEADER.format(doctype="")
    + """
  <bpmn:process id="llamador" name="Llamador" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Operador"><bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="llamada" name="Tramitar" calledElement="{called}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="llamada"/>
    <bpmn:sequenceFlow id="f2" sourceRef="llamada" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
)


def check(files, forms=None):
    return procedures.check(files, {"nota": NOTE_FORM} if forms is None else forms, InstanceSerializer())


def problems(files, forms=None):
    with pytest.raises(DiagramError) as exc:
        check(files, forms)
    return exc.value.problems


def test_a_call_activity_to_a_missing_process_is_named_with_its_element():
    [problem] = problems({"llamador.bpmn": CALLER.format(called="tramitacion_comun")})
    assert (problem.file, problem.element_id, problem.element_name) == ("llamador.bpmn", "llamada", "Tramitar")
    assert "«tramitacion_comun»" in problem.message and "no está en el conjunto" in problem.message


def test_a_call_activity_without_a_called_process_is_refused():
    [problem] = problems({"llamador.bpmn": CALLER.format(called="x").replace(' calledElement="x"', "")})
    assert problem.element_id == "llamada" and "calledElement" in problem.message


def test_a_call_activity_resolves_when_the_called_diagram_is_in_the_set():
    candidates = check({"llamador.bpmn": CALLER.format(called="prueba"), "prueba.bpmn": one_task()})
    assert {c.process_id for c in candidates} == {"llamador", "prueba"}
    [caller] = [c for c in candidates if c.process_id == "llamador"]
    assert set(caller.bpmn) == {"llamador.bpmn", "prueba.bpmn"}  # the version keeps what it calls


def test_a_task_whose_form_is_not_a_valid_schema_is_named_with_the_task():
    broken = {"type": "object", "properties": {"prioridad": {"type": "texto"}}}
    found = problems({"prueba.bpmn": one_task()}, {"nota": broken})
    pinned = [p for p in found if p.element_id == "ut"]
    assert pinned and pinned[0].element_name == "Revisar" and "esquema JSON inválido" in pinned[0].message


@pytest.mark.parametrize("expression", ["__import__('os').system('id')", "().__class__", "len(x) +"])
def test_a_multi_instance_cardinality_must_pass_the_restricted_environment(expression):
    xml = one_task().replace(
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>",
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>"
        f"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{expression}</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    )
    [problem] = problems({"prueba.bpmn": xml})
    assert problem.element_id == "ut" and problem.message.startswith("cardinalidad no permitida")


def test_a_safe_cardinality_passes():
    xml = one_task().replace(
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>",
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>"
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>len(lotes)</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    )
    assert check({"prueba.bpmn": xml})


def _showing(value: str) -> str:
    """The one-task diagram, its user task showing a paper beside the form (``muestra``)."""
    form = '<spiffworkflow:property name="formulario" value="nota"/>'
    return one_task().replace(form, form + f'<spiffworkflow:property name="muestra" value="{value}"/>')


def test_a_task_may_show_the_hoja_de_tramite():
    procedures.check({"prueba.bpmn": _showing("hoja_de_tramite")}, {"nota": NOTE_FORM}, InstanceSerializer())


def test_a_paper_the_task_page_cannot_show_is_refused_in_spanish():
    with pytest.raises(DiagramError) as refused:
        procedures.check({"prueba.bpmn": _showing("hoja")}, {"nota": NOTE_FORM}, InstanceSerializer())
    [problem] = refused.value.problems
    assert "«muestra»" in problem.message and "«hoja_de_tramite»" in problem.message and "«hoja»" in problem.message
