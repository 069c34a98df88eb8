"""Running a case's workflow: load it, advance it, and persist what people read.

After every step the case is brought up to date from the workflow: its serialized state
(without the spec, a row of its own), the due time of its earliest armed timer (indexed, so the timer
sweep loads only due cases), the projection of its READY user tasks (so task lists never
deserialize a workflow), and the status and deadline the diagram's scripts set. It also reads
a workflow for others: its armed timers, the path a case took (``path_of``) and ISO 8601
durations as SpiffWorkflow's timers read them (``duration``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import String, inspect, select, update
from sqlalchemy.orm import Session

from engine import calendar as business_calendar
from engine.audit import chain as audit_chain
from engine.audit import trail as audit
from engine.bpm import loops, messages, repeats, start_events, task_ids
from engine.bpm.pass_through import PassThroughTask
from engine.bpm.scripting import budget, sandbox
from engine.bpm.state.codec import unpacked_size
from engine.bpm.state.serializer import InstanceSerializer
from engine.db import case_rows, statements
from engine.db.models import Case, HumanTask, record_text
from engine.errors import ProcedureError, Undeliverable
from engine.forms.catalogs import CatalogCache
from engine.indicators import rollup, steps
from engine.paperwork import effects
from engine.procedures.versions import Procedure
from engine.settings import Settings

STATUSES = ("abierto", "en seguimiento", "escalado a la unidad", "cerrado")
# Once escalated, a case stays escalated until it is closed: a script on another branch
# (e.g. the remission, which runs on its own copy of the data) cannot quietly undo it.
STATUS_EXITS = {"escalado a la unidad": {"cerrado"}, "cerrado": set()}

# Case-record keys mirrored into the case row's searchable columns.
CASE_COLUMNS = {
    "tipo_caso": "case_type",
    "canal": "channel",
    "ciudadano_nombre": "citizen_name",
    "ciudadano_cedula": "citizen_cedula",
    "ciudadano_email": "citizen_email",
    "ciudadano_telefono": "citizen_phone",
    "asunto": "subject",
    "direccion": "direccion",
    "corregimiento": "corregimiento",
}
_COLUMN_LENGTHS = {c: cast(int, cast(String, Case.__table__.c[c].type).length) for c in CASE_COLUMNS.values()}
# Free text, which a beginning still names; any other value cut would name something else (an address, a cédula).
_CUT_TO_FIT = frozenset({"citizen_name", "subject"})


# Case columns copied onto its task rows, so the bandeja and the figures filter and count without a join.
TASK_MIRRORED = ("direccion", "case_type", "channel", "corregimiento", "procedure_version_id", "opened_at")


def _parse_moment(value) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ProcedureError(f"fecha sin zona horaria: {value!r}")
    return moment


def timer_due(task) -> datetime | None:
    """When an armed timer task is due (a cycle: its next firing), or None."""
    value = task.internal_data.get("event_value")
    if value is None or task.internal_data.get("event_fired"):
        return None
    if isinstance(value, dict):  # a cycle: {'cycles': left, 'next': iso, 'duration': s}
        return None if value.get("cycles") == 0 else _parse_moment(value["next"])
    return TimerEventDefinition.get_datetime(value)


def _every_task(workflow: BpmnWorkflow):
    """Every task of the workflow and its subprocesses, from their task maps.

    Reading the maps is much cheaper than SpiffWorkflow's tree iterator, which the runtime
    would otherwise run several times per step (it showed up as the largest cost).
    """
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def waiting_timers(workflow: BpmnWorkflow) -> list:
    """The timer event tasks that are armed and waiting, in every subprocess."""
    return [
        t
        for t in _every_task(workflow)
        if t.state == TaskState.WAITING
        and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
    ]


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    """The READY user tasks, in the order they were created."""
    return [t for t in _every_task(workflow) if t.state == TaskState.READY and t.task_spec.manual]


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest armed timer of the workflow is due, or None."""
    return min(filter(None, (timer_due(t) for t in waiting_timers(workflow))), default=None)


@dataclass(frozen=True)
class CasePath:
    """The diagram elements a case went through, the tasks it waits on, and its armed events."""

    done: frozenset[str]
    current: frozenset[str]
    waiting: frozenset[str]


