"""The editor's lint rules (web/assets/bpmnlint-plugin-atiende, run by bpmnlint in node as the browser
runs them) mirror the engine's deploy checks: each element they flag, the engine refuses with the same
Spanish message, and nothing the engine deploys is flagged."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.access.roles import ROLES
from engine.bpm.state.serializer import InstanceSerializer
from engine.errors import DiagramError
from engine.facade import FORMS_DIR, PROCESSES_DIR
from engine.forms import schemas as form_schemas
from engine.procedures import drafts
from engine.procedures import versions as procedures

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tests" / "fixtures" / "bpmnlint_check.mjs"
FORMS = form_schemas.load_directory(FORMS_DIR)
USER_TASK = """<bpmn:userTask id="Task_revisar" name="Revisar">{form}
      <bpmn:incoming>Flow_inicio_cerrar</bpmn:incoming>
      <bpmn:outgoing>Flow_revisar_cerrar</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_revisar_cerrar" sourceRef="Task_revisar" targetRef="Script_cerrar" />"""
FORM = """<bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formulario" value="{name}" />
      </spiffworkflow:properties></bpmn:extensionElements>"""
REPETICION = """<bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formulario" value="seguimiento_semanal" />
        <spiffworkflow:property name="repeticion" value="{value}" />
      </spiffworkflow:properties></bpmn:extensionElements>"""
CALL = """<bpmn:callActivity id="Call_otro" name="Llamar a otro"{called}>
      <bpmn:incoming>Flow_inicio_cerrar</bpmn:incoming>
      <bpmn:outgoing>Flow_llamada_cerrar</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:sequenceFlow id="Flow_llamada_cerrar" sourceRef="Call_otro" targetRef="Script_cerrar" />"""


def lint(xml: str, processes: list[str]) -> set[tuple[str, str]]:
    data = {"roles": sorted(ROLES), "forms": sorted(FORMS), "processes": processes}
    done = subprocess.run(
        ["node", str(CHECK), json.dumps(data)],
        input=xml,
        capture_output=True,
        text=True,
        cwd=ROOT / "web" / "assets",
        timeout=60,
        check=True,
    )
    return {tuple(json.loads(line)) for line in done.stdout.splitlines()}


def engine_problems(xml: str) -> set[tuple[str | None, str]]:
    try:
        procedures.check({"nuevo.bpmn": xml}, FORMS, InstanceSerializer())
    except DiagramError as refused:
        return {(p.element_id, p.message) for p in refused.problems}
    return set()


def diagram(lane: str = "Operador", task: str | None = None) -> str:
    """The new-procedure diagram (a start, the closing script, an end), in lane ``lane``, with ``task``
    (XML) put between the start and the script."""
    xml = drafts._renamed(drafts._empty_diagram("operador"), drafts.EMPTY_ID, "nuevo", "Nuevo")
    xml = xml.replace('name="Operador"', f'name="{lane}"')
    if task is not None:
        first = "Call_otro" if "Call_otro" in task else "Task_revisar"
        xml = xml.replace(
            'sourceRef="StartEvent_inicio" targetRef="Script_cerrar"',
            f'sourceRef="StartEvent_inicio" targetRef="{first}"',
        )
        xml = xml.replace(
            "<bpmn:flowNodeRef>EndEvent_fin",
            f"<bpmn:flowNodeRef>{first}</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_fin",
        )
        xml = xml.replace("<bpmn:endEvent", task + "\n    <bpmn:endEvent", 1)
    return xml


@pytest.mark.parametrize(
    ("xml", "flagged"),
    [
        (diagram(lane="Jardinería"), "StartEvent_inicio"),
        (diagram(task=USER_TASK.format(form="")), "Task_revisar"),
        (diagram(task=USER_TASK.format(form=FORM.format(name="no_existe"))), "Task_revisar"),
        (diagram(task=CALL.format(called=' calledElement="otro_proceso"')), "Call_otro"),
        (diagram(task=CALL.format(called="")), "Call_otro"),
        (diagram(task=USER_TASK.format(form=REPETICION.format(value="renueva"))), "Task_revisar"),
    ],
    ids=[
        "carril-desconocido",
        "tarea-sin-formulario",
        "formulario-inexistente",
        "llamada-fuera",
        "llamada-vacia",
        "repeticion-desconocida",
    ],
)
def test_what_the_canvas_flags_the_engine_refuses_with_the_same_message(xml, flagged):
    found = lint(xml, ["nuevo"])
    assert {element for element, _message in found} == {flagged}
    assert found <= engine_problems(xml)


def test_the_documented_repeticion_values_are_not_flagged():
    for value in ("renovar", "acumular"):
        xml = diagram(task=USER_TASK.format(form=REPETICION.format(value=value)))
        assert lint(xml, ["nuevo"]) == set() and engine_problems(xml) == set()


def test_a_script_task_without_its_script_is_flagged():
    xml = diagram().replace("<bpmn:script>estado_caso = 'cerrado'</bpmn:script>", "")
    assert lint(xml, ["nuevo"]) == {("Script_cerrar", "la tarea de script no tiene script")}


@pytest.mark.parametrize("path", sorted(PROCESSES_DIR.glob("*.bpmn")), ids=lambda p: p.stem)
def test_nothing_the_engine_deploys_is_flagged(path):
    processes = [p.stem for p in PROCESSES_DIR.glob("*.bpmn")]
    assert lint(path.read_text(encoding="utf-8"), processes) == set()
