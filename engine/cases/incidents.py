"""Incidents, as Camunda calls them: a step that failed at run time, rolled back and recorded.

A start, a task completion, a timer firing or a message delivery whose step fails (a condition
naming a variable the case lacks, a gateway with no way out, a script error, a step over its
budget) leaves the case as it was and an incident row: the case, the procedure version, the
element and why in Spanish (``engine.bpm.failures``) with the library's message beside it, when
first and last seen, how many attempts. The same step failing again counts an attempt on the
same open row. An analyst or a coordinator reads them on «Incidencias» and, after a fix (a new
version deployed and the case migrated, or the data corrected), retries them:

- ``tarea``: the submission is completed again, as the person who sent it, with the data kept
  (cleaned again against the form of the case's version now);
- ``temporizador``: the case's due timers are fired again. While the incident is open the sweep
  leaves the case alone (``Case.timer_due_at`` is cleared) instead of failing every pass; a
  migration re-arms it, and «Marcar resuelta» does too, so the sweep tries it again;
- ``inicio``: there is no case to retry: the form was kept for the person who registered it,
  who registers it again after the fix; the incident is marked resolved;
- ``mensaje``: a message a timer's step threw could not be delivered; the step stands, a person
  follows it up with the case it named, and marks the incident resolved.

A step that later goes through (the person completes the task after the fix, the sweep fires a
migrated case) resolves its open incident. Each change is an audit event: ``incidencia_registrada``,
``incidencia_reintentada``, ``incidencia_resuelta``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from engine.access import permissions
from engine.access.accounts import Actor
from engine.audit import trail as audit
from engine.bpm import failures
from engine.bpm.runtime import next_timer_due
from engine.cases import attachments
from engine.db import case_rows
from engine.db.models import Case, Incident, ProcedureVersion
from engine.db.statements import DATABASE_TROUBLE, AfterTheEnd, Statement, savepoint
from engine.errors import (
    Forbidden,
    FormErrors,
    IncidentRefused,
    NotFound,
    StepFailed,
    TaskAlreadyDone,
    Undeliverable,
)
from engine.procedures.versions import Procedure

START, TASK, TIMER, MESSAGE = "inicio", "tarea", "temporizador", "mensaje"
OPEN, RESOLVED = "abierta", "resuelta"
KIND_NAMES = {START: "Inicio del caso", TASK: "Tarea", TIMER: "Temporizador", MESSAGE: "Mensaje"}
RETRIABLE = frozenset({TASK, TIMER})
# Not the procedure's failure: the person's input, their rights, a race, the database itself.
NOT_A_STEP_FAILURE: tuple[type[Exception], ...] = (
    FormErrors,
    Undeliverable,
    NotFound,
    Forbidden,
    TaskAlreadyDone,
    IncidentRefused,
    SQLAlchemyError,
    *DATABASE_TROUBLE,  # as the statements run on the driver's cursor raise it
    AfterTheEnd,  # a programming error after the step committed
)


@dataclass(frozen=True)
class Step:
    """The step being taken: enough to name it when the error names no element, and to repeat it."""

    kind: str
    version_id: int
    process_id: str
    actor: str
    element_id: str
    element_name: str
    case_id: int | None = None
    task_id: str | None = None
    data: dict | None = field(default=None, hash=False)

    @classmethod
    def of(cls, kind: str, procedure: Procedure, actor: str, element_id: str, element_name: str, **more) -> Step:
        return cls(kind, procedure.version_id, procedure.process_id, actor, element_id, element_name, **more)


class Failed(Exception):
    """A step failed inside a unit of work; raised out of it so it rolls back, then recorded (``record``)."""

    def __init__(self, step: Step, fault: failures.Fault):
        super().__init__(fault.reason)
        self.step = step
        self.fault = fault

    @classmethod
    def of(cls, step: Step, exc: BaseException) -> Failed:
        return cls(step, failures.explain(exc, step.element_id, step.element_name))


@contextlib.contextmanager
def guard(step: Step) -> Iterator[None]:
    """Turn a failure of the procedure's step into ``Failed``; the person's and the database's errors pass."""
    try:
        yield
    except NOT_A_STEP_FAILURE:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the diagram's step raised is its incident
        raise Failed.of(step, exc) from exc


