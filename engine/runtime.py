"""Running a case's workflow: load it, advance it, and persist what people read.

After every step the case row is brought up to date from the workflow: its serialized
state (without the spec), the due time of its earliest armed timer (indexed, so the timer
sweep loads only due cases), the projection of its READY user tasks (so task lists never
deserialize a workflow), and the status and deadline the diagram's scripts set.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import audit, sandbox
from engine.models import Case, HumanTask
from engine.procedures import Procedure
from engine.serialization import InstanceSerializer

STATUSES = ("abierto", "en seguimiento", "escalado a la unidad", "cerrado")
# Once escalated, a case stays escalated until it is closed: a script on another branch
# (e.g. the remission, which runs on its own copy of the data) cannot quietly undo it.
STATUS_EXITS = {"escalado a la unidad": {"cerrado"}, "cerrado": set()}

# Case-record keys mirrored into the case row's searchable columns.
CASE_COLUMNS = {
    "tipo_caso": "case_type", "canal": "channel", "ciudadano_nombre": "citizen_name",
    "ciudadano_cedula": "citizen_cedula", "ciudadano_email": "citizen_email",
    "ciudadano_telefono": "citizen_phone", "asunto": "subject", "direccion": "direccion",
    "corregimiento": "corregimiento",
}


class ProcedureError(RuntimeError):
    """The diagram did something the engine cannot accept (e.g. an unknown status)."""


def _parse_moment(value) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ProcedureError(f"fecha sin zona horaria: {value!r}")
    return moment


def _timer_due(task) -> datetime | None:
    value = task.internal_data.get("event_value")
    if value is None or task.internal_data.get("event_fired"):
        return None
    if isinstance(value, dict):  # a cycle: {'cycles': left, 'next': iso, 'duration': s}
        return None if value.get("cycles") == 0 else _parse_moment(value["next"])
    return TimerEventDefinition.get_datetime(value)


def waiting_timers(workflow: BpmnWorkflow) -> list:
    """The timer event tasks that are armed and waiting, in every subprocess."""
    return [t for t in workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest armed timer of the workflow is due, or None."""
    return min(filter(None, (_timer_due(t) for t in waiting_timers(workflow))), default=None)


@dataclass
class _ScriptWatch:
    """Collects the status and deadline changes the diagram's script tasks make."""

    changes: list = field(default_factory=list)
    _before: dict = field(default_factory=dict)

    def will(self, task):
        self._before[task.id] = (task.data.get("estado_caso"), task.data.get("fecha_limite"))

    def did(self, task):
        before = self._before.pop(task.id, (None, None))
        after = (task.data.get("estado_caso"), task.data.get("fecha_limite"))
        if after != before:
            self.changes.append((task.task_spec.bpmn_name or task.task_spec.bpmn_id, before, after))


@dataclass
class Advanced:
    """A workflow that moved, for the caller to remember once the transaction commits."""

    case_id: int
    revision: int
    workflow: BpmnWorkflow


