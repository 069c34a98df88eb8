"""The operator's inbox of the institutional mailbox: make each message a case, or discard it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from engine.cases import attachments
from engine.errors import FormErrors, IntakeError
from engine.intake import items
from web.auth import role_required
from web.ui import forms_render, submission
from web.ui.context import actor, atiende, download, external_url

bp = Blueprint("entrada", __name__, url_prefix="/entrada")

ONLY_OPERATORS = "Solo los operadores atienden el buzón institucional."


@bp.get("/")
@role_required("operador", ONLY_OPERATORS)
def index():
    """The messages waiting for an operator, oldest first."""
    with atiende().store.read() as s:
        pending = items.pending(s)
    return render_template("entrada/index.html", items=pending)


@bp.get("/<int:item_id>")
@role_required("operador", ONLY_OPERATORS)
def mensaje(item_id: int):
    """One message beside the start form of the e-mail procedure, prefilled from it."""
    return _page(item_id)


@bp.post("/<int:item_id>")
@role_required("operador", ONLY_OPERATORS)
def registrar(item_id: int):
    """Register the case; the citizen gets the ticket number by e-mail."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        procedure = engine.latest_procedure(s, items.MAIL_PROCESS)
        schema = forms_render.start_schema(procedure)
    sent = submission.read(request, schema)
    if sent.errors or sent.action != submission.COMPLETE:
        return _page(item_id, sent.values, sent.shown()), 422 if sent.errors else 200
    try:
        started = items.convert(engine, item_id, sent.values, me, external_url("publico.consulta"), sent.uploads)
    except FormErrors as invalid:
        return _page(item_id, sent.values, sent.shown(invalid.errors)), 422
    except IntakeError as refused:
        flash(str(refused), "error")
        return redirect(url_for("entrada.mensaje", item_id=item_id))
    flash(f"Caso registrado con el ticket {started.ticket}; se le envió el número al ciudadano.", "exito")
    return redirect(url_for("cases.caso", case_id=started.case_id))


@bp.post("/<int:item_id>/descartar")
@role_required("operador", ONLY_OPERATORS)
def descartar(item_id: int):
    """Set the message aside with a reason (spam, not for this office, ...)."""
    engine = atiende()
    try:
        items.discard(engine.store, item_id, request.form.get("motivo", ""), actor(), engine.now())
    except IntakeError as refused:
        flash(str(refused), "error")
        return redirect(url_for("entrada.mensaje", item_id=item_id))
    flash("Mensaje descartado.", "exito")
    return redirect(url_for("entrada.index"))


@bp.get("/<int:item_id>/adjuntos/<attachment_id>")
@role_required("operador", ONLY_OPERATORS)
def adjunto(item_id: int, attachment_id: str):
    """A file that came with the message (only the message's own files)."""
    with atiende().store.read() as s:
        item = items.get(s, item_id)
        if item is None or attachment_id not in {a.get("id") for a in item.attachments}:
            abort(404)
        found = attachments.get(s, attachment_id)
        if found is None:
            abort(404, "El archivo ya no está disponible.")
        data = attachments.content(s, found)
    if data is None:  # its bytes were purged after the attachment was read
        abort(404, "El archivo ya no está disponible.")
    return download(data, found.content_type, found.filename)


def _page(item_id: int, values: dict | None = None, errors: dict | None = None):
    engine = atiende()
    with engine.store.read() as s:
        item = items.get(s, item_id)
        if item is None:
            abort(404, "El mensaje no existe.")
        procedure = engine.latest_procedure(s, items.MAIL_PROCESS)
        prefilled = items.start_form_values(item) if values is None else values
        form = forms_render.build(s, forms_render.start_schema(procedure), prefilled, errors)
    return render_template("entrada/mensaje.html", item=item, form=form, procedure=procedure)
