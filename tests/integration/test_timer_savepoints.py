"""A timer firing that fails after writing its effects leaves nothing of them but an incident; the batch's
other cases commit.

The diagram (deployed by the test): a capture, a review with an interrupting three-day timer
that escalates the case and remits the hoja (a document and an e-mail) to the dirección.
"""

from __future__ import annotations

import shutil

import pytest

from engine.access.accounts import Actor
from engine.cases import incidents
from engine.db.models import AuditEvent, Case, Document, Incident, OutboxMessage
from engine.facade import PROCESSES_DIR
from engine.paperwork import effects
from engine.procedures import case_migration
from tests.fixtures import paperwork as pw
from tests.integration.test_case_migration import deploy_v2, edit

DIAGRAM = (
    pw.HEADER.format(pid="vencimiento")
    + f"""
  <bpmn:process id="vencimiento" name="Vencimiento de prueba" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_op" name="Operador"><bpmn:flowNodeRef>inicio</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>revisar</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>atender</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="inicio">{pw._form("captura")}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="revisar" name="Revisar">{pw._form("nota")}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fin_revision"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="vence" name="Sin revisión en 3 días" attachedToRef="revisar">
      <bpmn:outgoing>t1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="escalar" name="Escalar"><bpmn:incoming>t1</bpmn:incoming><bpmn:outgoing>t2</bpmn:outgoing>
      <bpmn:script>estado_caso = 'escalado a la unidad'</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="remitir" name="Remitir la hoja">{pw.operator("remitir_hoja_de_tramite", {})}
      <bpmn:incoming>t2</bpmn:incoming><bpmn:outgoing>t3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="atender" name="Atender el escalamiento">{pw._form("nota")}
      <bpmn:incoming>t3</bpmn:incoming><bpmn:outgoing>t4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fin"><bpmn:incoming>t4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="inicio" targetRef="revisar"/>
    <bpmn:sequenceFlow id="f2" sourceRef="revisar" targetRef="fin_revision"/>
    <bpmn:sequenceFlow id="t1" sourceRef="vence" targetRef="escalar"/>
    <bpmn:sequenceFlow id="t2" sourceRef="escalar" targetRef="remitir"/>
    <bpmn:sequenceFlow id="t3" sourceRef="remitir" targetRef="atender"/>
    <bpmn:sequenceFlow id="t4" sourceRef="atender" targetRef="fin"/>
  </bpmn:process>
</bpmn:definitions>
"""
)
FORMS = {"captura": {**pw.FORMS["captura"]}, "nota": pw.FORMS["nota"]}
FORMS["captura"]["properties"] = {**pw.FORMS["captura"]["properties"], "direccion": pw._text("Dirección")}


@pytest.fixture
def two_cases(office):
    office.atiende.deploy({"vencimiento.bpmn": DIAGRAM}, FORMS, "analista")
    start = {**pw.CAPTURA, "direccion": "planificacion_urbana"}
    good = office.atiende.start_case("vencimiento", start, pw.OPERADOR).case_id
    bad = office.atiende.start_case("vencimiento", start, pw.OPERADOR).case_id
    return good, bad


def _failing_after_writing(bad_case_id: int):
    """``effects.apply`` that writes the document and the message, then fails for one case."""
    apply = effects.apply

    def apply_then_fail(session, case, *args, **kwargs):
        apply(session, case, *args, **kwargs)
        if case.id == bad_case_id:
            raise RuntimeError("falla después de escribir")

    return apply_then_fail


def test_a_firing_that_fails_after_writing_rolls_back_alone_and_its_retry_mails_once(office, two_cases, monkeypatch):
    good, bad = two_cases
    monkeypatch.setattr(effects, "apply", _failing_after_writing(bad))
    office.clock.advance(days=3, seconds=1)

    result = office.atiende.run_timer_sweep()

    assert (result.loaded, result.fired, result.failed) == (2, 1, 1)
    assert [m.case_id for m in office.rows(OutboxMessage)] == [good]
    assert [d.case_id for d in office.rows(Document)] == [good]
    assert [c.status for c in office.rows(Case)] == ["escalado a la unidad", "abierto"]
    assert office.task(good, "atender") is not None
    assert office.task(bad, "revisar") is not None and office.task(bad, "atender") is None
    kinds = [e.kind for e in office.rows(AuditEvent, case_id=bad)]
    assert kinds == ["caso_creado", "incidencia_registrada"]
    [incident] = office.rows(Incident, case_id=bad)
    assert incident.original == "RuntimeError: falla después de escribir"
    assert office.rows(Case, id=bad)[0].timer_due_at is None  # left alone while its incident is open

    monkeypatch.undo()  # the cause is fixed; «Reintentar» fires it
    office.clock.advance(minutes=16)
    assert office.atiende.run_timer_sweep().loaded == 0
    incidents.retry(office.atiende, incident.id, Actor("analista", frozenset({"analista"})))

    assert sorted(m.case_id for m in office.rows(OutboxMessage)) == [good, bad]
    assert sorted(d.case_id for d in office.rows(Document)) == [good, bad]
    assert office.rows(Case, id=bad)[0].status == "escalado a la unidad"
    assert office.task(bad, "atender") is not None
    assert office.atiende.run_timer_sweep().loaded == 0  # nothing left to fire: no second mail


def test_a_database_error_in_one_firing_does_not_abort_the_batch(office, two_cases, monkeypatch):
    """On PostgreSQL a failed statement aborts the transaction: only a savepoint lets the batch go on."""
    good, bad = two_cases
    apply = effects.apply

    def apply_then_break(session, case, *args, **kwargs):
        apply(session, case, *args, **kwargs)
        if case.id == bad:
            session.execute(Case.__table__.insert().values(id=good))  # an id that exists: IntegrityError

    monkeypatch.setattr(effects, "apply", apply_then_break)
    office.clock.advance(days=3, seconds=1)

    result = office.atiende.run_timer_sweep()

    assert (result.fired, result.failed) == (1, 1)
    assert [m.case_id for m in office.rows(OutboxMessage)] == [good]
    assert [c.status for c in office.rows(Case)] == ["escalado a la unidad", "abierto"]
    assert [e.kind for e in office.rows(AuditEvent, case_id=bad)] == ["caso_creado", "incidencia_registrada"]


def test_a_migration_that_fails_for_one_case_leaves_it_as_it_was_and_moves_the_others(
    atiende, desk, tmp_path, monkeypatch
):
    """The same for the other batch of cases: moving waiting cases to a new version, one transaction each."""
    bad, good = desk.start(), desk.start()
    diagrams = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, diagrams)
    edit(diagrams, '"R/P14D"', '"R/P10D"')
    target_id = deploy_v2(atiende, diagrams)
    resume = atiende.runtime.resume

    def resume_then_fail(session, case, *args, **kwargs):
        advanced = resume(session, case, *args, **kwargs)
        if case.id == bad:
            raise RuntimeError("falla después de escribir")
        return advanced

    monkeypatch.setattr(atiende.runtime, "resume", resume_then_fail)

    outcomes = {o.case_id: o for o in case_migration.migrate(atiende, [bad, good], target_id, "analista")}

    assert outcomes[good].migrated and not outcomes[bad].migrated
    assert "error del sistema" in outcomes[bad].message
    assert desk.case(good).procedure_version_id == target_id
    assert desk.case(bad).procedure_version_id != target_id and desk.history(bad, "caso_migrado") == []
