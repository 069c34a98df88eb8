"""A task page: the step's instructions, the case summary, and its form; completing it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.forms import FormErrors
from engine.services import TaskAlreadyDone
from web import forms_render, record
from web.context import actor, atiende

bp = Blueprint("tasks", __name__, url_prefix="/tareas")


@bp.get("/<task_id>")
def tarea(task_id: str):
    """Show the task with its empty (default-filled) form."""
    try:
        return _page(task_id)
    except TaskAlreadyDone as done:
        return _already_done(done)


@bp.post("/<task_id>")
def completar(task_id: str):
    """Complete the task; on form errors show them beside the fields, keeping what was typed."""
    values = forms_render.submitted(request.form)
    try:
        result = atiende().complete_task(task_id, values, actor())
    except FormErrors as invalid:
        return _page(task_id, values, invalid.errors), 422
    except TaskAlreadyDone as done:
        return _already_done(done)
    flash(f"Tarea completada (caso {result.ticket}).", "exito")
    if result.next_task_id:
        return redirect(url_for("tasks.tarea", task_id=result.next_task_id))
    return redirect(url_for("bandeja.index"))


def _page(task_id: str, values: dict | None = None, errors: dict | None = None):
    engine = atiende()
    with engine.store.read() as s:
        task = engine.task_for(s, task_id, actor())
        case = task.case
        procedure = engine.procedure(s, case.procedure_version_id)
        step = procedure.steps.get(task.bpmn_id)
        form = forms_render.build(s, procedure.forms.get(task.form) if task.form else None, values, errors)
        summary = record.summary(case, record.Labels(s))
    return render_template("tasks/tarea.html", task=task, case=case, form=form, summary=summary,
                           instructions=step.instructions if step else "")


def _already_done(done: TaskAlreadyDone):
    return render_template("tasks/ya_completada.html", message=str(done)), 409
