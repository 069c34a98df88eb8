"""What-if before a deploy: the last cases of a procedure replayed on a draft, nothing written.

Every case's audit trail holds what moved its workflow: the start data (``caso_creado``), each
task's submission (``tarea_completada``), each message it received (``mensaje_recibido``), and
the moments its timers fired (``temporizador_disparado``). ``replay`` reads the last N cases
(open and closed) of the procedures the draft changes (its own and every caller a deploy would
re-version, ``versions.with_callers``) and their trails in a read-only session of the office's
database, and plays
each one twice in a throwaway in-memory database (the way ``scenarios`` runs a diagram set):
first on the version in force, as a control, then on the draft. Timers fire when they are due
(as the timer worker fires them, to the second); a submission is checked again against the
form of the version it is played on.

The control keeps the answer honest: a case whose history is incomplete, whose replay on
the version in force fails, or does not end on the path, status and deadline (to the day) the
database holds is reported «no reproducible» with the reason, never compared. The others are
«igual», «camino distinto» (the first recorded step after which the two paths differ, and
the elements only one of them went through), «plazo distinto» (the case's deadline, before
and after) or «falla» (the element and the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.bpm import failures, loops, start_events
from engine.bpm.messages import Letter
from engine.bpm.parsing import Problem
from engine.bpm.runtime import CasePath, path_of, ready_user_tasks
from engine.cases import runs
from engine.db import case_rows
from engine.db.models import AuditEvent, Base, Case, CatalogItem, HumanTask, ProcedureVersion
from engine.db.store import Store
from engine.errors import DiagramError, FormErrors, NotFound
from engine.facade import Atiende
from engine.procedures import versions as procedures

DEFAULT_CASES = 200
MAX_CASES = 1000
MAX_STEPS = 400  # recorded steps of one case replayed; a longer history is reported, not replayed
MAX_FIRINGS = 500  # timer firings of one case in one replay (a weekly follow-up over years stays under it)
TIMER_LAG = timedelta(seconds=1)  # a timer fires once strictly past its due time, as SpiffWorkflow wants
ACTOR = "simulacion"

SAME = "igual"
OTHER_PATH = "camino distinto"
OTHER_DEADLINE = "plazo distinto"
FAILS = "falla"
NOT_REPRODUCIBLE = "no reproducible"
KINDS = (SAME, OTHER_PATH, OTHER_DEADLINE, FAILS, NOT_REPRODUCIBLE)
_MOVES = ("caso_creado", "tarea_completada", "mensaje_recibido", "temporizador_disparado")


@dataclass(frozen=True)
class Outcome:
    """What replaying one case on the draft gave, in the analyst's words."""

    case_id: int
    ticket: str
    process_id: str
    kind: str  # one of KINDS
    detail: str = ""  # what differs, or why it cannot be reproduced (Spanish)
    element_id: str | None = None
    element_name: str | None = None
    deadline_before: datetime | None = None
    deadline_after: datetime | None = None


@dataclass(frozen=True)
class _Step:
    at: datetime
    kind: str  # an event kind of _MOVES
    element: str | None = None  # the task's bpmn id, the message's name
    data: dict = field(default_factory=dict)
    instance: int | None = None  # which item of a multi-instance task


@dataclass
class _Recorded:
    """A case as the office's database holds it, and the steps that brought it there."""

    case_id: int
    ticket: str
    process_id: str
    version: int
    status: str
    due_at: datetime | None
    path: CasePath
    end: datetime  # replays run to here: the last step, or now for an open case
    steps: list[_Step]
    start_event: str | None  # the calendar's start event a scheduled run began at
    missing: str | None = None  # why the history cannot be replayed

    def outcome(self, kind: str, detail: str = "", *args, **kwargs) -> Outcome:
        return Outcome(self.case_id, self.ticket, self.process_id, kind, detail, *args, **kwargs)


@dataclass(frozen=True)
class _Snapshot:
    """Where a replay stands: the elements it went through and the tasks it waits on (a task again, too)."""

    path: CasePath
    waits: frozenset[str]


def _snapshot(workflow) -> _Snapshot:
    return _Snapshot(path_of(workflow), frozenset(t.task_spec.bpmn_id for t in ready_user_tasks(workflow)))


