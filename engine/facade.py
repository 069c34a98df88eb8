"""The engine facade: one engine bound to a database, a clock and the settings, and the use cases
that move a case (start it, complete a task, fire its timers, deploy a procedure).

The web and the command line reach the rest of the engine through the packages' public
modules (``engine.cases``, ``engine.paperwork``, ...), which take this facade as their first
argument. Each use case here is one unit of work: the case row is locked, the workflow advanced, the
case, its task projection, its audit events written, and all of it committed together or
not at all. Callers pass plain values and get plain results or a domain error.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import calendar as business_calendar
from engine import clock
from engine.access import permissions
from engine.access.accounts import Actor
from engine.audit import trail as audit
from engine.bpm.runtime import CasePath, Runtime, path_of
from engine.bpm.state import compaction
from engine.bpm.state.codec import StateCodec
from engine.bpm.state.serializer import InstanceSerializer
from engine.cases import attachments, incidents, runs, selectors
from engine.db import case_rows, statements
from engine.db.models import Case, HumanTask, ProcedureVersion
from engine.db.statements import savepoint, together
from engine.db.store import Store
from engine.errors import Forbidden, FormErrors, NotFound, SchemaOutdated, TaskAlreadyDone, Undeliverable
from engine.forms import catalogs
from engine.forms import schemas as form_schemas
from engine.procedures import versions as procedures
from engine.procedures.versions import Procedure, ProcedureCache
from engine.settings import Settings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = ROOT / "processes"
FORMS_DIR = ROOT / "forms"


@dataclass(frozen=True)
class Started:
    case_id: int
    ticket: str


@dataclass(frozen=True)
class Completed:
    case_id: int
    ticket: str
    next_task_id: str | None  # the next task of the same case this actor may do


@dataclass(frozen=True)
class SweepResult:
    loaded: int
    fired: int
    failed: int
    started: int = 0  # runs of scheduled procedures started (engine.bpm.start_events)


def migrate(database_url: str | None) -> None:
    """Bring a database's schema up to date, as ``python -m web`` does before it serves (the one process
    of a first look); an installation runs ``atiende migrate`` before starting its processes."""
    store = Store(database_url)
    try:
        store.migrate()
    finally:
        store.dispose()


@contextlib.contextmanager
def _collected_after():
    """Garbage collection paused for a block, then one young collection.

    A sweep batch makes and drops two hundred workflows full of reference cycles; the
    collections they would trigger on the way each walk the process's long-lived objects
    too. Pausing them was 15 % of a sweep (bench/timers.py). Another thread may allocate
    meanwhile: the pause lasts one batch, well under a second.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect(0)


