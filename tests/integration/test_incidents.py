"""A step that fails at run time is rolled back and recorded as an incident (engine.cases.incidents).

The diagram is tests/fixtures/diagrams.py's ``one_task`` (start → script «Marcar» → task «Revisar» with a
non-interrupting three-day timer → gateway → ends), broken in the ways an analyst breaks one.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import select

from engine.access.accounts import Actor
from engine.bpm.runtime import Runtime
from engine.cases import incidents
from engine.db import case_rows
from engine.db.models import AuditEvent, Case, HumanTask, Incident
from engine.errors import IncidentRefused, ProcedureError, StepFailed
from engine.facade import Atiende
from engine.paperwork import aprobacion
from engine.procedures import case_migration
from tests.fixtures.desk import COORDINADOR
from tests.fixtures.diagrams import NOTE_FORM, one_task
from tests.fixtures.row_held import while_row_held

OPERADOR = Actor("operador", frozenset({"operador"}))
ANALISTA = Actor("analista", frozenset({"analista"}))
MISSING = "urgencia == 'alta'"  # the form asks for «prioridad»: no case has «urgencia»
TIMER_END = '<bpmn:endEvent id="end_t"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>'


def with_timer_script(xml: str, script: str) -> str:
    """The diagram with a script «Avisar» on the timer's path, before its end."""
    return xml.replace('<bpmn:sequenceFlow id="f6" sourceRef="bt" targetRef="end_t"/>', "").replace(
        TIMER_END,
        f'<bpmn:scriptTask id="aviso" name="Avisar"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>'
        f"<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="end_t"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f6" sourceRef="bt" targetRef="aviso"/>'
        '<bpmn:sequenceFlow id="f7" sourceRef="aviso" targetRef="end_t"/>',
    )


@pytest.fixture
def engine(store, frozen_clock):
    return Atiende(store, frozen_clock)


def deploy(engine: Atiende, xml: str) -> int:
    [version] = engine.deploy({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, "analista")
    return version.id


def rows(engine: Atiende, model, **where):
    with engine.store.read() as s:
        return list(s.scalars(select(model).filter_by(**where).order_by(model.id)))


def pending(engine: Atiende, case_id: int) -> list[str]:
    return [t.bpmn_id for t in rows(engine, HumanTask, case_id=case_id)]


def started_at_review(engine: Atiende, xml: str) -> tuple[int, str]:
    deploy(engine, xml)
    case_id = engine.start_case("prueba", {}, OPERADOR).case_id
    [task] = rows(engine, HumanTask, case_id=case_id)
    return case_id, task.id


def test_a_condition_on_a_missing_variable_is_rolled_back_and_recorded_once_per_case_and_element(engine, frozen_clock):
    case_id, task_id = started_at_review(engine, one_task(condition=MISSING))

    with pytest.raises(StepFailed) as failed:
        engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)

    [incident] = rows(engine, Incident)
    assert str(failed.value) == (
        f'El paso "gw" del procedimiento no pudo completarse: la condición «{MISSING}» usa la variable "urgencia", '
        f"que el caso no tiene. Se registró la incidencia {incident.id}."
    )
    assert failed.value.incident_id == incident.id
    assert (incident.case_id, incident.element_id, incident.kind, incident.state) == (case_id, "gw", "tarea", "abierta")
    assert incident.process_id == "prueba" and incident.attempts == 1
    assert "urgencia" in incident.original and "NameError" in incident.original
    assert incident.task_id == task_id and incident.data == {"prioridad": "alta"} and incident.actor == "operador"
    assert pending(engine, case_id) == ["ut"]  # the completion was rolled back
    assert [e.kind for e in rows(engine, AuditEvent, case_id=case_id)] == ["caso_creado", "incidencia_registrada"]

    frozen_clock.advance(minutes=5)
    with pytest.raises(StepFailed):
        engine.complete_task(task_id, {"prioridad": "normal"}, OPERADOR)

    [again] = rows(engine, Incident)
    assert again.id == incident.id and again.attempts == 2
    assert again.last_seen_at > again.first_seen_at == incident.first_seen_at
    assert again.data == {"prioridad": "normal"}  # the latest submission is the one a retry repeats