def record(atiende, failed: Failed, retried_by: str | None = None) -> StepFailed:
    """Record a failure in a transaction of its own (the step's rolled back); the error to raise."""
    now = atiende.now()
    with atiende.unit_of_work() as s:
        incident = note(s, failed.step, failed.fault, now, retried_by)
    return StepFailed(incident.id, incident.element_name, incident.reason)


def note(session: Session, step: Step, fault: failures.Fault, now: datetime, retried_by: str | None = None) -> Incident:
    """Open the incident of this step, or count one more attempt on the one already open."""
    key = (
        f"{step.kind}:{step.case_id}:{fault.element_id}"
        if step.case_id
        else f"{START}:{step.process_id}:{fault.element_id}"
    )
    incident = _open_by_key(session, key)
    if incident is None:
        try:
            with savepoint(session):
                incident = Incident(open_key=key, state=OPEN, attempts=0, first_seen_at=now)
                _seen(incident, step, fault, now)
                session.add(incident)
                session.flush()
        except IntegrityError:  # another process opened it a moment ago: count on theirs
            incident = _open_by_key(session, key)
            if incident is None:
                raise
            _seen(incident, step, fault, now)
    else:
        _seen(incident, step, fault, now)
    session.flush()
    audit.record(
        session,
        now,
        retried_by or step.actor,
        "incidencia_reintentada" if retried_by else "incidencia_registrada",
        case_id=step.case_id,
        detail={
            "incidencia": incident.id,
            "elemento": incident.element_id,
            "nombre": incident.element_name,
            "motivo": incident.reason,
            "intentos": incident.attempts,
            **({"resultado": "falló"} if retried_by else {}),
        },
    )
    return incident


def note_error(session: Session, step: Step, exc: BaseException, now: datetime) -> Incident:
    """``note`` for an error caught where the step ran (the sweep's savepoint, a message's delivery)."""
    return note(session, step, failures.explain(exc, step.element_id, step.element_name), now)


def _open_by_key(session: Session, key: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.open_key == key).with_for_update())


def _seen(incident: Incident, step: Step, fault: failures.Fault, now: datetime) -> None:
    """The latest attempt's facts: a retry repeats the latest submission, on the case's version now."""
    incident.kind, incident.case_id, incident.task_id = step.kind, step.case_id, step.task_id
    incident.procedure_version_id, incident.process_id = step.version_id, step.process_id
    incident.element_id, incident.element_name = fault.element_id, fault.element_name
    incident.reason, incident.original = fault.reason, fault.original
    incident.actor, incident.data = step.actor, step.data
    incident.last_seen_at = now
    incident.attempts = (incident.attempts or 0) + 1


# -- a later step that goes through ----------------------------------------------------------
def passed(
    session: Session,
    case_id: int,
    kind: str,
    actor: str,
    now: datetime,
    task_id: str | None = None,
    open_rows: list | None = None,
) -> None:
    """Resolve the open incidents of a case that a step which just went through leaves behind.

    A task's: its completion (by whoever, after the fix); a timer's: a firing of the case.
    On the completion's path: one indexed read on the driver's cursor (an ORM UPDATE there was
    a sixth of a completion's cost, bench/engine.py --profile), the UPDATE only when one is open.
    ``open_rows``: what ``of_task_read`` gave, read with the completion's first reads.
    """
    found = open_rows if open_rows is not None else _OPEN_OF_CASE.all(session, {"case_id": case_id, "kind": kind})
    incident_ids = [row.id for row in found if task_id is None or row.task_id == task_id]
    if not incident_ids:
        return
    session.execute(
        update(Incident)
        .where(Incident.id.in_(incident_ids))
        .values(state=RESOLVED, open_key=None, resolved_at=now, resolved_by=actor),
        execution_options={"synchronize_session": False},
    )
    for incident_id in incident_ids:
        audit.record(
            session,
            now,
            actor,
            "incidencia_resuelta",
            case_id=case_id,
            detail={"incidencia": incident_id, "como": "el paso se completó"},
        )


_OPEN_OF_CASE = Statement(
    select(Incident.id, Incident.task_id).where(
        Incident.case_id == bindparam("case_id"), Incident.kind == bindparam("kind"), Incident.state == OPEN
    )
)


_OPEN_OF_TASK = Statement(
    select(Incident.id, Incident.task_id).where(
        Incident.task_id == bindparam("task_id"), Incident.kind == TASK, Incident.state == OPEN
    )
)