@dataclass
class _Run:
    path: _Snapshot | None = None
    status: str | None = None
    due_at: datetime | None = None
    paths: list[_Snapshot] = field(default_factory=list)  # after each recorded step
    failure: tuple[str | None, str | None, str] | None = None  # element id, name, reason
    stopped: tuple[int, str] | None = None  # a recorded step the replay could not take, and why


class _Diverged(Exception):
    """The recorded step has nothing to act on in this replay (its task is not pending)."""


def replay(atiende, process_id: str, files: dict[str, str], forms: dict[str, dict], n: int = DEFAULT_CASES):
    """The last ``n`` cases the draft (``files``, ``forms``) of ``process_id`` would change, replayed on it.

    Those are the cases of ``process_id`` and, when the draft changes a procedure others call, of
    every caller a deploy would give a new version (``versions.with_callers``); newest first, one
    outcome each. Raises FormErrors for an ``n`` out of range, DiagramError when the draft does not
    validate or does not define the procedure, NotFound when the procedure was never deployed.
    """
    if not isinstance(n, int) or not 1 <= n <= MAX_CASES:
        raise FormErrors({"casos": f"Indique un número de casos entre 1 y {MAX_CASES}."})
    candidates = procedures.check(files, forms, atiende.serializer)
    if process_id not in {c.process_id for c in candidates}:
        raise DiagramError([Problem(process_id, f"el borrador no define el proceso «{process_id}»")])
    with atiende.store.read() as s:
        if procedures.latest_version(s, process_id) is None:
            raise NotFound(f"no hay una versión desplegada de «{process_id}»")
        pairs = {}  # process id → (the version in force, copied; the draft's candidate)
        for candidate in procedures.with_callers(s, candidates, atiende.serializer):
            current = procedures.latest_version(s, candidate.process_id)
            if current is not None and (
                candidate.process_id == process_id or candidate.content_hash != current.content_hash
            ):
                pairs[candidate.process_id] = (_copy(current), candidate)
        recorded = _recorded_cases(atiende, s, sorted(pairs), n)
        items = [
            (item.catalog, item.code, item.label, item.extra, item.active) for item in s.scalars(select(CatalogItem))
        ]
    return _simulate(atiende, recorded, pairs, items)


# -- what the office's database holds ------------------------------------------------------------


def _recorded_cases(atiende, session: Session, process_ids: list[str], n: int) -> list[_Recorded]:
    cases = list(
        session.scalars(
            select(Case)
            .join(ProcedureVersion, ProcedureVersion.id == Case.procedure_version_id)
            .where(ProcedureVersion.process_id.in_(process_ids))
            .order_by(Case.opened_at.desc(), Case.id.desc())
            .limit(n)
        )
    )
    events: dict[int, list[AuditEvent]] = {case.id: [] for case in cases}
    ids = list(events)
    for chunk in range(0, len(ids), 500):
        for event in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id.in_(ids[chunk : chunk + 500]), AuditEvent.kind.in_(_MOVES))
            .order_by(AuditEvent.id)
        ):
            assert event.case_id is not None  # chosen by case
            events[event.case_id].append(event)
    now = atiende.now()
    return [_recorded(atiende, session, case, events[case.id], now) for case in cases]


def _recorded(atiende, session: Session, case: Case, events: list[AuditEvent], now: datetime) -> _Recorded:
    procedure = atiende.procedure(session, case.procedure_version_id)
    workflow = atiende.serializer.loads(
        case_rows.stored_workflow(session, case.id), procedure.spec, procedure.subprocess_specs
    )
    path = path_of(workflow)
    if case.status == "cerrado" or not events:
        end = max([e.at for e in events], default=case.opened_at)
    else:  # open: up to now, but not past a timer the worker has yet to fire
        end = min(now, case.timer_due_at) if case.timer_due_at is not None else now
    scheduled = {event.bpmn_id for event in start_events.scheduled(procedure.spec)}
    recorded = _Recorded(
        case.id,
        case.ticket,
        procedure.process_id,
        procedure.version,
        case.status,
        case.due_at,
        path,
        end,
        [],
        next(iter(scheduled & (path.done | path.current)), None),  # the others never fire
    )
    if not events or events[0].kind != "caso_creado":
        recorded.missing = "su historia no registra el inicio del caso"
    elif len(events) > MAX_STEPS:
        recorded.missing = f"su historia tiene más de {MAX_STEPS} pasos"
    for event in events if recorded.missing is None else []:
        detail = event.detail or {}
        if event.kind != "temporizador_disparado" and not isinstance(detail.get("datos"), dict):
            recorded.missing = "faltan los datos enviados"
            return recorded
        if event.kind == "tarea_completada":
            step = _Step(event.at, event.kind, detail.get("tarea"), detail["datos"], _instance(workflow, event.task_id))
        elif event.kind == "mensaje_recibido":
            step = _Step(event.at, event.kind, detail.get("mensaje"), detail["datos"])
        else:
            step = _Step(event.at, event.kind, data=detail.get("datos", {}))
        recorded.steps.append(step)
    return recorded