@pytest.mark.parametrize(
    ("broken", "element", "reason"),
    [
        (
            {"condition": "prioridad == 'baja'", "default": False},
            "gw",
            "ninguna salida de la compuerta cumple su condición y no tiene una salida por defecto",
        ),
        ({"script": "total = 1 / 0"}, "st", "el script divide entre cero (línea 1)"),
        (
            {"script": "marcado = True\ntotal = monto + 1"},
            "st",
            'el script usa la variable "monto", que el caso no tiene',
        ),
    ],
)
def test_each_common_failure_is_named_in_spanish(engine, broken, element, reason):
    xml = one_task(**{k: v for k, v in broken.items() if k != "default"})
    if broken.get("default") is False:
        xml = xml.replace(' default="f5"', "").replace(
            '<bpmn:sequenceFlow id="f5" sourceRef="gw" targetRef="end_b"/>',
            '<bpmn:sequenceFlow id="f5" sourceRef="gw" targetRef="end_b">'
            "<bpmn:conditionExpression>prioridad == 'media'</bpmn:conditionExpression></bpmn:sequenceFlow>",
        )
    deploy(engine, xml)

    with pytest.raises(StepFailed) as failed:
        if element == "st":  # the script runs as the case starts
            engine.start_case("prueba", {}, OPERADOR)
        else:
            [task] = rows(engine, HumanTask, case_id=engine.start_case("prueba", {}, OPERADOR).case_id)
            engine.complete_task(task.id, {"prioridad": "alta"}, OPERADOR)

    assert failed.value.reason == reason
    [incident] = rows(engine, Incident)
    assert incident.element_id == element and incident.reason == reason


def test_a_failed_start_leaves_no_case_and_cannot_be_retried_only_marked_resolved(engine):
    deploy(engine, one_task(script="total = 1 / 0"))

    for _ in range(2):
        with pytest.raises(StepFailed):
            engine.start_case("prueba", {}, OPERADOR)

    assert rows(engine, Case) == []
    [incident] = rows(engine, Incident)
    assert (incident.case_id, incident.kind, incident.element_name, incident.attempts) == (None, "inicio", "Marcar", 2)
    with pytest.raises(IncidentRefused, match="no llegó a crearse"):
        incidents.retry(engine, incident.id, ANALISTA)

    incidents.resolve(engine, incident.id, ANALISTA)

    [resolved] = rows(engine, Incident)
    assert (resolved.state, resolved.resolved_by) == ("resuelta", "analista")
    assert [e.kind for e in rows(engine, AuditEvent, kind="incidencia_resuelta")] == ["incidencia_resuelta"]


def test_after_a_fixed_version_and_the_case_migrated_a_retry_moves_the_case_on_and_resolves_it(engine):
    case_id, task_id = started_at_review(engine, one_task(condition=MISSING))
    with pytest.raises(StepFailed):
        engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)
    [incident] = rows(engine, Incident)

    with pytest.raises(StepFailed):  # nothing fixed yet: one more attempt, still open
        incidents.retry(engine, incident.id, ANALISTA)
    assert rows(engine, Incident)[0].attempts == 2

    fixed = deploy(engine, one_task(condition="prioridad == 'alta'"))
    [outcome] = case_migration.migrate(engine, [case_id], fixed, "analista")
    assert outcome.migrated
    incidents.retry(engine, incident.id, ANALISTA)

    assert pending(engine, case_id) == []
    [done] = rows(engine, Incident)
    assert (done.state, done.resolved_by, done.attempts) == ("resuelta", "analista", 3)
    events = rows(engine, AuditEvent, case_id=case_id)
    completion = next(e for e in events if e.kind == "tarea_completada")
    assert completion.actor == "operador" and completion.detail["datos"] == {"prioridad": "alta"}
    assert [e.kind for e in events if e.kind.startswith("incidencia")] == [
        "incidencia_registrada",
        "incidencia_reintentada",
        "incidencia_reintentada",
        "incidencia_resuelta",
    ]
    with pytest.raises(IncidentRefused, match="ya está resuelta"):
        incidents.retry(engine, incident.id, ANALISTA)


def test_the_person_completing_the_task_after_the_fix_resolves_the_incident(engine):
    case_id, task_id = started_at_review(engine, one_task(condition=MISSING))
    with pytest.raises(StepFailed):
        engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)
    fixed = deploy(engine, one_task(condition="prioridad == 'alta'"))
    case_migration.migrate(engine, [case_id], fixed, "analista")

    engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)

    assert [i.state for i in rows(engine, Incident)] == ["resuelta"]
    assert _no_open_incident(engine, case_id)