class Atiende:
    """The engine, bound to one database, one clock and the process's settings."""

    def __init__(self, store: Store, clock_=None, live_cases: int = 512, settings: Settings | None = None):
        self.store = store
        self.clock = clock_ or clock.SystemClock()
        self.settings = settings or Settings()  # the process's, read at its start (engine.settings)
        serializer = InstanceSerializer(StateCodec(compaction.dictionaries(store)))
        self.serializer = serializer
        self.procedures = ProcedureCache(serializer)
        self.catalog_cache = catalogs.CatalogCache()
        self.runtime = Runtime(serializer, self.catalog_cache, self.settings, live_cases=live_cases)

    @classmethod
    def open(cls, database_url: str | None, clock_=None, settings: Settings | None = None) -> Atiende:
        """The engine on a database whose schema is this release's (the web application's).

        Raises ``SchemaOutdated`` otherwise, and never migrates: several processes starting at once
        would race on the schema. ``atiende migrate`` (or ``python -m web``) brings it up to date.
        """
        settings = settings or Settings()
        store = Store(database_url, connections=settings.threads)
        try:
            store.check_schema()
        except SchemaOutdated:
            store.dispose()
            raise
        return cls(store, clock_, settings=settings)

    def now(self) -> datetime:
        return self.clock.now()

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction, with this engine's clock the time of everything inside it (SpiffWorkflow's too)."""
        self.serializer.codec.read_once()
        with clock.using(self.clock), self.store.unit_of_work() as session:
            yield session

    # -- procedures -----------------------------------------------------------------------
    def deploy(
        self, files: dict[str, str], forms: dict[str, dict], actor: str, note: str = ""
    ) -> list[ProcedureVersion]:
        """Check a diagram set and store its new versions; raises DiagramError with every problem."""
        candidates = procedures.check(files, forms, self.serializer)
        with self.store.unit_of_work() as s:
            return procedures.deploy(
                s, procedures.with_callers(s, candidates, self.serializer), actor, self.now(), note
            )

    def deploy_directory(
        self, actor: str, note: str = "", processes_dir: Path = PROCESSES_DIR, forms_dir: Path = FORMS_DIR
    ) -> list[ProcedureVersion]:
        files, forms = procedures.read_directory(processes_dir, forms_dir)
        return self.deploy(files, forms, actor, note)

    def procedure(self, session: Session, version_id: int) -> Procedure:
        return self.procedures.get(session, version_id)

    def latest_procedure(self, session: Session, process_id: str) -> Procedure:
        return self._newest(session, process_id, procedures.latest_version_id(session, process_id))

    def _newest(self, session: Session, process_id: str, version_id: int | None) -> Procedure:
        if version_id is None:
            raise NotFound(f"no hay una versión desplegada de «{process_id}»")
        return self.procedures.get(session, version_id)

    # -- cases ----------------------------------------------------------------------------
    def start_case(
        self,
        process_id: str,
        submitted: dict,
        actor: Actor,
        then: Callable[[Session, Case], None] | None = None,
        uploads: attachments.Uploads | None = None,
    ) -> Started:
        """Validate the start form, issue the ticket and run the procedure to its first tasks.

        ``then(session, case)`` runs inside the same transaction once the case exists, so a
        channel's own bookkeeping (an intake item marked done, an acknowledgement queued)
        commits with the case or not at all; so do the form's new files (``uploads``). Raises
        Forbidden unless the actor may start the procedure (``permissions.start_refusal``): every
        path that starts a case comes here.
        """
        try:
            with self.unit_of_work() as s:
                procedure = self._to_start(s, actor, process_id)
                submitted = attachments.with_uploads(s, submitted, uploads, actor.username, self.now())
                data = self.clean_form(s, procedure, procedure.start_form, submitted)
                now = self.now()
                step = incidents.Step.of(incidents.START, procedure, actor.username, "", "Inicio del caso")
                start_schema = procedure.forms.get(procedure.start_form) if procedure.start_form is not None else None
                if then is None and not any(data.get(field) for field in attachments.fields_of(start_schema)):
                    statements.may_end_with_the_step(s)  # nothing runs after the step: no files to attach
                with incidents.guard(step):
                    try:
                        case, moved = runs.open_case(self, s, procedure, data, actor.username, now)
                    except Undeliverable as exc:  # a message naming a case that cannot take it: the data's
                        raise FormErrors({"_formulario": f"No se guardó: {exc}."}) from exc
                attachments.attach_fields(s, start_schema, data, case.id)
                if then is not None:
                    then(s, case)
        except incidents.Failed as failed:
            raise incidents.record(self, failed) from failed
        for advanced in moved:
            self.runtime.remember(advanced)
        return Started(case.id, case.ticket)

    def complete_task(
        self, task_id: str, submitted: dict, actor: Actor, uploads: attachments.Uploads | None = None
    ) -> Completed:
        """Complete a task with a form submission (its new files stored only if it is accepted);
        exactly one of two simultaneous attempts wins. A step of the procedure that fails is rolled
        back and recorded as an incident (``engine.cases.incidents``): raises ``StepFailed``."""
        try:
            with self.unit_of_work() as s:
                found = case_rows.task_with_case(
                    s,
                    task_id,
                    locked_again=not self.store.is_sqlite,
                    also=(business_calendar.VERSION_READ, incidents.of_task_read(task_id)),
                )
                if found is None:
                    raise self.missing_task(s, task_id)
                task, case, (calendar_version, open_incidents) = found
                business_calendar.read_ahead(s, calendar_version)
                refused = permissions.refusal(actor, task)
                if refused:
                    raise Forbidden(refused)
                procedure = self.procedure(s, case.procedure_version_id)
                submitted = attachments.with_uploads(s, submitted, uploads, actor.username, self.now())
                data = self.clean_form(s, procedure, task.form, submitted)
                schema = procedure.forms.get(task.form) if task.form is not None else None
                selectors.check(s, schema, data)  # choices taken from the cases, offered now (x-opciones)
                attachments.attach_fields(s, schema, data, case.id)
                step = incidents.Step.of(
                    incidents.TASK,
                    procedure,
                    actor.username,
                    task.bpmn_id,
                    task.name,
                    case_id=case.id,
                    task_id=task_id,
                    data=data,
                )
                if not open_incidents:  # nothing to resolve after the step: its writes may end the transaction
                    statements.may_end_with_the_step(s)
                with incidents.guard(step):
                    advanced = self.runtime.complete(
                        s, case, procedure, task_id, data, actor.username, self.now(), opened=task.created_at
                    )
                    try:
                        delivered = runs.deliver(self, s, case.ticket, advanced, self.now())
                    except Undeliverable as exc:  # e.g. an acta naming a ticket that awaits no meeting
                        raise FormErrors({"_formulario": f"No se guardó: {exc}."}) from exc
                incidents.passed(
                    s, case.id, incidents.TASK, actor.username, self.now(), task_id=task_id, open_rows=open_incidents
                )
                next_task = next((t.id for t in advanced.new_tasks if permissions.may_work(actor, t)), None)
                result = Completed(case.id, case.ticket, next_task)
        except incidents.Failed as failed:
            raise incidents.record(self, failed) from failed
        for moved in (advanced, *delivered):
            self.runtime.remember(moved)
        return result

    def run_timer_sweep(self, batch: int = 200) -> SweepResult:
        """Fire every due timer: load only the cases whose earliest timer is due, lock, fire, persist."""
        loaded = fired = failed = 0
        with clock.using(self.clock):
            now = self.now()
            started, runs_started = runs.start_due_runs(self, now)  # scheduled procedures (engine.bpm.start_events)
            for item in runs_started:
                self.runtime.remember(item)
            while True:
                with _collected_after(), self.store.unit_of_work() as s:
                    # Strictly before now, as SpiffWorkflow fires a timer: one due this instant fires next sweep.
                    query = select(Case).where(Case.timer_due_at < now).order_by(Case.timer_due_at).limit(batch)
                    if not self.store.is_sqlite:
                        query = query.with_for_update(skip_locked=True)
                    due_cases = list(s.scalars(query))
                    with_incident = incidents.open_case_ids(s, incidents.TIMER, [c.id for c in due_cases])
                    for case in due_cases:
                        loaded += 1
                        try:
                            # Each case is a savepoint: a firing that fails after writing its status,
                            # documents or mail leaves none of them, and its retry does it all once.
                            with savepoint(s):
                                procedure = self.procedure(s, case.procedure_version_id)
                                result, _names = self.runtime.fire_timers(s, case, procedure, now)
                                if result.messages:
                                    runs.deliver_or_record(self, s, case, result, now)
                            fired += 1
                            if case.id in with_incident:  # re-armed by a migration, and now it went through
                                incidents.passed(s, case.id, incidents.TIMER, audit.SYSTEM, now)
                        except Exception as exc:  # noqa: BLE001 - one broken case must not stop the sweep
                            failed += 1
                            log.exception("timer of case %s failed", case.ticket)
                            # An incident, and the case left alone until someone retries or resolves it
                            # (engine.cases.incidents), instead of failing again every few minutes.
                            case.timer_due_at = None
                            step = incidents.Step.of(
                                incidents.TIMER,
                                self.procedure(s, case.procedure_version_id),
                                audit.SYSTEM,
                                "",
                                "Temporizador",
                                case_id=case.id,
                            )
                            incidents.note_error(s, step, exc, now)
                # Swept workflows are not remembered: a sweep touches up to thousands of cold cases,
                # which would push the ones people are working on out of memory; and every garbage
                # collection of the sweep walked those it kept (2.24 → 2.06 s without, bench/timers.py).
                if len(due_cases) < batch:
                    return SweepResult(loaded, fired, failed, started)

    # -- queries --------------------------------------------------------------------------
    def tasks_for(self, session: Session, actor: Actor) -> list[HumanTask]:
        """The READY tasks the actor may work, soonest due first."""
        lanes, values = permissions.workable_lanes(actor)
        query = select(HumanTask).where(permissions.workable(lanes)).order_by(HumanTask.due_at, HumanTask.created_at)
        return list(session.scalars(query, values))

    def task_for(self, session: Session, task_id: str, actor: Actor) -> HumanTask:
        """The task, if the actor may work it; with its case, in the same read (whoever asks reads both),
        both detached (``case_rows.task_to_show``)."""
        task = case_rows.task_to_show(session, task_id)
        if task is None:
            raise self.missing_task(session, task_id)
        if not permissions.may_work(actor, task):
            raise Forbidden("no tiene permiso para esta tarea")
        return task

    def check_start(self, session: Session, actor: Actor, procedure: Procedure, in_force: list | None = None) -> None:
        """Raise Forbidden, saying why in Spanish, unless the actor may start the procedure.
        ``in_force``: the rows ``procedures.IN_FORCE_READ`` gave, when already read."""
        refused = permissions.start_refusal(actor, procedure, self._called(session, actor, in_force))
        if refused:
            raise Forbidden(refused)

    def startable(self, session: Session, actor: Actor) -> list[Procedure]:
        """The procedures the actor may start by hand, by name (``permissions.may_start``)."""
        in_force = procedures.in_force(session, self.procedures)
        called = procedures.called(in_force)
        return sorted((p for p in in_force if permissions.may_start(actor, p, called)), key=lambda p: p.name)

    def case_for(self, session: Session, case_id: int, actor: Actor) -> Case:
        return self.reachable(session.get(Case, case_id), actor)

    def reachable(self, case: Case | None, actor: Actor) -> Case:
        """The case, if there is one and the actor may reach it (NotFound, Forbidden otherwise)."""
        if case is None:
            raise NotFound("el caso no existe")
        if not permissions.may_reach(actor, case.direccion):
            raise Forbidden("el caso no pertenece a su dirección")
        return case

    def case_path(self, session: Session, case: Case) -> CasePath:
        """Where a case stands on its diagram: the steps done, the tasks it waits on, its armed events."""
        procedure = self.procedure(session, case.procedure_version_id)
        return path_of(
            self.serializer.loads(
                case_rows.stored_workflow(session, case.id), procedure.spec, procedure.subprocess_specs
            )
        )

    # -- helpers --------------------------------------------------------------------------
    def _to_start(self, session: Session, actor: Actor, process_id: str) -> Procedure:
        """The newest version of ``process_id``, if the actor may start it (``check_start``). Its id, the
        procedures in force (who calls whom) and the calendar's version for the start's step are
        read together: on PostgreSQL one round trip, not three."""
        latest, calendar_version, in_force = together(
            session, procedures.latest_id_read(process_id), business_calendar.VERSION_READ, procedures.IN_FORCE_READ
        )
        business_calendar.read_ahead(session, calendar_version)
        procedure = self._newest(session, process_id, latest[0].id if latest else None)
        self.check_start(session, actor, procedure, in_force)
        return procedure

    def _called(self, session: Session, actor: Actor, in_force: list | None = None) -> frozenset[str]:
        """The procedures others call, when it matters: the office's own channels start what they name."""
        if actor.system:
            return frozenset()
        return procedures.called(procedures.in_force(session, self.procedures, in_force))

    def clean_form(self, session: Session, procedure: Procedure, form: str | None, submitted: dict) -> dict:
        """A submission of ``form`` typed and checked (``FormErrors`` otherwise); {} for a step with no form."""
        if not form:
            return {}
        schema = procedure.forms[form]
        return form_schemas.clean(
            schema, submitted, self.catalog_cache.codes(session, form_schemas.catalogs_of(schema))
        )

    @staticmethod
    def missing_task(session: Session, task_id: str) -> Exception:
        """The error for a task that is not pending: completed (by whom, when) or never there."""
        done = audit.completion_of(session, task_id)
        if done is None:
            return NotFound("la tarea no existe o ya no está pendiente")
        when = done.at.astimezone(clock.PANAMA).strftime("%d/%m/%Y %H:%M")
        return TaskAlreadyDone(f"La tarea ya fue completada por {done.actor} el {when}.", by=done.actor)
