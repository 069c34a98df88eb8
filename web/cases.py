"""Cases: register a new one from a procedure's start form; the case page, one view of the case for
staff (status and deadline, the conversation with the citizen and the internal notes, documents,
open tasks, the current task's form inline when it is the reader's, the record, the timeline); the
preview of the e-mail a task will send the citizen; and the download of a case's attachments.

The inline form is the task page's (``web.ui.forms_render``, the same defaults and draft) and posts
to the task's own route (``tasks.completar``), which completes it and goes on to the next task.

Who may start which procedure is the engine's rule (``Atiende.startable``, ``Atiende.check_start``:
the lane of the procedure's start event). Who may read a case is the engine's too
(``Atiende.case_for``: an enlace only their dirección's) behind a role check
(``engine.access.permissions.CASE_READERS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from engine.access.permissions import CASE_READERS, may_read_incidents, may_work_now, may_write_notes
from engine.access.roles import ROLES
from engine.cases import attachments, conversation, expediente, notes
from engine.clock import PANAMA
from engine.errors import Forbidden, FormErrors, StepFailed, TaskAlreadyDone
from engine.forms import defaults as form_defaults
from engine.procedures.versions import Procedure
from web.auth import role_required
from web.channels.duplicados import duplicados_de
from web.ui import forms_render, history, record, submission
from web.ui.context import actor, atiende, download

bp = Blueprint("cases", __name__, url_prefix="/casos")

PROCESS_ID = "atencion_correo_web"  # the procedure the new-case page starts unless ?procedimiento= says
NO_PROCEDURE = "Su rol no inicia ningún procedimiento a mano."
ONLY_READERS = "Su rol no permite consultar casos."


@dataclass(frozen=True)
class OpenTask:
    task_id: str
    name: str
    role: str
    due_at: datetime | None
    assignee: str | None
    mine: bool  # the signed-in person may work it, so the page links to it


@dataclass(frozen=True)
class Deadline:
    """Days left to the legal deadline, as the case page words it."""

    text: str
    level: str  # vencido, pronto, a_tiempo, cerrado


def deadline(due_at: datetime | None, closed: bool, now: datetime) -> Deadline | None:
    """«Quedan 12 días», «Vence hoy», «Vencido hace 3 días», counted in Panamá calendar days."""
    if due_at is None:
        return None
    if closed:
        return Deadline("Caso cerrado", "cerrado")
    days = (due_at.astimezone(PANAMA).date() - now.astimezone(PANAMA).date()).days
    if days < 0:
        return Deadline(f"Vencido hace {-days} día{'s' if days < -1 else ''}", "vencido")
    if days == 0:
        return Deadline("Vence hoy", "pronto")
    return Deadline(
        f"Queda{'n' if days > 1 else ''} {days} día{'s' if days > 1 else ''}", "pronto" if days <= 5 else "a_tiempo"
    )


@bp.get("/nuevo")
def nuevo():
    """The start form of the procedure, empty, beside the others the person may start."""
    return _new_case_page()


@bp.post("/nuevo")
def crear():
    """Register the case (the engine issues the ticket number), or add/remove a row of the form."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        procedure, _startable = _chosen(s)
    posted = submission.read(request, forms_render.start_schema(procedure))
    if posted.changes_rows or posted.errors:
        return _new_case_page(posted.values, posted.shown()), (422 if posted.errors else 200)
    try:
        started = engine.start_case(procedure.process_id, posted.values, me, uploads=posted.uploads)
    except FormErrors as invalid:
        return _new_case_page(posted.values, posted.shown(invalid.errors)), 422
    except StepFailed as failed:  # no case was created; the form stays filled in for a new attempt after the fix
        return _new_case_page(posted.values, posted.shown(), failure=str(failed)), 422
    flash(f"Caso registrado con el ticket {started.ticket}.", "exito")
    return redirect(url_for("cases.caso", case_id=started.case_id))