def of_task_read(task_id: str) -> tuple[Statement, dict]:
    """The read of a task's open incidents, for its completion to send with its first reads
    (``statements.together``: on PostgreSQL no round trip of its own) and give to ``passed``."""
    return _OPEN_OF_TASK, {"task_id": task_id}


def open_case_ids(session: Session, kind: str, case_ids: list[int]) -> set[int]:
    """Which of these cases have an open incident of ``kind`` (one query for a sweep's batch)."""
    if not case_ids:
        return set()
    query = select(Incident.case_id).where(
        Incident.state == OPEN, Incident.kind == kind, Incident.case_id.in_(case_ids)
    )
    return {case_id for case_id in session.scalars(query) if case_id is not None}


# -- the Incidencias page ----------------------------------------------------------------------
@dataclass(frozen=True)
class Listed:
    incident: Incident
    ticket: str | None
    direccion: str | None


@dataclass(frozen=True)
class Group:
    """The open incidents of one element of one procedure, newest first."""

    process_id: str
    procedure_name: str
    element_id: str
    element_name: str
    items: list[Listed]


def open_groups(session: Session) -> list[Group]:
    """Every open incident, grouped by procedure and element, the procedures by name."""
    rows = session.execute(
        select(Incident, Case.ticket, Case.direccion, ProcedureVersion.name)
        .join(ProcedureVersion, ProcedureVersion.id == Incident.procedure_version_id)
        .outerjoin(Case, Case.id == Incident.case_id)
        .where(Incident.state == OPEN)
        .order_by(ProcedureVersion.name, Incident.process_id, Incident.element_id, Incident.last_seen_at.desc())
    ).all()
    groups: dict[tuple[str, str], Group] = {}
    for incident, ticket, direccion, procedure_name in rows:
        group = groups.setdefault(
            (incident.process_id, incident.element_id),
            Group(incident.process_id, procedure_name, incident.element_id, incident.element_name, []),
        )
        group.items.append(Listed(incident, ticket, direccion))
    return list(groups.values())


_INCIDENTS = cast(Table, Incident.__table__)
_NEWEST_OPEN_OF_CASE = Statement(
    select(*_INCIDENTS.c)
    .where(_INCIDENTS.c.case_id == bindparam("case_id"), _INCIDENTS.c.state == OPEN)
    .order_by(_INCIDENTS.c.last_seen_at.desc())
    .limit(1)
)


def open_of_case_read(case_id: int) -> tuple[Statement, dict]:
    """The read of the case's open incident (the newest, if several elements failed; no row if none),
    for its page to send with its other reads (``statements.together``)."""
    return _NEWEST_OPEN_OF_CASE, {"case_id": case_id}


# -- retry and resolve -------------------------------------------------------------------------
def retry(atiende, incident_id: int, actor: Actor) -> None:
    """Take the incident's step again; it is resolved if it goes through, else one more attempt is counted.

    Raises ``IncidentRefused`` for one that cannot be retried (resolved, a start, a message, a task
    no longer pending) and ``StepFailed`` when the step fails again.
    """
    _may_handle(actor)
    now = atiende.now()
    moved: list = []
    try:
        with atiende.unit_of_work() as s:
            incident = _pending(s, incident_id)
            if incident.kind not in RETRIABLE:
                raise IncidentRefused(_NOT_RETRIABLE[incident.kind])
            step = Step(
                incident.kind,
                incident.procedure_version_id,
                incident.process_id,
                incident.actor,
                incident.element_id,
                incident.element_name,
                incident.case_id,
                incident.task_id,
                incident.data,
            )
            with guard(step):
                moved = _take_again(atiende, s, incident, now)
            audit.record(
                s,
                now,
                actor.username,
                "incidencia_reintentada",
                case_id=incident.case_id,
                detail={"incidencia": incident.id, "resultado": "resuelta"},
            )
            incident.attempts += 1
            incident.last_seen_at = now
            _resolved(s, incident, actor.username, now, "reintento")
    except Failed as failed:
        step = replace(failed.step, version_id=_version_now(atiende, failed.step))
        raise record(atiende, Failed(step, failed.fault), retried_by=actor.username) from failed
    for advanced in moved:
        atiende.runtime.remember(advanced)