def _instance(workflow, task_id: str | None) -> int | None:
    """Which item of its loop a completed task was, read from the case's own workflow."""
    try:
        task = workflow.get_task_from_id(UUID(task_id)) if task_id else None
    except ValueError:
        return None
    found = loops.instance_of(task) if task is not None else None
    return found.index if found is not None else None


def _copy(version: ProcedureVersion) -> dict:
    columns = ("process_id", "name", "version", "content_hash", "bpmn", "forms", "spec", "deployed_by", "deployed_at")
    return {name: getattr(version, name) for name in columns}


# -- the throwaway database ----------------------------------------------------------------------------


def _simulate(atiende, recorded: list[_Recorded], pairs: dict, items) -> list[Outcome]:
    store = Store("sqlite://")
    try:
        Base.metadata.create_all(store.engine)
        with store.unit_of_work() as s:
            s.add_all(CatalogItem(catalog=c, code=k, label=label, extra=e, active=a) for c, k, label, e, a in items)
            controls = {pid: ProcedureVersion(**copied, note="") for pid, (copied, _draft) in pairs.items()}
            s.add_all(controls.values())
            s.flush()
            drafts = procedures.deploy(s, [draft for _copied, draft in pairs.values()], ACTOR, atiende.now())
            ids = {pid: (controls[pid].id, next(d.id for d in drafts if d.process_id == pid)) for pid in pairs}
            versions = {pid: copied["version"] for pid, (copied, _draft) in pairs.items()}
        sim = Atiende(store, clock.FrozenClock(atiende.now()), live_cases=64, settings=atiende.settings)
        return [_compare(sim, case, *ids[case.process_id], versions[case.process_id]) for case in recorded]
    finally:
        store.dispose()


def _compare(sim, case: _Recorded, control_id: int, draft_id: int, in_force: int) -> Outcome:
    if case.missing:
        return case.outcome(NOT_REPRODUCIBLE, case.missing)
    control = _play(sim, case, control_id)
    if control.failure is not None:
        _, name, reason = control.failure
        where = f" en «{name}»" if name else ""
        return case.outcome(NOT_REPRODUCIBLE, f"la versión vigente falla{where}: {reason}")
    if control.stopped is not None:
        return case.outcome(
            NOT_REPRODUCIBLE,
            f"la versión vigente no reproduce el camino registrado: {control.stopped[1]}",
        )
    if (
        control.path is None
        or control.path.path != case.path
        or control.status != case.status
        or not _same_day(control.due_at, case.due_at)
    ):
        why = f"el caso corre en la versión {case.version}" if case.version != in_force else "otros datos"
        return case.outcome(
            NOT_REPRODUCIBLE,
            f"la versión vigente ({in_force}) no reproduce el camino registrado ({why})",
        )
    if draft_id == control_id:  # the draft is the version in force: nothing to compare
        return case.outcome(SAME)
    changed = _play(sim, case, draft_id)
    names = _names(sim, draft_id) | _names(sim, control_id)
    if changed.failure is not None:
        element, name, reason = changed.failure
        return case.outcome(FAILS, reason, element, name)
    if changed.stopped is not None or changed.paths != control.paths or changed.status != control.status:
        return _other_path(case, control, changed, names)
    if changed.due_at != control.due_at:
        return case.outcome(
            OTHER_DEADLINE,
            f"{_day(control.due_at)} → {_day(changed.due_at)}",
            deadline_before=control.due_at,
            deadline_after=changed.due_at,
        )
    return case.outcome(SAME)