def test_the_sweep_records_a_failing_timer_and_does_not_retry_it_until_fixed(engine, frozen_clock):
    case_id, _task_id = started_at_review(engine, with_timer_script(one_task(), "aviso = sin_definir"))
    frozen_clock.advance(days=3, seconds=1)

    result = engine.run_timer_sweep()

    assert (result.fired, result.failed) == (0, 1)
    [incident] = rows(engine, Incident)
    assert (incident.case_id, incident.kind, incident.element_id, incident.element_name) == (
        case_id,
        "temporizador",
        "aviso",
        "Avisar",
    )
    assert incident.reason == 'el script usa la variable "sin_definir", que el caso no tiene'
    assert [e.kind for e in rows(engine, AuditEvent, case_id=case_id)] == ["caso_creado", "incidencia_registrada"]

    frozen_clock.advance(hours=2)  # no silent retry every 15 minutes while the incident is open
    assert engine.run_timer_sweep().loaded == 0
    assert rows(engine, Incident)[0].attempts == 1

    fixed = deploy(engine, with_timer_script(one_task(), "aviso = True"))
    case_migration.migrate(engine, [case_id], fixed, "analista")
    incidents.retry(engine, incident.id, ANALISTA)

    assert rows(engine, Incident)[0].state == "resuelta"
    with engine.store.read() as s:
        assert {"aviso", "end_t"} <= engine.case_path(s, s.get(Case, case_id)).done  # the timer's path ran
    assert pending(engine, case_id) == ["ut"]  # the timer was non-interrupting: the review still waits
    frozen_clock.advance(days=30)
    assert engine.run_timer_sweep().loaded == 0  # fired once; nothing else armed


def test_marking_a_timer_incident_resolved_arms_the_case_again_for_the_sweep(engine, frozen_clock):
    case_id, _task_id = started_at_review(engine, with_timer_script(one_task(), "aviso = sin_definir"))
    frozen_clock.advance(days=3, seconds=1)
    engine.run_timer_sweep()
    [incident] = rows(engine, Incident)

    incidents.resolve(engine, incident.id, ANALISTA)

    assert rows(engine, Case)[0].timer_due_at is not None
    assert engine.run_timer_sweep().failed == 1  # the sweep tries it again: still broken, a new incident opens
    assert [(i.state, i.attempts) for i in rows(engine, Incident)] == [("resuelta", 1), ("abierta", 1)]


def _no_open_incident(engine: Atiende, case_id: int) -> bool:
    with engine.store.read() as s:
        return s.scalar(select(Incident).where(Incident.case_id == case_id, Incident.state == incidents.OPEN)) is None


def with_timer_message(xml: str, ticket: str) -> str:
    """The diagram whose timer's path throws a message «aviso» to the case ``ticket``."""
    throw = (
        '<bpmn:intermediateThrowEvent id="avisar" name="Avisar al otro caso"><bpmn:incoming>f6</bpmn:incoming>'
        '<bpmn:outgoing>f7</bpmn:outgoing><bpmn:messageEventDefinition id="md" messageRef="m_aviso">'
        f"<bpmn:extensionElements><spiffworkflow:messagePayload>{{'ticket': '{ticket}'}}"
        "</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:messageEventDefinition>"
        "</bpmn:intermediateThrowEvent>"
        '<bpmn:endEvent id="end_t"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f6" sourceRef="bt" targetRef="avisar"/>'
        '<bpmn:sequenceFlow id="f7" sourceRef="avisar" targetRef="end_t"/>'
    )
    return (
        xml.replace('<bpmn:sequenceFlow id="f6" sourceRef="bt" targetRef="end_t"/>', "")
        .replace(TIMER_END, throw)
        .replace('<bpmn:process id="prueba"', '<bpmn:message id="m_aviso" name="aviso"/>\n  <bpmn:process id="prueba"')
    )


def test_a_message_a_timer_throws_that_no_case_takes_is_an_incident_and_the_step_stands(engine, frozen_clock):
    case_id, _task_id = started_at_review(engine, with_timer_message(one_task(), "AC-2026-999999"))
    frozen_clock.advance(days=3, seconds=1)

    assert engine.run_timer_sweep().fired == 1  # the timer's step stands

    [incident] = rows(engine, Incident)
    assert (incident.kind, incident.case_id, incident.element_id) == ("mensaje", case_id, "aviso")
    assert incident.reason == "no existe el caso AC-2026-999999"
    assert [e.kind for e in rows(engine, AuditEvent, case_id=case_id)][-2:] == [
        "temporizador_disparado",
        "incidencia_registrada",
    ]
    with pytest.raises(IncidentRefused, match="haga el seguimiento"):
        incidents.retry(engine, incident.id, ANALISTA)
    incidents.resolve(engine, incident.id, ANALISTA)
    assert rows(engine, Incident)[0].state == "resuelta"