class Runtime:
    """Loads, advances and persists case workflows; keeps recently used ones in memory."""

    def __init__(self, serializer: InstanceSerializer, live_cases: int = 512):
        self.serializer = serializer
        self._live: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._live_max = live_cases
        self._lock = threading.Lock()

    # -- memory of live workflows -------------------------------------------------------
    def remember(self, advanced: Advanced) -> None:
        """Keep a committed workflow, so the next step of its case need not deserialize it."""
        with self._lock:
            self._live[advanced.case_id] = (advanced.revision, advanced.workflow)
            self._live.move_to_end(advanced.case_id)
            while len(self._live) > self._live_max:
                self._live.popitem(last=False)

    def load(self, case: Case, procedure: Procedure) -> BpmnWorkflow:
        """The case's workflow at its current revision; taken out of memory until remembered again."""
        with self._lock:
            kept = self._live.pop(case.id, None)
        if kept is not None and kept[0] == case.revision:
            return kept[1]
        workflow = self.serializer.loads(case.workflow, procedure.spec, procedure.subprocess_specs)
        workflow.script_engine = sandbox.script_engine()
        return workflow

    # -- the three ways a case moves ----------------------------------------------------
    def start(self, session: Session, procedure: Procedure, case: Case, data: dict, actor: str, now: datetime) -> Advanced:
        """Create the case's workflow with its first data and run it to its first waits."""
        workflow = BpmnWorkflow(procedure.spec, procedure.subprocess_specs, script_engine=sandbox.script_engine())
        workflow.task_tree.data.update(data)
        case.data = dict(data)
        self._mirror_columns(case, data)
        session.add(case)
        session.flush()
        audit.record(session, now, actor, "caso_creado", case_id=case.id,
                     detail={"ticket": case.ticket, "procedimiento": procedure.process_id,
                             "version": procedure.version, "datos": data})
        return self._advance(session, case, procedure, workflow, actor, now)

    def complete(self, session: Session, case: Case, procedure: Procedure, task_id: str, data: dict,
                 actor: str, now: datetime) -> Advanced:
        """Complete one READY user task with already-validated form data."""
        workflow = self.load(case, procedure)
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise ProcedureError(f"la tarea {task_id} no está lista en el flujo del caso {case.ticket}")
        task.set_data(**data)
        task.run()
        case.data = {**case.data, **data}
        self._mirror_columns(case, data)
        audit.record(session, now, actor, "tarea_completada", case_id=case.id, task_id=task_id,
                     detail={"tarea": task.task_spec.bpmn_id, "nombre": task.task_spec.bpmn_name, "datos": data})
        return self._advance(session, case, procedure, workflow, actor, now)

    def fire_timers(self, session: Session, case: Case, procedure: Procedure, now: datetime) -> tuple[Advanced, list[str]]:
        """Fire every timer of the case that is due at ``now`` (catching up missed cycles)."""
        workflow = self.load(case, procedure)
        before = {t.id: (t.state, repr(t.internal_data.get("event_value"))) for t in waiting_timers(workflow)}
        names = {t.id: t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in waiting_timers(workflow)}
        watch = _ScriptWatch()
        for _ in range(1000):  # a cycle fires one period per refresh
            workflow.refresh_timers()
            workflow.do_engine_steps(watch.will, watch.did)
            due = next_timer_due(workflow)
            if due is None or due > now:
                break
        fired = []
        for task_id, (state, value) in before.items():
            task = workflow.get_task_from_id(task_id)
            if task is None or task.state != state or repr(task.internal_data.get("event_value")) != value:
                fired.append(names[task_id])
        audit.record(session, now, audit.SYSTEM, "temporizador_disparado", case_id=case.id,
                     detail={"temporizadores": sorted(fired)})
        return self._persist(session, case, procedure, workflow, watch, audit.SYSTEM, now), fired

    # -- persistence ----------------------------------------------------------------------
    def _advance(self, session, case, procedure, workflow, actor, now) -> Advanced:
        watch = _ScriptWatch()
        workflow.do_engine_steps(watch.will, watch.did)
        return self._persist(session, case, procedure, workflow, watch, actor, now)

    def _persist(self, session, case, procedure, workflow, watch, actor, now) -> Advanced:
        self._apply_script_changes(session, case, watch, now)
        case.workflow = self.serializer.dumps(workflow)
        case.revision = (case.revision or 0) + 1
        case.timer_due_at = next_timer_due(workflow)
        self._project_tasks(session, case, procedure, workflow, now)
        return Advanced(case.id, case.revision, workflow)

    @staticmethod
    def _mirror_columns(case: Case, data: dict) -> None:
        for key, column in CASE_COLUMNS.items():
            if key in data:
                setattr(case, column, data[key])

    @staticmethod
    def _apply_script_changes(session, case, watch, now) -> None:
        for step, (old_status, old_due), (status, due) in watch.changes:
            if status != old_status and status is not None and status != case.status:
                if status not in STATUSES:
                    raise ProcedureError(f"«{step}» fijó un estado desconocido: {status!r}")
                if status not in STATUS_EXITS.get(case.status, STATUSES):
                    continue
                audit.record(session, now, audit.SYSTEM, "estado_cambiado", case_id=case.id,
                             detail={"antes": case.status, "despues": status, "paso": step})
                case.status = status
                case.closed_at = now if status == "cerrado" else None
                case.data = {**case.data, "estado_caso": status}
            if due != old_due and due is not None:
                moment = _parse_moment(due)
                if moment != case.due_at:
                    audit.record(session, now, audit.SYSTEM, "plazo_fijado", case_id=case.id,
                                 detail={"antes": case.due_at.isoformat() if case.due_at else None,
                                         "despues": moment.isoformat(), "paso": step})
                    case.due_at = moment
                    case.data = {**case.data, "fecha_limite": moment.isoformat()}

    @staticmethod
    def _project_tasks(session, case, procedure, workflow, now) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        existing = {row.id: row for row in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id))}
        for task_id, row in existing.items():
            if task_id not in ready:
                session.delete(row)
        for task_id, task in ready.items():
            if task_id in existing:
                existing[task_id].direccion = case.direccion
                continue
            step = procedure.steps[task.task_spec.bpmn_id]
            due = case.due_at
            if step.plazo:
                due = now + TimerEventDefinition.get_timedelta_from_start(
                    TimerEventDefinition.parse_iso_duration(step.plazo), now)
            session.add(HumanTask(
                id=task_id, case_id=case.id, bpmn_id=step.bpmn_id, name=step.name, lane=step.role or "",
                form=step.form, direccion=case.direccion, created_at=now, due_at=due,
            ))