def _other_path(case: _Recorded, control: _Run, changed: _Run, names: dict[str, str]) -> Outcome:
    """Where the draft's path first leaves the control's: after which recorded step, and how."""
    index = next(
        (i for i, (a, b) in enumerate(zip(control.paths, changed.paths, strict=False)) if a != b),
        min(len(control.paths), len(changed.paths)),
    )
    if changed.stopped is not None and changed.stopped[0] <= index:
        index, why = changed.stopped
        element = case.steps[index].element
        detail = f"paso {index + 1}{_label(case.steps[index], names)}: en la versión nueva {why}"
        return case.outcome(OTHER_PATH, detail, element, names.get(element or ""))
    if index >= len(changed.paths):  # the same after every recorded step: a later timer or the status differs
        before, after, where = control.path, changed.path, "al final"
    else:
        before, after = control.paths[index], changed.paths[index]
        where = f"tras el paso {index + 1}{_label(case.steps[index], names)}"
    assert before is not None and after is not None

    def listed(ids) -> str:
        return ", ".join(f"«{names.get(e, e)}»" for e in sorted(ids)) or "nada"

    only_new, only_old = _elements(after) - _elements(before), _elements(before) - _elements(after)
    parts = []
    if only_new:
        parts.append(f"solo la versión nueva pasa por {listed(only_new)}")
    if only_old:
        parts.append(f"solo la vigente pasa por {listed(only_old)}")
    if after.waits != before.waits:
        parts.append(f"la nueva espera {listed(after.waits)} y la vigente {listed(before.waits)}")
    if changed.status != control.status:
        parts.append(f"al final el estado sería «{changed.status}» y no «{control.status}»")
    moved = changed.due_at != control.due_at
    if moved:
        parts.append(f"plazo {_day(control.due_at)} → {_day(changed.due_at)}")
    first = min(only_new or (after.waits - before.waits) or only_old or {""})
    return case.outcome(
        OTHER_PATH,
        f"{where}: {'; '.join(parts)}",
        first or None,
        names.get(first) if first else None,
        control.due_at if moved else None,
        changed.due_at if moved else None,
    )


def _label(step: _Step, names: dict[str, str]) -> str:
    """The recorded step as the analyst knows it: « (Aprobar hoja de trámite)»."""
    if step.kind == "caso_creado":
        return " (inicio del caso)"
    return f" («{names.get(step.element or '', step.element)}»)" if step.element else ""


def _elements(snapshot: _Snapshot) -> set[str]:
    return set(snapshot.path.done | snapshot.path.current | snapshot.path.waiting)


def _names(sim, version_id: int) -> dict[str, str]:
    with sim.store.read() as s:
        procedure = sim.procedure(s, version_id)
    specs = [procedure.spec, *procedure.subprocess_specs.values()]
    return {
        ts.bpmn_id: ts.bpmn_name or ts.bpmn_id
        for spec in specs
        for ts in spec.task_specs.values()
        if getattr(ts, "bpmn_id", None)
    }


def _same_day(a: datetime | None, b: datetime | None) -> bool:
    return _day(a) == _day(b)


def _day(moment: datetime | None) -> str:
    return moment.astimezone(clock.PANAMA).strftime("%d/%m/%Y") if moment is not None else "sin plazo"


# -- one replay ----------------------------------------------------------------------------------------


def _play(sim, case: _Recorded, version_id: int) -> _Run:
    run, at = _Run(), _At()
    for index, step in enumerate(case.steps):
        try:
            if at.case_id is not None:
                _fire_due(sim, at, step.at)
            sim.clock.set(step.at)
            if step.kind == "caso_creado":
                _start(sim, at, version_id, step, case.start_event)
            elif step.kind == "tarea_completada":
                _complete(sim, at, step)
            elif step.kind == "mensaje_recibido":
                _receive(sim, at, step)
            # a recorded firing needs nothing more: what was due then has fired, at its own time
        except _Diverged as diverged:
            run.stopped = (index, str(diverged))
            break
        except Exception as exc:  # noqa: BLE001 - a failing step is the answer, whatever the library raised
            run.failure = _failure(sim, version_id, step, exc)
            return run
        run.paths.append(_snapshot(at.workflow))
    if at.case_id is not None:
        try:
            if run.stopped is None:
                _fire_due(sim, at, case.end)
        except Exception as exc:  # noqa: BLE001 - as above
            run.failure = _failure(sim, version_id, None, exc)
            return run
        with sim.store.read() as s:
            row = s.get(Case, at.case_id)
            run.status, run.due_at = row.status, row.due_at
        run.path = _snapshot(at.workflow)
    return run


