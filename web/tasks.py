"""A task page: what to act on (the citizen's words and files, the hoja de trámite where the diagram
says so, a returned hoja's comment), the step's instructions, the case and its history, the form;
and what one does with a task — complete it, save a draft, claim it, release it, or (a coordinator)
reassign it.

Every action asks the engine, which refuses what the person may not do (``Forbidden`` → 403). A
coordinator, who hands tasks to people, also opens a task they may not work (another role's, or
one someone else took): read only, with the buttons they can use (release, reassign), never «Tomar».
"""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for

from engine.access.permissions import COORDINATORS, may_coordinate, may_work_now
from engine.access.roles import ROLES
from engine.cases import assignment, expediente, queries
from engine.errors import AssignmentRefused, Forbidden, FormErrors, NotRendered, StepFailed
from engine.forms import defaults as form_defaults
from engine.forms import drafts
from engine.paperwork import devolucion, documents, hoja_inline
from web.auth import role_required
from web.channels.duplicados import duplicados_de
from web.ui import forms_render, history, record, submission
from web.ui.context import actor, atiende, download
from web.ui.redirects import safe_next

bp = Blueprint("tasks", __name__, url_prefix="/tareas")

NO_HOJA = "Esta tarea no muestra la hoja de trámite."
HOJA_NOT_READY = "La hoja de trámite todavía se está preparando. Intente de nuevo en unos minutos."
# The hoja is a page of its own (its styles inline, its QR code a data: image) framed by the task page:
# nothing else may load, nothing runs, and only this application may frame it.
HOJA_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'; sandbox"
)


@bp.get("/<task_id>")
def tarea(task_id: str):
    """Show the task with the person's draft, or the form's defaults; a coordinator's view of another's task."""
    try:
        return _page(task_id)
    except Forbidden:
        if not may_coordinate(actor()):
            raise
        return _overview(task_id)


@bp.get("/<task_id>/hoja")
def hoja(task_id: str):
    """The case's hoja de trámite as the page its PDF is made from, framed by the task page."""
    engine = atiende()
    with engine.store.read() as s:
        found = _hoja(s, task_id)
        page = hoja_inline.html(found)
    response = make_response(page)
    response.headers["Content-Security-Policy"] = HOJA_POLICY
    return response


@bp.get("/<task_id>/hoja.pdf")
def hoja_pdf(task_id: str):
    """The case's hoja de trámite as a PDF: the one remitted to the dirección, or the one to approve."""
    engine = atiende()
    with engine.store.read() as s:
        found = _hoja(s, task_id)
    try:
        content = hoja_inline.pdf(engine.store, found, engine.now)  # laid out with no transaction open
    except NotRendered:
        abort(503, HOJA_NOT_READY)
    return download(content, documents.PDF, found.filename)


@bp.post("/<task_id>")
def completar(task_id: str):
    """Complete the task, save a draft, or add/remove a row; errors beside the fields, input kept."""
    engine, me = atiende(), actor()
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
    flash("Tarea reasignada.", "exito")
    return redirect(safe_next(request.form.get("volver")) or url_for("bandeja.index"))


def _assignment(task_id: str, change, message: str):
    try:
        change()
    except AssignmentRefused as refused:
        flash(str(refused), "error")
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


def _shown(session, task_id: str):
    """The task, if the person may open its page: work it now, or coordinate (read only)."""
    try:
        return _workable(session, task_id)
    except Forbidden:
        if not may_coordinate(actor()):
            raise
    return assignment.task_to_reassign(atiende(), session, task_id, actor())


def _hoja(session, task_id: str) -> hoja_inline.Hoja:
    """The hoja of the task's case, when the task's step shows it (its ``muestra`` property); else 404."""
    engine = atiende()
    task = _shown(session, task_id)
    case = task.case
    if not hoja_inline.shows_hoja(engine.procedure(session, case.procedure_version_id).steps.get(task.bpmn_id)):
        abort(404, NO_HOJA)
    return hoja_inline.of_case(session, case, engine.now(), engine.catalog_cache, engine.settings)


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
        procedure = engine.procedure(s, task.case.procedure_version_id)
        step = procedure.steps.get(task.bpmn_id)
        around = expediente.at_task(s, task.case, task_id, me)
        draft = around.draft
        if values is None and draft is not None:
            values = draft.form_values
        elif values is None:  # shown for the first time: what its fields declare they start with (x-desde)
            values = form_defaults.for_task(engine, s, task, me, around.events)
        form = forms_render.build(s, procedure.forms.get(task.form) if task.form else None, values, errors)
        page = {**_material(s, task, step, around), "form": form, "draft": draft, "failure": failure, "workable": True}
    return render_template("tasks/tarea.html", **page)


def _overview(task_id: str):
    """A coordinator's read-only page of a task they may not work: its material, who has it, no form."""
    engine = atiende()
    with engine.store.read() as s:
        task = assignment.task_to_reassign(engine, s, task_id, actor())
        step = engine.procedure(s, task.case.procedure_version_id).steps.get(task.bpmn_id)
        around = expediente.at_task(s, task.case, task_id, actor())
        page = {**_material(s, task, step, around), "form": None, "draft": None, "failure": None, "workable": False}
    return render_template("tasks/tarea.html", **page)


def _material(session, task, step, around: expediente.AtTask) -> dict:
    """What the task page shows besides the form: the case, what to act on, the history, who has it."""
    case = task.case
    events, names = around.events, around.names
    returned = devolucion.to_answer(events, task)
    last = devolucion.latest(events)
    me = actor()
    return {
        "task": task,
        "case": case,
        "summary": record.summary(case, record.Labels(session, record.SUMMARY_CATALOGS)),
        "citizen": around.citizen,
        "returned": returned,
        "returned_by": names.get(returned.actor, returned.actor) if returned else None,
        "returned_comment": devolucion.comment(returned) if returned else "",
        "shows_hoja": hoja_inline.shows_hoja(step),
        "hoja_remitted": last is not None and devolucion.decision(last) == devolucion.APPROVED,
        "history": history.entries(events, names),
        "duplicados": duplicados_de(session, case, around.linked_ids),
        "instructions": step.instructions if step else "",
        "role": ROLES.get(task.lane, task.lane),
        "assignee_name": names.get(task.assignee, task.assignee),
        "mine": task.assignee == me.username,
        "coordinating": may_coordinate(me),
    }


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
