"""Moving waiting cases to a newer version of their procedure, without moving their deadlines.

SpiffWorkflow aligns a case's tasks with the new specs (``engine.bpm.diff.align``) and resets
what is READY or WAITING; a reset timer is re-armed counting from the migration
(docs/architecture.md, "What SpiffWorkflow 3.2.0 does and does not do"), so a 30-day
deadline would silently move. Every timer armed before the migration gets its due time back
(``engine.bpm.diff.restore_timers``; a cycle keeps its next firing and takes the new rhythm
after it). The preview is the same
migration run on a copy and thrown away, so what it shows is what will happen; a case
whose pending steps no longer exist in the new version is not migrated. Each case is its
own transaction, with an audit event that says from which version to which.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from engine import clock
from engine.audit import trail as audit
from engine.bpm import diff as procedure_diff
from engine.bpm import task_ids
from engine.bpm.runtime import timer_due, waiting_timers
from engine.bpm.scripting import budget, sandbox
from engine.db import case_rows
from engine.db.models import Case, HumanTask, ProcedureVersion
from engine.errors import NotMigratable
from engine.procedures.versions import Procedure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimerChange:
    name: str
    before: datetime | None
    after: datetime | None

    @property
    def kept(self) -> bool:
        return self.before == self.after


@dataclass
class CasePlan:
    """What migrating one case would change, worked out on a copy of its workflow."""

    case_id: int
    ticket: str
    status: str
    from_version: int
    to_version: int
    pending_before: list[str] = field(default_factory=list)
    pending_after: list[str] = field(default_factory=list)
    timers: list[TimerChange] = field(default_factory=list)
    changed_pending: list[procedure_diff.ElementChange] = field(default_factory=list)
    changed_done: list[procedure_diff.Element] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    @property
    def migratable(self) -> bool:
        return not self.blockers


@dataclass(frozen=True)
class Outcome:
    case_id: int
    ticket: str
    migrated: bool
    message: str


def waiting_cases(session, process_id: str, target_version_id: int, limit: int | None = None) -> list[Case]:
    """Open cases of the procedure on another version than the target, oldest first."""
    return list(session.scalars(_waiting(select(Case), process_id, target_version_id).order_by(Case.id).limit(limit)))


def waiting_case_ids(session, process_id: str, target_version_id: int) -> list[int]:
    """The ids of those cases (reading no workflow), oldest first."""
    return list(session.scalars(_waiting(select(Case.id), process_id, target_version_id).order_by(Case.id)))


def _waiting(query, process_id: str, target_version_id: int):
    return query.join(ProcedureVersion, Case.procedure_version_id == ProcedureVersion.id).where(
        ProcedureVersion.process_id == process_id,
        Case.procedure_version_id != target_version_id,
        Case.status != "cerrado",
    )


def preview(atiende, session, case: Case, target: Procedure) -> CasePlan:
    """The plan for one case: its migration run on a copy, reported and discarded."""
    with clock.using(atiende.clock):
        plan, _workflow = _migrated(atiende, session, case, target, run_steps=True)
    return plan


def migrate(atiende, case_ids: list[int], target_version_id: int, actor: str) -> list[Outcome]:
    """Migrate each case in its own transaction; a case that cannot move, or fails moving, is left as it was."""
    outcomes = []
    for case_id in case_ids:
        try:
            outcomes.append(_migrate_one(atiende, case_id, target_version_id, actor))
        except Exception:  # noqa: BLE001 - reported; its transaction rolled back; the others go on
            log.exception("migration of case %s failed", case_id)
            outcomes.append(Outcome(case_id, "", False, "no se pudo migrar por un error del sistema; sigue igual"))
    return outcomes


def _migrate_one(atiende, case_id: int, target_version_id: int, actor: str) -> Outcome:
    with atiende.unit_of_work() as s:
        case = s.get(Case, case_id, with_for_update=True)
        if case is None:
            return Outcome(case_id, "", False, "el caso no existe")
        target = atiende.procedure(s, target_version_id)
        plan, workflow = _migrated(atiende, s, case, target, run_steps=False)
        if not plan.migratable:
            return Outcome(case_id, case.ticket, False, "; ".join(plan.blockers))
        now = atiende.now()
        case.procedure_version_id = target.version_id
        audit.record(
            s,
            now,
            actor,
            "caso_migrado",
            case_id=case.id,
            detail={
                "procedimiento": target.process_id,
                "antes": {"version": plan.from_version},
                "despues": {"version": plan.to_version},
                "temporizadores_conservados": [
                    {"nombre": t.name, "vence": t.before.isoformat()}
                    for t in plan.timers
                    if t.before is not None and t.kept
                ],
                "pendientes": plan.pending_before,
            },
        )
        advanced = atiende.runtime.resume(s, case, target, workflow, actor, now)
        _rename_projected_tasks(s, case, target)
    atiende.runtime.remember(advanced)
    return Outcome(case_id, case.ticket, True, f"migrado de la versión {plan.from_version} a la {plan.to_version}")


def _migrated(atiende, session, case: Case, target: Procedure, run_steps: bool):
    """(plan, migrated workflow) for a case; the workflow is a fresh copy, never the live one.

    A preview runs the engine on after the move to show the tasks that will be pending; a
    real migration leaves that to ``Runtime.resume``, which also applies what scripts set.
    """
    current = atiende.procedure(session, case.procedure_version_id)
    plan = CasePlan(case.id, case.ticket, case.status, current.version, target.version)
    if current.process_id != target.process_id:
        raise NotMigratable("la versión de destino es de otro procedimiento")
    if case.status == "cerrado":
        plan.blockers.append("el caso está cerrado")
    if current.version_id == target.version_id:
        plan.blockers.append("el caso ya está en esa versión")
    if plan.blockers:
        return plan, None
    workflow = atiende.serializer.loads(
        case_rows.stored_workflow(session, case.id), current.spec, current.subprocess_specs
    )
    workflow.script_engine = sandbox.script_engine()
    plan.pending_before = procedure_diff.pending_steps(workflow)
    armed = {
        t.id: (t.task_spec.bpmn_name or t.task_spec.bpmn_id, t.internal_data["event_value"], timer_due(t))
        for t in waiting_timers(workflow)
    }
    try:
        with task_ids.issuing(workflow):  # the tasks the move makes are named as the case's others
            aligned = procedure_diff.align(atiende.serializer.spec_registry, workflow, target)
            plan.blockers += aligned.blockers
            plan.changed_pending += aligned.changed_pending
            plan.changed_done += aligned.changed_done
            if plan.blockers:
                return plan, None
            procedure_diff.restore_timers(workflow, armed)
            if run_steps:
                workflow.do_engine_steps(budget.EngineMeter().will)
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow's migration is new; any failure blocks this case
        plan.blockers.append(f"no se pudo migrar: {exc}")
        return plan, None
    plan.pending_after = procedure_diff.pending_steps(workflow)
    after = {t.id: timer_due(t) for t in waiting_timers(workflow)}
    plan.timers = [TimerChange(name, due, after.get(task_id)) for task_id, (name, _value, due) in armed.items()]
    plan.timers += [
        TimerChange(t.task_spec.bpmn_name or t.task_spec.bpmn_id, None, after[t.id])
        for t in waiting_timers(workflow)
        if t.id not in armed
    ]
    for timer in plan.timers:
        if timer.before is not None and timer.after is not None and not timer.kept:
            plan.blockers.append(f"el vencimiento de «{timer.name}» se movería")
    return plan, workflow


def _rename_projected_tasks(session, case: Case, target: Procedure) -> None:
    """Tasks that stayed READY keep their row (and assignee); their name, role and form follow the new version."""
    for row in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)):
        step = target.steps.get(row.bpmn_id)
        if step is not None:
            row.name, row.lane, row.form = step.name, step.role or "", step.form