@dataclass
class _At:
    """Where a replay stands: its case in the throwaway database and the workflow of its last step."""

    case_id: int | None = None
    workflow: Any = None  # SpiffWorkflow's, which only engine.bpm imports by name

    def moved(self, sim, advanced) -> None:
        sim.runtime.remember(advanced)
        self.case_id, self.workflow = advanced.case_id, advanced.workflow


def _start(sim, at: _At, version_id: int, step: _Step, start_event: str | None) -> None:
    with sim.unit_of_work() as s:
        procedure = sim.procedure(s, version_id)
        if procedure.start_form:
            data = sim.clean_form(s, procedure, procedure.start_form, step.data)
        else:  # a scheduled run: its selector's record, without what opening a case adds
            data = {k: v for k, v in step.data.items() if k not in ("ticket", "fecha_inicio")}
        _case, [advanced, *_delivered] = runs.open_case(
            sim, s, procedure, data, ACTOR, sim.now(), start_event=start_event
        )
    at.moved(sim, advanced)


def _complete(sim, at: _At, step: _Step) -> None:
    with sim.unit_of_work() as s:
        case = s.get(Case, at.case_id)
        procedure = sim.procedure(s, case.procedure_version_id)
        pending = list(
            s.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.bpmn_id == step.element))
        )
        if len(pending) > 1 and step.instance is not None:
            pending = [t for t in pending if _instance(at.workflow, t.id) == step.instance]
        if not pending:
            name = procedure.steps[step.element].name if step.element in procedure.steps else step.element
            raise _Diverged(f"la tarea «{name}» no está pendiente")
        task = pending[0]
        data = sim.clean_form(s, procedure, task.form, step.data)
        advanced = sim.runtime.complete(s, case, procedure, task.id, data, ACTOR, sim.now())
    at.moved(sim, advanced)  # what it threw for other cases is not delivered: they are not replayed


def _receive(sim, at: _At, step: _Step) -> None:
    waiting = path_of(at.workflow).waiting
    definition = next(
        (
            t.task_spec.event_definition
            for t in at.workflow.get_tasks()
            if t.task_spec.bpmn_id in waiting
            and getattr(getattr(t.task_spec, "event_definition", None), "name", None) == step.element
        ),
        None,
    )
    if definition is None:
        raise _Diverged(f"el caso no espera el mensaje «{step.element}»")
    with sim.unit_of_work() as s:
        case = s.get(Case, at.case_id)
        procedure = sim.procedure(s, case.procedure_version_id)
        advanced = sim.runtime.receive(s, case, procedure, Letter(case.ticket, definition, step.data), sim.now())
    at.moved(sim, advanced)


def _fire_due(sim, at: _At, until: datetime) -> None:
    """Fire every timer of the case due before ``until``, each at its own due time (plus TIMER_LAG)."""
    for _ in range(MAX_FIRINGS):
        with sim.unit_of_work() as s:
            case = s.get(Case, at.case_id)
            due = case.timer_due_at
            if due is None or due >= until:
                return
            sim.clock.set(min(max(sim.now(), due + TIMER_LAG), until))
            advanced, _ = sim.runtime.fire_timers(s, case, sim.procedure(s, case.procedure_version_id), sim.now())
        at.moved(sim, advanced)
    raise RuntimeError(f"los temporizadores se dispararon más de {MAX_FIRINGS} veces")


def _failure(sim, version_id: int, step: _Step | None, exc: Exception) -> tuple[str | None, str | None, str]:
    """The element that failed (the library's, else the recorded step's) and the reason, in Spanish."""
    names = _names(sim, version_id)
    element = step.element if step is not None and step.kind == "tarea_completada" else None
    if isinstance(exc, FormErrors):
        fields = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        return element, names.get(element or "", element), f"los datos que se enviaron no pasan el formulario: {fields}"
    fault = failures.explain(exc, element or "", names.get(element or "", element or ""))
    return fault.element_id or None, fault.element_name or None, fault.reason
