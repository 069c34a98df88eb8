"""A task page: the step's instructions, the case and its history, the form; and what one does
with a task — complete it, save a draft, claim it, release it, or (a coordinator) reassign it.

Every action asks the engine, which refuses what the person may not do (``Forbidden`` → 403).
"""

from __future__ import annotations

from typing import cast

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.access.permissions import COORDINATORS, may_work_now
from engine.access.roles import ROLES
from engine.audit import trail as audit
from engine.cases import assignment, queries
from engine.errors import AssignmentRefused, Forbidden, FormErrors, StepFailed, TaskAlreadyDone
from engine.forms import drafts
from web.auth import role_required
from web.ui import forms_render, history, record, submission
from web.ui.context import actor, atiende
from web.ui.redirects import safe_next

bp = Blueprint("tasks", __name__, url_prefix="/tareas")


@bp.get("/<task_id>")
def tarea(task_id: str):
    """Show the task with the person's draft, or the form's defaults."""
    try:
        return _page(task_id)
    except TaskAlreadyDone as done:
        return _already_done(done)


@bp.post("/<task_id>")
def completar(task_id: str):
    """Complete the task, save a draft, or add/remove a row; errors beside the fields, input kept."""
    engine, me = atiende(), actor()
    try:
        # The schema (a read, with the permission check) is needed before storing files; without
        # files the posted names alone give the values, and the engine checks the rest.
        posted = submission.read(request, _schema(task_id) if submission.has_files(request) else None)
        if posted.changes_rows or posted.errors:
            return _page(task_id, posted.values, posted.shown()), (422 if posted.errors else 200)
        if posted.action == submission.DRAFT:
            drafts.save(engine, task_id, posted.values, me, posted.uploads)
            flash("Borrador guardado. Solo usted lo ve; se borra al completar la tarea.", "exito")
            return redirect(url_for("tasks.tarea", task_id=task_id))
        try:
            result = engine.complete_task(task_id, posted.values, me, posted.uploads)
        except FormErrors as invalid:
            return _page(task_id, posted.values, posted.shown(invalid.errors)), 422
        except StepFailed as failed:  # rolled back and recorded as an incident: say so over the input kept
            return _page(task_id, posted.values, posted.shown(), failure=str(failed)), 422
    except TaskAlreadyDone as done:
        return _already_done(done)
    flash(f"Tarea completada (caso {result.ticket}).", "exito")
    if result.next_task_id:
        return redirect(url_for("tasks.tarea", task_id=result.next_task_id))
    return redirect(url_for("bandeja.index"))


@bp.post("/<task_id>/tomar")
def tomar(task_id: str):
    """Claim the task: it leaves the others' bandejas."""
    return _assignment(task_id, lambda: assignment.claim(atiende(), task_id, actor()), "Tarea tomada.")


@bp.post("/<task_id>/liberar")
def liberar(task_id: str):
    """Give the task back to everyone of its role."""
    return _assignment(task_id, lambda: assignment.release(atiende(), task_id, actor()), "Tarea liberada.")


@bp.get("/<task_id>/reasignar")
@role_required(COORDINATORS, "Solo un coordinador puede reasignar tareas.")
def reasignar(task_id: str):
    """The coordinator's choice of whom to hand the task to."""
    return _reassign_page(task_id)


@bp.post("/<task_id>/reasignar")
@role_required(COORDINATORS, "Solo un coordinador puede reasignar tareas.")
def reasignar_a(task_id: str):
    username = request.form.get("usuario", "")
    try:
        assignment.reassign(atiende(), task_id, username, actor())
    except AssignmentRefused as refused:
        return _reassign_page(task_id, str(refused)), 422
    except TaskAlreadyDone as done:
        return _already_done(done)
    flash("Tarea reasignada.", "exito")
    return redirect(safe_next(request.form.get("volver")) or url_for("bandeja.index"))


def _assignment(task_id: str, change, message: str):
    try:
        change()
    except AssignmentRefused as refused:
        flash(str(refused), "error")
    except TaskAlreadyDone as done:
        return _already_done(done)
    else:
        flash(message, "exito")
    return redirect(safe_next(request.form.get("volver")) or url_for("tasks.tarea", task_id=task_id))


def _workable(session, task_id: str):
    """The task, if the person may work it now: their role (and dirección), not claimed by another."""
    engine, me = atiende(), actor()
    task = engine.task_for(session, task_id, me)  # Forbidden unless it is for this person
    if not may_work_now(me, task):  # then only because someone else took it: say who, by name
        assignee = cast(str, task.assignee)
        name = queries.full_names(session, [assignee]).get(assignee, assignee)
        raise Forbidden(f"la tarea está asignada a {name}")
    return task


def _schema(task_id: str) -> dict | None:
    engine = atiende()
    with engine.store.read() as s:
        task = _workable(s, task_id)
        return engine.procedure(s, task.case.procedure_version_id).forms.get(task.form) if task.form else None


def _page(task_id: str, values: dict | None = None, errors: dict | None = None, failure: str | None = None):
    """The task page; ``failure``: why the procedure's step failed (``StepFailed``), shown over the form."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        task = _workable(s, task_id)
        case = task.case
        procedure = engine.procedure(s, case.procedure_version_id)
        step = procedure.steps.get(task.bpmn_id)
        draft = drafts.load(s, task_id, me.username)
        if values is None and draft is not None:
            values = draft.form_values
        form = forms_render.build(s, procedure.forms.get(task.form) if task.form else None, values, errors)
        labels = record.Labels(s)
        events = audit.case_history(s, case.id)
        names = queries.full_names(s, {e.actor for e in events} | {task.assignee or ""})
        page = {
            "task": task,
            "case": case,
            "form": form,
            "draft": draft,
            "summary": record.summary(case, labels),
            "history": history.entries(events, names),
            "instructions": step.instructions if step else "",
            "role": ROLES.get(task.lane, task.lane),
            "assignee_name": names.get(task.assignee, task.assignee),
            "failure": failure,
        }
    return render_template("tasks/tarea.html", **page)


def _reassign_page(task_id: str, error: str | None = None):
    engine = atiende()
    with engine.store.read() as s:
        task = assignment.task_to_reassign(engine, s, task_id, actor())
        people = assignment.candidates(s, task)
        page = {
            "task": task,
            "case": task.case,
            "people": people,
            "error": error,
            "volver": safe_next(request.values.get("volver")) or url_for("bandeja.index"),
            "assignee_name": queries.full_names(s, [task.assignee]).get(task.assignee, task.assignee)
            if task.assignee
            else None,
        }
    return render_template("tasks/reasignar.html", **page)


def _already_done(done: TaskAlreadyDone):
    return render_template("tasks/ya_completada.html", message=str(done)), 409