_NOT_RETRIABLE = {
    START: (
        "el caso no llegó a crearse: quien lo registraba conserva su formulario y lo registra de nuevo "
        "una vez corregido el procedimiento; luego marque la incidencia como resuelta"
    ),
    MESSAGE: (
        "el paso que envió el mensaje quedó hecho; haga el seguimiento con el caso al que iba "
        "y marque la incidencia como resuelta"
    ),
}


def _take_again(atiende, session: Session, incident: Incident, now: datetime) -> list:
    from engine.cases import runs  # imported here: runs records its undelivered messages with this module

    if incident.kind == TASK:
        found = case_rows.task_with_case(session, str(incident.task_id), locked_again=not atiende.store.is_sqlite)
        if found is None:
            raise IncidentRefused(
                "la tarea ya no está pendiente (el caso siguió por otro camino); marque la incidencia como resuelta"
            )
        task, case, _also = found
        procedure = atiende.procedure(session, case.procedure_version_id)
        try:  # the form of the case's version now; the files sent went with the rollback
            data = atiende.clean_form(session, procedure, task.form, incident.data or {})
            schema = procedure.forms.get(task.form) if task.form is not None else None
            attachments.attach_fields(session, schema, data, case.id)
        except FormErrors as invalid:
            raise IncidentRefused(
                f"los datos enviados no sirven para la versión actual del formulario ({invalid}); "
                "quien hace la tarea debe completarla de nuevo desde su bandeja"
            ) from invalid
        advanced = atiende.runtime.complete(session, case, procedure, task.id, data, incident.actor, now)
        try:
            return [advanced, *runs.deliver(atiende, session, case.ticket, advanced, now)]
        except Undeliverable as exc:
            raise IncidentRefused(f"no se guardó: {exc}") from exc
    timed = session.get(Case, incident.case_id, with_for_update=True)
    if timed is None:
        raise NotFound("el caso no existe")
    procedure = atiende.procedure(session, timed.procedure_version_id)
    result, _names = atiende.runtime.fire_timers(session, timed, procedure, now)
    if result.messages:
        runs.deliver_or_record(atiende, session, timed, result, now)
    return []  # a timer's case is not kept in memory, as the sweep keeps none


def _version_now(atiende, step: Step) -> int:
    """The case's version when a retry fails (it may have been migrated since the incident opened)."""
    if step.case_id is None:
        return step.version_id
    with atiende.store.read() as s:
        case = s.get(Case, step.case_id)
        return case.procedure_version_id if case is not None else step.version_id


def resolve(atiende, incident_id: int, actor: Actor) -> None:
    """Mark the incident resolved without taking its step again (fixed by other means, or a start or
    a message). A timer's case is armed again, so the sweep fires it (and records it again if it fails)."""
    _may_handle(actor)
    now = atiende.now()
    with atiende.unit_of_work() as s:
        incident = _pending(s, incident_id)
        if incident.kind == TIMER and incident.case_id is not None:
            case = s.get(Case, incident.case_id, with_for_update=True)
            if case is not None:
                case.timer_due_at = _next_due(atiende, s, case, now)
        _resolved(s, incident, actor.username, now, "marcada")


def _next_due(atiende, session: Session, case: Case, now: datetime) -> datetime | None:
    """When the sweep should fire the case again: its earliest armed timer; now if its workflow cannot
    even be read (the sweep then records the incident again, with the reason)."""
    try:
        workflow = atiende.runtime.load(session, case, atiende.procedure(session, case.procedure_version_id))
    except Exception:  # noqa: BLE001 - whatever broke it, the sweep's next pass says so as an incident
        return now
    return next_timer_due(workflow)


def _may_handle(actor: Actor) -> None:
    if not permissions.may_handle_incidents(actor):
        raise Forbidden("solo un analista o un coordinador puede reintentar o resolver incidencias")


def _pending(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound("la incidencia no existe")
    if incident.state != OPEN:
        raise IncidentRefused(f"la incidencia {incident.id} ya está resuelta")
    return incident


def _resolved(session: Session, incident: Incident, actor: str, now: datetime, how: str) -> None:
    incident.state, incident.open_key = RESOLVED, None
    incident.resolved_at, incident.resolved_by = now, actor
    audit.record(
        session,
        now,
        actor,
        "incidencia_resuelta",
        case_id=incident.case_id,
        detail={"incidencia": incident.id, "como": {"reintento": "reintentada", "marcada": "marcada resuelta"}[how]},
    )
