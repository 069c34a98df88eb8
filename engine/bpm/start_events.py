"""Start events: what they say (form, ticket prefix, record values) and the runs their calendars start.

A start event names in ``spiffworkflow:property`` values what the engine needs before the
first step runs: ``formulario`` (the start form), ``prefijo_ticket`` (``AC`` unless said),
``canal`` and ``tipo_caso`` (copied into the case record, so that a channel's diagram says
which channel it is), and, on a timer start event, ``selector`` (which runs the scheduler
starts, see ``engine.cases.selectors``). A timer start event's ``timeCycle`` is its calendar.
The lane a plain start event sits in names the role that starts the procedure by hand (``starters``).

The scheduler starts a new run of a procedure each time one of its timer start events comes
due. SpiffWorkflow's timer start events do not create instances (docs/architecture.md), so each
deploy records every timer start event's calendar in a ``schedule`` row with the moment of
its next run, indexed. The timer sweep (``Atiende.run_timer_sweep``) takes a due row under a
row lock (SKIP LOCKED on PostgreSQL; SQLite writers queue), starts its runs and moves
``next_run_at`` on, all in one transaction (one per schedule): a run starts exactly once. A server that
was down for several periods starts one run when it is back, not one per missed period.

A calendar is the start event's ``timeCycle``: ``R/<first run>/<period>``, e.g.
``R/2026-01-05T08:00:00-05:00/P7D`` (every Monday at 8:00, Panamá time). Without a first
run (``R/P7D``) the anchor is Monday 5 January 2026 at 8:00 in Panamá. ``R5/…`` stops after
five runs. Periods are fixed lengths (weeks, days, hours), counted from the first run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventSpec
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import role_of_lane
from engine.bpm.scripting import sandbox
from engine.db.models import Schedule

DEFAULT_TICKET_PREFIX = "AC"
RECORD_PROPERTIES = ("canal", "tipo_caso")  # properties copied into the case record at the start


@dataclass(frozen=True)
class StartEvent:
    """One start event of a process, as the engine reads it."""

    bpmn_id: str
    name: str
    properties: dict
    timer: str | None  # the timer expression as written (a cycle: '"R/2026-01-05T08:00:00-05:00/P7D"')
    is_cycle: bool
    lane: str | None = None  # the lane it sits in: who starts the procedure by hand (``starters``)
    by_hand: bool = False  # a plain start event (no timer, no message): a person starts the procedure there

    @property
    def ticket_prefix(self) -> str:
        return self.properties.get("prefijo_ticket", DEFAULT_TICKET_PREFIX)

    @property
    def record(self) -> dict:
        """The values this start event puts in the case record (``canal``, ``tipo_caso``)."""
        return {key: self.properties[key] for key in RECORD_PROPERTIES if key in self.properties}

    def cycle(self) -> str:
        """The ISO 8601 recurring interval of a timer start event, evaluated ('R/2026-…/P7D')."""
        return sandbox.RestrictedEnvironment().evaluate(self.timer, {})


def of(spec) -> list[StartEvent]:
    """The start events of a process (not of its subprocesses), in the order they are declared."""
    found = []
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEventSpec) and task_spec.bpmn_id:
            definition = task_spec.event_definition
            timer = definition.expression if isinstance(definition, TimerEventDefinition) else None
            found.append(
                StartEvent(
                    task_spec.bpmn_id,
                    task_spec.bpmn_name or task_spec.bpmn_id,
                    dict(getattr(task_spec, "extensions", {}).get("properties", {})),
                    timer,
                    isinstance(definition, CycleTimerEventDefinition),
                    task_spec.lane,
                    isinstance(definition, NoneEventDefinition),
                )
            )
    return found


def named(spec, bpmn_id: str | None = None) -> StartEvent | None:
    """The start event ``bpmn_id``, or the process's first one; None if it has none."""
    events = of(spec)
    if bpmn_id is None:
        return events[0] if events else None
    return next((e for e in events if e.bpmn_id == bpmn_id), None)


def starters(spec) -> frozenset[str]:
    """The roles that may start the procedure by hand: those of the lanes its start events sit in.

    The diagram says it, as it says who works each task; a procedure started only by its
    calendar has none. ``engine.access.permissions.start_refusal`` applies it.
    """
    return frozenset(role for role in (role_of_lane(e.lane) for e in of(spec) if e.by_hand) if role is not None)


def scheduled(spec) -> list[StartEvent]:
    """The timer start events: the scheduler starts a run at each one on its calendar."""
    return [e for e in of(spec) if e.timer is not None]


# -- the scheduler --------------------------------------------------------------------------------
DEFAULT_ANCHOR = datetime(2026, 1, 5, 8, 0, tzinfo=ZoneInfo("America/Panama"))  # a Monday, 8:00


def parse_cycle(cycle: str) -> tuple[int, datetime, timedelta]:
    """(repetitions or -1 for endless, first run, period) of an ISO 8601 recurring interval."""
    parts = cycle.strip().split("/")
    if len(parts) == 2 and parts[1].upper().startswith("P"):
        cycle = f"{parts[0]}/{DEFAULT_ANCHOR.isoformat()}/{parts[1]}"
    repetitions, first, period = TimerEventDefinition.parse_iso_recurring_interval(cycle)
    if not isinstance(first, datetime) or period.total_seconds() <= 0:
        raise ValueError(f"«{cycle}» no es un ciclo con primera ejecución y periodo")
    return repetitions, first, period


def next_run(cycle: str, after: datetime) -> datetime | None:
    """The first run of the cycle strictly after ``after``; None once its repetitions are used up."""
    repetitions, first, period = parse_cycle(cycle)
    index = 0 if after < first else int((after - first) // period) + 1
    if 0 <= repetitions <= index:
        return None
    return first + index * period


def cycles_of(spec) -> dict[str, str]:
    """Start event id → calendar, for every timer start event of a process spec."""
    return {event.bpmn_id: event.cycle() for event in scheduled(spec)}


def sync(session: Session, process_id: str, current: dict[str, str], now: datetime) -> None:
    """Make the schedule rows of a process match the calendars of its newly deployed version.

    A calendar that did not change keeps its next run; a new or changed one runs next after
    ``now``; a start event that is gone runs no more.
    """
    rows = {row.start_event: row for row in session.scalars(select(Schedule).where(Schedule.process_id == process_id))}
    for bpmn_id, cycle in current.items():
        row = rows.get(bpmn_id)
        if row is None:
            session.add(
                Schedule(process_id=process_id, start_event=bpmn_id, cycle=cycle, next_run_at=next_run(cycle, now))
            )
        elif row.cycle != cycle or row.next_run_at is None:
            row.cycle, row.next_run_at = cycle, next_run(cycle, now)
    for bpmn_id, row in rows.items():
        if bpmn_id not in current:
            row.next_run_at = None


def next_due(session: Session, now: datetime, skip_locked: bool) -> Schedule | None:
    """The earliest schedule whose next run has come, locked for this transaction (others skip it)."""
    query = select(Schedule).where(Schedule.next_run_at <= now).order_by(Schedule.next_run_at, Schedule.id).limit(1)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def ran(schedule: Schedule, now: datetime) -> None:
    """Record that the due run started and move the schedule to its next run after ``now``."""
    schedule.last_run_at = schedule.next_run_at
    schedule.next_run_at = next_run(schedule.cycle, now)