def test_a_bulk_approval_whose_step_fails_names_its_incident(desk, monkeypatch):
    """The coordinator's «Aprobar hojas» reports each failure in the incident's words, not «error del sistema»."""
    case_id = desk.start()
    template = next(t for t in desk.ready(case_id) if t.startswith("Task_plantilla_"))
    desk.do(case_id, template)
    desk.do(case_id, "Task_confeccionar_hoja")
    approval = desk.task(case_id, "Task_aprobar_hoja")

    def broken(*args, **kwargs):
        raise ProcedureError("falla simulada")

    monkeypatch.setattr(Runtime, "_project_tasks", staticmethod(broken))
    [outcome] = aprobacion.approve_many(desk.atiende, [approval.id], COORDINADOR)

    [incident] = rows(desk.atiende, Incident)
    assert not outcome.approved
    assert outcome.message == (
        f'El paso "Aprobar hoja de trámite" del procedimiento no pudo completarse: falla simulada. '
        f"Se registró la incidencia {incident.id}."
    )


def test_a_retry_whose_submission_the_new_form_refuses_says_the_task_must_be_done_again(engine):
    case_id, task_id = started_at_review(engine, one_task(condition=MISSING))
    with pytest.raises(StepFailed):
        engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)
    stricter = {
        **NOTE_FORM,
        "properties": {**NOTE_FORM["properties"], "motivo": {"type": "string", "title": "Motivo", "maxLength": 200}},
        "required": ["prioridad", "motivo"],
    }
    [fixed] = engine.deploy({"prueba.bpmn": one_task(condition="prioridad == 'alta'")}, {"nota": stricter}, "analista")
    case_migration.migrate(engine, [case_id], fixed.id, "analista")
    [incident] = rows(engine, Incident)

    with pytest.raises(IncidentRefused, match="debe completarla de nuevo desde su bandeja"):
        incidents.retry(engine, incident.id, ANALISTA)

    assert pending(engine, case_id) == ["ut"] and rows(engine, Incident)[0].state == "abierta"


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_completion_that_resolves_an_incident_locks_its_row_before_taking_the_chain(engine):
    """The chain's lock stays the last a transaction takes: a completion that must resolve an open
    incident after its step, whose writes therefore do not end the transaction
    (``statements.may_end_with_the_step``), waits for the incident's row without holding the chain,
    which every other writer needs to commit."""
    case_id, task_id = started_at_review(engine, one_task(condition=MISSING))
    with pytest.raises(StepFailed):
        engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)
    case_migration.migrate(engine, [case_id], deploy(engine, one_task(condition="prioridad == 'alta'")), "analista")
    [incident] = rows(engine, Incident)
    waited = while_row_held(
        engine.store, "incident", incident.id, lambda: engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)
    )
    assert waited.failures == [] and waited.held_advisory is False
    assert [i.state for i in rows(engine, Incident)] == ["resuelta"]


@pytest.mark.parametrize("trouble", [True, False], ids=["database-trouble", "value-refused"])
def test_a_refusal_of_the_steps_own_statements_is_an_incident_only_when_the_data_caused_it(
    engine, monkeypatch, trouble
):
    """The step's writes run on the driver's cursor (``engine.db.statements``), whose errors SQLAlchemy does
    not wrap: the database in trouble (here a deadlock) is no failure of the procedure, and passes; a value
    it refuses (too long for its column) is the step's, recorded as its incident."""
    _case_id, task_id = started_at_review(engine, one_task())
    sqlite = engine.store.is_sqlite
    if trouble:
        refusal = (
            sqlite3.OperationalError("database is locked")
            if sqlite
            else psycopg.errors.DeadlockDetected("deadlock detected")
        )
    else:
        refusal = (
            sqlite3.IntegrityError("CHECK constraint failed")
            if sqlite
            else psycopg.errors.StringDataRightTruncation("value too long for type character varying(200)")
        )

    def refused(*_args, **_kwargs):
        raise refusal

    monkeypatch.setattr(case_rows, "save_workflow", refused)
    with pytest.raises(type(refusal) if trouble else StepFailed):
        engine.complete_task(task_id, {"prioridad": "alta"}, OPERADOR)
    assert len(rows(engine, Incident)) == (0 if trouble else 1)


def test_a_task_named_beyond_its_column_is_listed_by_its_first_200_characters(engine):
    """An analyst's long task name is no failure of every case that reaches it: PostgreSQL would refuse
    it whole in ``human_task.name`` (200 characters), SQLite would keep it whole."""
    long_name = "Revisar " + "con detalle " * 25
    case_id, _task_id = started_at_review(engine, one_task(name=long_name))
    assert [t.name for t in rows(engine, HumanTask, case_id=case_id)] == [long_name[:200]]
    assert rows(engine, Incident) == []