@bp.get("/<int:case_id>")
@role_required(CASE_READERS, ONLY_READERS)
def caso(case_id: int):
    """The case: summary, deadline, record, open tasks, documents, timeline and internal notes."""
    return _case_page(case_id)


@bp.post("/<int:case_id>/notas")
@role_required(CASE_READERS, ONLY_READERS)
def nota(case_id: int):
    """Add an internal note (never shown to the citizen)."""
    try:
        notes.add(atiende(), case_id, request.form.get("texto", ""), actor())
    except FormErrors as invalid:
        return _case_page(case_id, request.form.get("texto", ""), invalid.errors.get(notes.FIELD)), 422
    flash("Nota interna agregada.", "exito")
    return redirect(url_for("cases.caso", case_id=case_id) + "#notas")


@bp.post("/tareas/<task_id>/vista-previa")
def vista_previa(task_id: str):
    """The e-mail completing the task will send the citizen, with the text typed so far: JSON for the
    page's script (``Accept: application/json``), else the case page with the form kept and the preview."""
    engine, me = atiende(), actor()
    wants_json = request.accept_mimetypes.best == "application/json"
    values = submission.read(request, None).values
    try:
        with engine.store.read() as s:
            task = engine.task_for(s, task_id, me)  # Forbidden unless it is this person's to do
            if not may_work_now(me, task):
                raise Forbidden("la tarea está asignada a otra persona")
            shown = conversation.preview(engine, s, task, values)
            case_id = task.case_id
    except TaskAlreadyDone as done:
        if wants_json:
            return jsonify(aviso=str(done)), 409
        raise  # the page that says so (web.errors)
    if wants_json:
        shown = shown or conversation.Preview(notice="Esta tarea no envía correo al ciudadano.")
        return jsonify(para=shown.to, asunto=shown.subject, cuerpo=shown.body, aviso=shown.notice)
    return _case_page(case_id, form_values=values, task_id=task_id)


@bp.get("/adjuntos/<attachment_id>")
def adjunto(attachment_id: str):
    """A file: for whoever may read its case, or (not yet part of a case) for its uploader only."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        found = attachments.get(s, attachment_id)
        if found is None:
            abort(404, "El archivo no existe.")
        if found.case_id is not None:
            if not me.roles & CASE_READERS:
                abort(403, ONLY_READERS)
            engine.case_for(s, found.case_id, me)
        elif found.uploaded_by != me.username:
            abort(404, "El archivo no existe.")
        data = attachments.content(s, found)
    if data is None:  # its bytes were purged after the attachment was read
        abort(404, "El archivo ya no está disponible.")
    return download(data, found.content_type, found.filename)


def _case_page(
    case_id: int,
    note_text: str = "",
    note_error: str | None = None,
    form_values: dict | None = None,
    task_id: str | None = None,
):
    """The inline form is of the reader's first task, or of ``task_id`` (the one previewed), with
    ``form_values`` (what was typed, kept when the page comes back with its preview)."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        found = expediente.read(engine, s, case_id, me)
        case, open_tasks, events, talk = found.case, found.open_tasks, found.events, found.conversation
        procedure = engine.procedure(s, case.procedure_version_id)
        labels = record.Labels(s, record.SUMMARY_CATALOGS)
        names = found.names
        mine = [t for t in open_tasks if may_work_now(me, t)]
        current = next((t for t in mine if t.id == task_id), mine[0] if mine else None)
        page = {
            "case": case,
            "procedure": procedure,
            "summary": record.summary(case, labels),
            "deadline": deadline(case.due_at, case.status == "cerrado", engine.now()),
            "record": record.record(procedure, case.data, labels, {f.id: f.filename for f in found.files}),
            "tasks": [
                OpenTask(
                    t.id,
                    t.name,
                    ROLES.get(t.lane, t.lane),
                    t.due_at,
                    names.get(t.assignee, t.assignee),
                    may_work_now(me, t),
                )
                for t in open_tasks
            ],
            "files": found.files,
            "duplicados": duplicados_de(s, case, found.linked_ids),
            "documents": found.documents,
            "history": history.entries(events, names),
            "conversation": [(e, names.get(e.who, e.who) if e.direction == conversation.NOTE else e.who) for e in talk],
            "inline": _current_form(s, found, current, procedure, task_id, form_values),
            "may_write_notes": may_write_notes(me),
            "note_text": note_text,
            "note_error": note_error,
            "incident": found.incident,
            "may_read_incidents": may_read_incidents(me),
        }
    return render_template("cases/caso.html", **page)