def path_of(workflow: BpmnWorkflow) -> CasePath:
    """Derived from the workflow's tasks: completed (and entered subprocesses), ready, waiting."""
    done, current, waiting = set(), set(), set()
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        if task.state in (TaskState.COMPLETED, TaskState.STARTED):
            done.add(bpmn_id)
        elif task.state == TaskState.READY:
            current.add(bpmn_id)
        elif task.state == TaskState.WAITING:
            waiting.add(bpmn_id)
    return CasePath(frozenset(done), frozenset(current - done), frozenset(waiting - done - current))


def duration(text: object, start: datetime) -> timedelta | None:
    """An ISO 8601 duration ("P7D", "PT2H") as SpiffWorkflow reads a timer's, from ``start``; None if unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return _timedelta(text, start)
    except Exception:  # noqa: BLE001 - any unreadable duration is the analyst's to fix
        return None


def _timedelta(text: str, start: datetime) -> timedelta:
    return TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), start)


def _task_due(step, case: Case, now: datetime) -> datetime | None:
    """When a task made now is due: its step's ``plazo`` from now, else the case's deadline."""
    if step.plazo:
        return now + _timedelta(step.plazo, now)  # checked at deploy: it reads
    return case.due_at


def _begin_at(workflow: BpmnWorkflow, spec, start_event: str | None) -> None:
    """Make a new run begin at one timer start event, once; refuse to start a scheduled procedure by hand.

    SpiffWorkflow runs a cycle start event inside one instance, one new path per period
    (catching up every period since its first run). A scheduled run is a new instance per
    period instead (``engine.bpm.start_events``): its start event fires exactly once, now, and the
    other start events never (the join after the start events then cancels them).
    """
    timers = {event.bpmn_id for event in start_events.scheduled(spec)}
    if not timers and start_event is None:
        return
    if start_event not in timers:
        raise ProcedureError("este procedimiento lo inicia el programador según su calendario, no se inicia a mano")
    for task in workflow.get_tasks():
        if task.task_spec.bpmn_id in timers:
            chosen = task.task_spec.bpmn_id == start_event
            task.internal_data["event_value"] = {
                "cycles": 1 if chosen else -1,
                "duration": 1.0,
                "next": _LONG_AGO if chosen else _NEVER,
            }


_LONG_AGO, _NEVER = "1970-01-01T00:00:00+00:00", "9999-12-31T00:00:00+00:00"


@dataclass
class _ScriptWatch:
    """Collects the status and deadline changes the diagram's script tasks make, and meters the
    automatic steps of one request (``budget.EngineMeter``): a loop with no wait state or a process
    that calls itself stops with StepOverBudget instead of spinning."""

    changes: list = field(default_factory=list)
    meter: budget.EngineMeter = field(default_factory=budget.EngineMeter)
    passed: list = field(default_factory=list)  # the plain and manual tasks run through (engine.bpm.pass_through)
    _before: dict = field(default_factory=dict)

    def will(self, task):
        self.meter.will(task)
        self._before[task.id] = (task.data.get("estado_caso"), task.data.get("fecha_limite"))

    def did(self, task):
        if isinstance(task.task_spec, PassThroughTask):
            self.passed.append(task.task_spec)
        before = self._before.pop(task.id, (None, None))
        after = (task.data.get("estado_caso"), task.data.get("fecha_limite"))
        if after != before:
            step = task.task_spec.bpmn_name or task.task_spec.bpmn_id
            if after[0] is not None and after[0] not in STATUSES:
                raise ProcedureError(f"«{step}» fijó un estado desconocido: {after[0]!r}")
            if after[1] is not None and after[1] != before[1]:
                _parse_moment(after[1])
            self.changes.append((step, before, after))


@dataclass
class Advanced:
    """A workflow that moved, for the caller to remember once the transaction commits."""

    case_id: int
    revision: int
    workflow: BpmnWorkflow
    new_tasks: list[case_rows.TaskRow] = field(default_factory=list)  # the user tasks this step made READY
    messages: list = field(default_factory=list)  # what it threw for other cases (engine.bpm.messages)
    size: int = 0  # the length of its stored state: what keeping it in memory is reckoned by


def ready_task_ids(workflow: BpmnWorkflow) -> set[str]:
    """The ids of the READY user tasks: exactly the case's rows in human_task at this revision."""
    return {str(t.id) for t in ready_user_tasks(workflow)}


