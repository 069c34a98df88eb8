"""Opening cases (by a person or by the scheduler) and handing on the messages their steps throw.

Both live inside the caller's unit of work: a case and its ticket, a scheduled run and the
move of its schedule, a meeting's acta and the sugerencias it closes are committed together
or not at all. ``Atiende`` (engine.facade) is the caller; it passes itself in.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import trail as audit
from engine.bpm import messages, start_events
from engine.bpm.runtime import Advanced
from engine.cases import incidents, selectors, tickets
from engine.db.models import Case, Schedule
from engine.db.statements import savepoint
from engine.errors import Undeliverable
from engine.procedures.versions import Procedure

log = logging.getLogger(__name__)
MAX_HOPS = 20  # a message may cause a step that throws another; a loop of them stops here
SCHEDULE_RETRY_AFTER = timedelta(minutes=15)  # a schedule whose runs failed is tried again after this


def open_case(
    atiende,
    session: Session,
    procedure: Procedure,
    data: dict,
    actor: str,
    now: datetime,
    start_event: str | None = None,
) -> tuple[Case, list[Advanced]]:
    """Issue the ticket, create the case and run it to its first waits; deliver what it threw.

    The start event (the one named, else the process's first) gives the ticket prefix and the
    record values its diagram states (``canal``, ``tipo_caso``).
    """
    event = start_events.named(procedure.spec, start_event)
    ticket = tickets.next_ticket(session, event.ticket_prefix if event else start_events.DEFAULT_TICKET_PREFIX, now)
    case = Case(
        ticket=ticket,
        procedure_version_id=procedure.version_id,
        status="abierto",
        opened_at=now,
        created_by=actor,
        data={},
        revision=0,
    )
    data = {
        **data,
        **(event.record if event else {}),
        "ticket": ticket,
        "fecha_inicio": now.astimezone(clock.PANAMA).isoformat(),
    }
    advanced = atiende.runtime.start(session, procedure, case, data, actor, now, start_event=start_event)
    return case, [advanced, *deliver(atiende, session, case.ticket, advanced, now)]


def deliver(atiende, session: Session, sender: str, advanced: Advanced, now: datetime) -> list[Advanced]:
    """Hand every message a step threw to the cases it names (and theirs on, up to MAX_HOPS)."""
    moved, pending = [], [(sender, advanced, 0)]
    while pending:
        ticket, step, hops = pending.pop(0)
        for letter in messages.letters(step.messages, ticket):
            if hops >= MAX_HOPS:
                raise Undeliverable(f"demasiados mensajes encadenados desde el caso {sender}")
            case = session.scalar(select(Case).where(Case.ticket == letter.ticket).with_for_update())
            if case is None:
                raise Undeliverable(f"no existe el caso {letter.ticket}")
            result = atiende.runtime.receive(
                session, case, atiende.procedure(session, case.procedure_version_id), letter, now
            )
            moved.append(result)
            pending.append((case.ticket, result, hops + 1))
    return moved


def deliver_or_record(atiende, session: Session, sender: Case, advanced: Advanced, now: datetime) -> None:
    """Deliver what a timer-driven step threw; if it cannot be, record an incident and let the step stand.

    Nobody is there to correct a timer's step, so instead of refusing it the undelivered
    message becomes an incident of the sender (``engine.cases.incidents``, kind ``mensaje``) for a
    person to follow up. The cases it reached are not kept in memory: a sweep keeps none
    (``Atiende.run_timer_sweep``).
    """
    try:
        with savepoint(session):
            deliver(atiende, session, sender.ticket, advanced, now)
    except Undeliverable as exc:
        names = ", ".join(sorted({event.event_definition.name for event in advanced.messages}))
        step = incidents.Step.of(
            incidents.MESSAGE,
            atiende.procedure(session, sender.procedure_version_id),
            audit.SYSTEM,
            names,
            f"Enviar el mensaje «{names}»",
            case_id=sender.id,
        )
        incidents.note_error(session, step, exc, now)


def start_due_runs(atiende, now: datetime) -> tuple[int, list[Advanced]]:
    """Start the runs of every schedule that is due, one transaction per schedule.

    Returns how many runs started and what to remember. A schedule whose runs fail is tried
    again after SCHEDULE_RETRY_AFTER; the error is in the audit trail.
    """
    started = 0
    moved: list[Advanced] = []
    while True:
        schedule_id = None
        try:
            with atiende.unit_of_work() as session:
                schedule = start_events.next_due(session, now, skip_locked=not atiende.store.is_sqlite)
                if schedule is None:
                    return started, moved
                schedule_id = schedule.id
                tickets_started, advanced = _start_schedule(atiende, session, schedule, now)
        except Exception as exc:  # noqa: BLE001 - one broken calendar must not stop the others
            if schedule_id is None:
                raise
            log.exception("scheduled runs of schedule %s failed", schedule_id)
            with atiende.unit_of_work() as session:
                schedule = session.get(Schedule, schedule_id)
                schedule.next_run_at = now + SCHEDULE_RETRY_AFTER
                audit.record(
                    session,
                    now,
                    audit.SYSTEM,
                    "error_programacion",
                    detail={"proceso": schedule.process_id, "evento": schedule.start_event, "error": str(exc)[:500]},
                )
            continue
        started += len(tickets_started)
        moved.extend(advanced)


def start_now(atiende, process_id: str, start_event: str, actor: str) -> list[str]:
    """Start now, out of its calendar, the runs a timer start event would start (its calendar stays as it is)."""
    with atiende.unit_of_work() as session:
        now = atiende.now()
        procedure = atiende.latest_procedure(session, process_id)
        tickets_started, moved = _start_runs(atiende, session, procedure, start_event, actor, now, None)
    for advanced in moved:
        atiende.runtime.remember(advanced)
    return tickets_started


def _start_schedule(atiende, session: Session, schedule, now: datetime) -> tuple[list[str], list[Advanced]]:
    procedure = atiende.latest_procedure(session, schedule.process_id)
    started = _start_runs(atiende, session, procedure, schedule.start_event, audit.SYSTEM, now, schedule.next_run_at)
    start_events.ran(schedule, now)
    return started


def _start_runs(
    atiende,
    session: Session,
    procedure: Procedure,
    start_event: str,
    actor: str,
    now: datetime,
    planned: datetime | None,
) -> tuple[list[str], list[Advanced]]:
    """One run per record the start event's selector gives; the audit trail says which and why."""
    event = start_events.named(procedure.spec, start_event)
    if event is None or event.timer is None:
        raise ValueError(f"«{start_event}» no es un evento de inicio con calendario de {procedure.process_id}")
    moved, tickets_started = [], []
    for record in selectors.runs(session, event.properties.get("selector")):
        case, advanced = open_case(atiende, session, procedure, record, actor, now, start_event=event.bpmn_id)
        moved.extend(advanced)
        tickets_started.append(case.ticket)
    audit.record(
        session,
        now,
        actor,
        "programacion_ejecutada",
        detail={
            "proceso": procedure.process_id,
            "evento": event.bpmn_id,
            "nombre": event.name,
            "previsto": planned.isoformat() if planned else None,
            "casos": tickets_started,
        },
    )
    return tickets_started, moved