def _current_form(
    session, found: expediente.Expediente, current, procedure, task_id: str | None, form_values: dict | None
) -> InlineTask | None:
    """The form of the reader's current task (``current``, one of the file's open tasks), as the file
    read it; ``form_values`` are kept only for ``task_id``, the task previewed."""
    if current is None:
        return None
    task = expediente.task_in_file(found, current)
    values = form_values if current.id == task_id else None
    return _inline(session, task, procedure, values, found.drafts.get(current.id), found.events)


@dataclass(frozen=True)
class InlineTask:
    """The reader's current task of the case, to work from the case page."""

    task: Any  # the HumanTask
    instructions: str
    form: forms_render.Form
    preview: conversation.Preview | None  # the e-mail it will send the citizen, if one follows it


def _inline(session, task, procedure, form_values: dict | None, draft: Any | None, events: list) -> InlineTask:
    """The task's form as its own page shows it (the person's ``draft``, else the declared defaults,
    some of them from the case's audit ``events``)."""
    engine, me = atiende(), actor()
    values = form_values
    if values is None:
        values = draft.form_values if draft is not None else form_defaults.for_task(engine, session, task, me, events)
    schema = procedure.forms.get(task.form) if task.form else None
    step = procedure.steps.get(task.bpmn_id)
    return InlineTask(
        task,
        step.instructions if step else "",
        forms_render.build(session, schema, values),
        conversation.preview(engine, session, task, values),
    )


def startable() -> list[Procedure]:
    """The procedures the signed-in person may start by hand (``Atiende.startable``): the menu of every
    page, the bandeja and the capture screens ask. Kept with the person (``web.auth.Person``), whom
    any access change or deploy has read again by the next request."""
    kept = current_user.kept
    if "startable" not in kept:
        engine = atiende()
        with engine.store.read() as s:
            kept["startable"] = engine.startable(s, actor())
    return kept["startable"]


def _chosen(session) -> tuple[Procedure, list[Procedure]]:
    """The procedure ``?procedimiento=`` names (else the e-mail/web one, else the first the person may
    start) and every one they may start; 403 with the engine's reason for one they may not."""
    engine, me = atiende(), actor()
    if not startable():
        abort(403, NO_PROCEDURE)
    requested = request.args.get("procedimiento")
    chosen = next((p for p in startable() if p.process_id == (requested or PROCESS_ID)), None)
    if chosen is not None:  # already known to be the person's to start: no second look
        return chosen, startable()
    if not requested:
        return startable()[0], startable()
    procedure = engine.latest_procedure(session, requested)  # none by that name: 404
    engine.check_start(session, me, procedure)  # not theirs: 403 with the engine's reason
    return procedure, startable()


@bp.app_template_global("inicia_casos")
def inicia_casos() -> bool:
    """For the menu and the bandeja: whether the signed-in person may start any procedure by hand."""
    return bool(startable())


def _new_case_page(values: dict | None = None, errors: dict | None = None, failure: str | None = None):
    with atiende().store.read() as s:
        procedure, choices = _chosen(s)
        form = forms_render.build(s, forms_render.start_schema(procedure), values, errors)
    return render_template("cases/nuevo.html", form=form, procedure=procedure, startable=choices, failure=failure)