class Runtime:
    """Loads, advances and persists case workflows; keeps recently used ones in memory.

    The workflows kept are the last ones advanced, at most ``live_cases`` of them and at most
    ``settings.live_workflows_mb`` of stored state (``Advanced.size``, the length of the state the
    step wrote; a workflow held as objects takes about four to five times that). A finished
    workflow is never kept: nothing will advance it again. Each is kept with its revision and used
    only while the case row still has that revision, so a case another process moved is read again.
    """

    def __init__(
        self, serializer: InstanceSerializer, catalog_cache: CatalogCache, settings: Settings, live_cases: int = 512
    ):
        self.serializer = serializer
        self.catalog_cache = catalog_cache
        self.settings = settings  # the base URL and sender that documents and mail carry
        self.calendar = business_calendar.CalendarCache()  # the days off the helpers count (engine.calendar)
        self._live: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._live_sizes: dict[int, int] = {}
        self._live_bytes = 0
        self._live_max = live_cases
        self._live_max_bytes = settings.live_workflows_mb * 1024 * 1024
        self._lock = threading.Lock()

    # -- memory of live workflows -------------------------------------------------------
    def remember(self, advanced: Advanced) -> None:
        """Keep a committed workflow, so the next step of its case need not deserialize it; not a
        finished one, nor one larger than the whole budget."""
        with self._lock:
            self._forget(advanced.case_id)
            if advanced.workflow.completed or advanced.size > self._live_max_bytes:
                return
            self._live[advanced.case_id] = (advanced.revision, advanced.workflow)
            self._live_sizes[advanced.case_id] = advanced.size
            self._live_bytes += advanced.size
            while len(self._live) > self._live_max or self._live_bytes > self._live_max_bytes:
                self._forget(next(iter(self._live)))

    def _forget(self, case_id: int) -> tuple[int, BpmnWorkflow] | None:
        """Take a case's workflow out of memory (the lock held), with its share of the budget."""
        self._live_bytes -= self._live_sizes.pop(case_id, 0)
        return self._live.pop(case_id, None)

    def live_bytes(self) -> int:
        """The stored-state length of the workflows kept in memory now."""
        with self._lock:
            return self._live_bytes

    def load(self, session: Session, case: Case, procedure: Procedure) -> BpmnWorkflow:
        """The case's workflow at its current revision; taken out of memory until remembered again."""
        with self._lock:
            kept = self._forget(case.id)
        if kept is not None and kept[0] == case.revision:
            return kept[1]
        workflow = self.serializer.loads(
            case_rows.stored_workflow(session, case.id), procedure.spec, procedure.subprocess_specs
        )
        workflow.script_engine = sandbox.script_engine()
        return workflow

    # -- the three ways a case moves ----------------------------------------------------
    def start(
        self,
        session: Session,
        procedure: Procedure,
        case: Case,
        data: dict,
        actor: str,
        now: datetime,
        start_event: str | None = None,
    ) -> Advanced:
        """Create the case's workflow with its first data and run it to its first waits.

        ``start_event`` is the timer start event a scheduled run begins at (``engine.bpm.start_events``).
        """
        workflow = task_ids.made(
            lambda: BpmnWorkflow(procedure.spec, procedure.subprocess_specs, script_engine=sandbox.script_engine())
        )
        workflow.task_tree.data.update(data)
        _begin_at(workflow, procedure.spec, start_event)
        with self.calendar.in_effect(session), task_ids.issuing(workflow):
            watch = _ScriptWatch()  # made after the calendar's read: its meter counts the diagram's work only
            workflow.do_engine_steps(watch.will, watch.did)
        case.data = dict(data)
        self._mirror_columns(case, data)
        case_rows.insert_case(session, case)  # the case's id, for its events and tasks
        audit.record(
            session,
            now,
            actor,
            "caso_creado",
            case_id=case.id,
            detail={
                "ticket": case.ticket,
                "procedimiento": procedure.process_id,
                "version": procedure.version,
                "datos": data,
            },
        )
        return self._persist(session, case, procedure, workflow, watch, actor, now, ready_before=set())

    def complete(
        self,
        session: Session,
        case: Case,
        procedure: Procedure,
        task_id: str,
        data: dict,
        actor: str,
        now: datetime,
        opened: datetime | None = None,
    ) -> Advanced:
        """Complete one READY user task with already-validated form data; ``opened``: its task row's
        ``created_at``, when the caller has read the row (else it is read here)."""
        workflow = self.load(session, case, procedure)
        ready_before = ready_task_ids(workflow)
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise ProcedureError(f"la tarea {task_id} no está lista en el flujo del caso {case.ticket}")
        instance = loops.instance_of(task)
        if instance is None:
            task.set_data(**data)
        else:  # one item of a loop: the submission is that instance's output item
            item = loops.output_item(task, instance, data)
            task.set_data(**{instance.item: item})
        with task_ids.issuing(workflow):
            task.run()
        # When the task opened: the trail keeps it, and the heatmap counts the time spent.
        if opened is None:
            opened = session.scalar(select(HumanTask.created_at).where(HumanTask.id == task_id))
        drawn_in = _drawing_process(task)
        # Counted in the time per step with the step's other writes (one round trip on PostgreSQL).
        timed = (drawn_in, task.task_spec.bpmn_id, opened) if opened is not None else None
        # What the submission overwrote, so the audit trail says before and after (issue 7).
        overwritten = {k: case.data[k] for k, v in data.items() if k in case.data and case.data[k] != v}
        case.data = {**case.data, **data} if instance is None else loops.recorded(case.data, instance, item)
        self._mirror_columns(case, data if instance is None else {})
        audit.record(
            session,
            now,
            actor,
            "tarea_completada",
            case_id=case.id,
            task_id=task_id,
            detail={
                "tarea": task.task_spec.bpmn_id,
                "nombre": task.task_spec.bpmn_name,
                "datos": data,
                "antes": overwritten,
                "proceso": drawn_in,
                **({"creada": opened.isoformat()} if opened is not None else {}),
            },
        )
        return self._advance(session, case, procedure, workflow, actor, now, ready_before, timed)

    def fire_timers(
        self, session: Session, case: Case, procedure: Procedure, now: datetime
    ) -> tuple[Advanced, list[str]]:
        """Fire every timer of the case that is due at ``now`` (catching up missed cycles)."""
        workflow = self.load(session, case, procedure)
        ready_before = ready_task_ids(workflow)
        before = {t.id: (t.state, repr(t.internal_data.get("event_value"))) for t in waiting_timers(workflow)}
        names = {t.id: t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in waiting_timers(workflow)}
        with self.calendar.in_effect(session), task_ids.issuing(workflow):
            watch = _ScriptWatch()  # made after the calendar's read: its meter counts the diagram's work only
            for _ in range(1000):  # a cycle fires one period per refresh
                workflow.refresh_timers()
                workflow.do_engine_steps(watch.will, watch.did)
                due = next_timer_due(workflow)
                if due is None or due >= now:  # SpiffWorkflow fires what is strictly past
                    break
        fired = []
        for task_id, (state, value) in before.items():
            task = workflow.get_task_from_id(task_id)
            if task is None or task.state != state or repr(task.internal_data.get("event_value")) != value:
                fired.append(names[task_id])
        audit.record(
            session,
            now,
            audit.SYSTEM,
            "temporizador_disparado",
            case_id=case.id,
            detail={"temporizadores": sorted(fired)},
        )
        return self._persist(session, case, procedure, workflow, watch, audit.SYSTEM, now, ready_before), fired

    def resume(
        self, session: Session, case: Case, procedure: Procedure, workflow: BpmnWorkflow, actor: str, now: datetime
    ) -> Advanced:
        """Run and persist a workflow changed outside the three moves above (e.g. migrated to a new version)."""
        return self._advance(session, case, procedure, workflow, actor, now)

    def receive(
        self, session: Session, case: Case, procedure: Procedure, letter: messages.Letter, now: datetime
    ) -> Advanced:
        """Hand a message from another case to the catch event of this case that waits for it."""
        workflow = self.load(session, case, procedure)
        ready_before = ready_task_ids(workflow)
        try:
            with task_ids.issuing(workflow):
                workflow.send_event(BpmnEvent(letter.definition, payload=letter.record))
        except WorkflowException as exc:
            raise Undeliverable(f"el caso {case.ticket} no espera el mensaje «{letter.definition.name}»") from exc
        case.data = {**case.data, **letter.record}
        audit.record(
            session,
            now,
            audit.SYSTEM,
            "mensaje_recibido",
            case_id=case.id,
            detail={"mensaje": letter.definition.name, "datos": letter.record},
        )
        return self._advance(session, case, procedure, workflow, audit.SYSTEM, now, ready_before)

    # -- persistence ----------------------------------------------------------------------
    def _advance(self, session, case, procedure, workflow, actor, now, ready_before=None, timed=None) -> Advanced:
        with self.calendar.in_effect(session), task_ids.issuing(workflow):
            watch = _ScriptWatch()  # made after the calendar's read: its meter counts the diagram's work only
            workflow.do_engine_steps(watch.will, watch.did)
        return self._persist(session, case, procedure, workflow, watch, actor, now, ready_before, timed)

    def _persist(
        self,
        session,
        case,
        procedure,
        workflow,
        watch,
        actor,
        now,
        ready_before: set[str] | None,
        timed: tuple[str, str, datetime] | None = None,
    ) -> Advanced:
        """Write the case row, its events and its task projection; ``ready_before`` None means: read it.
        ``timed``: the user task just completed, as (process, bpmn_id, opened), for the time per step."""
        with session.no_autoflush:
            if ready_before is None:
                ready_before = set(session.scalars(select(HumanTask.id).where(HumanTask.case_id == case.id)))
            ready = self._renew_open_tasks(session, case, procedure, ready_user_tasks(workflow), now, ready_before)
            self._apply_script_changes(session, case, watch, now)
            for passed in watch.passed:
                audit.record(
                    session,
                    now,
                    audit.SYSTEM,
                    "paso_automatico",
                    case_id=case.id,
                    detail={"tarea": passed.bpmn_id, "nombre": passed.bpmn_name},
                )
            # Documents and mail that service tasks asked for go into this same transaction.
            effects.apply(
                session,
                case,
                workflow.script_engine.environment.take_effects(),
                actor,
                now,
                self.catalog_cache,
                self.settings,
            )
            thrown = messages.thrown(workflow)  # taken out of the workflow: delivered by the caller
            state = self.serializer.dumps(workflow)
            first = not case.revision  # the case's first step creates its state
            case.revision = (case.revision or 0) + 1
            case.timer_due_at = next_timer_due(workflow)
            with statements.pipelined(session):  # on PostgreSQL, one round trip for the writes that follow
                if timed is not None:
                    steps.record_completion(session, *timed, now)
                new_tasks = self._project_tasks(session, case, procedure, ready, now, ready_before)
                rollup.recount(session, case, procedure.process_id)  # the indicators, in this transaction
                case_rows.save(session, case)
                case_rows.save_workflow(session, case.id, state, first)
                if statements.ends_here(session, last=not thrown):  # deliveries move other cases after
                    audit_chain.write_pending(session)
                    statements.commit_here(session)
        return Advanced(case.id, case.revision, workflow, new_tasks, thrown, unpacked_size(state))

    @staticmethod
    def _renew_open_tasks(session, case, procedure, ready: list, now, ready_before: set[str]) -> list:
        """A token that reached a ``renovar`` task already open ends there; the open task's due date is
        refreshed and the trail says so (``engine.bpm.repeats``). Returns the READY user tasks left."""
        renewals = repeats.collapse(ready, ready_before)
        for renewal in renewals:
            due = _task_due(procedure.steps[renewal.bpmn_id], case, now)
            row = session.get(HumanTask, renewal.kept) if renewal.kept in ready_before else None
            before = row.due_at if row is not None else due
            if row is not None:
                row.due_at = due
            audit.record(
                session,
                now,
                audit.SYSTEM,
                "tarea_renovada",
                case_id=case.id,
                task_id=renewal.kept,
                detail={
                    "tarea": renewal.bpmn_id,
                    "nombre": renewal.name,
                    "antes": before.isoformat() if before else None,
                    "despues": due.isoformat() if due else None,
                },
            )
        return [t for t in ready if t.state == TaskState.READY] if renewals else ready

    @staticmethod
    def _mirror_columns(case: Case, data: dict) -> None:
        """The record keeps each value as submitted; its column, which people search and list by,
        holds it as text that fits the column: free text cut to the column's length, any other value
        too long left out (NULL). A form an analyst left without ``maxLength``, or typed otherwise,
        may carry more, and PostgreSQL would refuse the whole step for it."""
        for key, column in CASE_COLUMNS.items():
            if key in data:
                text, length = record_text(data, key), _COLUMN_LENGTHS[column]
                if text is not None and len(text) > length:
                    text = text[:length] if column in _CUT_TO_FIT else None
                setattr(case, column, text)

    @staticmethod
    def _apply_script_changes(session, case, watch, now) -> None:
        for step, (old_status, old_due), (status, due) in watch.changes:
            if status != old_status and status is not None and status != case.status:
                if status not in STATUS_EXITS.get(case.status, STATUSES):
                    continue
                audit.record(
                    session,
                    now,
                    audit.SYSTEM,
                    "estado_cambiado",
                    case_id=case.id,
                    detail={"antes": case.status, "despues": status, "paso": step},
                )
                case.status = status
                case.closed_at = now if status == "cerrado" else None
                case.data = {**case.data, "estado_caso": status}
            if due != old_due and due is not None:
                moment = _parse_moment(due)
                if moment != case.due_at:
                    audit.record(
                        session,
                        now,
                        audit.SYSTEM,
                        "plazo_fijado",
                        case_id=case.id,
                        detail={
                            "antes": case.due_at.isoformat() if case.due_at else None,
                            "despues": moment.isoformat(),
                            "paso": step,
                        },
                    )
                    case.due_at = moment
                    case.data = {**case.data, "fecha_limite": moment.isoformat()}

    @staticmethod
    def _project_tasks(
        session, case, procedure, ready_tasks: list, now, ready_before: set[str]
    ) -> list[case_rows.TaskRow]:
        """Bring human_task in line with the READY user tasks: delete the gone, insert the new."""
        ready = {str(t.id): t for t in ready_tasks}
        gone = ready_before - ready.keys()
        if gone:
            case_rows.delete_tasks(session, gone)
        mirrored = {column: getattr(case, column) for column in TASK_MIRRORED}
        if ready_before & ready.keys() and not inspect(case).unmodified.issuperset(TASK_MIRRORED):
            session.execute(
                update(HumanTask).where(HumanTask.case_id == case.id).values(**mirrored),
                execution_options={"synchronize_session": False},
            )
        rows = []
        for task_id, task in ready.items():
            if task_id in ready_before:
                continue
            step = procedure.steps[task.task_spec.bpmn_id]
            due = _task_due(step, case, now)
            label = loops.label(task, step.rotulo)
            rows.append(
                {
                    "id": task_id,
                    "case_id": case.id,
                    "bpmn_id": step.bpmn_id,
                    "lane": step.role or "",
                    "name": (f"{step.name}: {label}" if label else step.name)[:200],  # human_task.name's length
                    "form": step.form,
                    "assignee": None,
                    "created_at": now,
                    "due_at": due,
                    **mirrored,
                }
            )
        return case_rows.insert_tasks(session, rows)


def _drawing_process(task) -> str:
    """The id of the ``bpmn:process`` whose diagram draws ``task``: through embedded subprocesses (drawn
    inside their process) but not through call activities (the called procedure draws its own tasks).
    The time per step (``engine.indicators.steps``) counts by it, so a shared procedure's tasks count
    once, on its own diagram, whichever procedure called it."""
    workflow = task.workflow
    while workflow.parent_task_id is not None:
        parent = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        if isinstance(parent.task_spec, CallActivity):
            break
        workflow = parent.workflow
    return workflow.spec.name
