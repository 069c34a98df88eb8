"""Plain and manual tasks (the editor palette's default shapes) pass through, as in Camunda: a case
reaches the next step, its path shows them done and its audit trail names them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.db.models import AuditEvent, Case, HumanTask
from tests.fixtures import paperwork as pw


def diagram(shape: str) -> str:
    """start (captura) → «Archivar el expediente» as ``shape`` → «Revisar» (user task) → end."""
    return (
        pw.HEADER.format(pid="de_paso")
        + f"""
  <bpmn:process id="de_paso" name="De paso" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_op" name="Operador"><bpmn:flowNodeRef>inicio</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>revisar</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="inicio">{pw._form("captura")}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{shape} id="archivar" name="Archivar el expediente">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:{shape}>
    <bpmn:userTask id="revisar" name="Revisar">{pw._form("nota")}
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fin"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="inicio" targetRef="archivar"/>
    <bpmn:sequenceFlow id="f2" sourceRef="archivar" targetRef="revisar"/>
    <bpmn:sequenceFlow id="f3" sourceRef="revisar" targetRef="fin"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )


@pytest.mark.parametrize("shape", ["task", "manualTask"])
def test_a_plain_or_manual_task_passes_through_to_the_next_step(office, shape):
    office.atiende.deploy({"de_paso.bpmn": diagram(shape)}, pw.FORMS, "analista")
    case_id = office.atiende.start_case("de_paso", pw.CAPTURA, pw.OPERADOR).case_id
    with office.store.read() as s:
        assert list(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.case_id == case_id))) == ["revisar"]
        path = office.atiende.case_path(s, s.get(Case, case_id))
        passed = s.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.kind == "paso_automatico")
        ).all()
    assert "archivar" in path.done and path.current == {"revisar"}
    assert [e.detail for e in passed] == [{"tarea": "archivar", "nombre": "Archivar el expediente"}]
