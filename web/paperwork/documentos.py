"""Paperwork pages: the outbox, the archive of hojas, the consolidado, approving many, the paper acuse.

Who may do what (each route checks it):
- Outbox (every message and its state): operador, coordinador, auditor (read only), unless
  limited to a dirección (``engine.access.permissions.direccion_scope``: the outbox holds every
  dirección's mail). Sending an uncertain or failed message again: coordinador.
- Archive of hojas and consolidado downloads: operador, coordinador, auditor; an enlace (whatever
  other role they hold, unless one that sees every dirección) only their own dirección's.
- Approving hojas from a list: coordinador. Recording a signed paper acuse: operador.
"""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from engine.access.permissions import direccion_scope
from engine.cases import queries
from engine.clock import PANAMA
from engine.errors import FormErrors, MailError, NotFound, NotRendered
from engine.forms import catalogs
from engine.mail import outbox as mail
from engine.paperwork import acuse, aprobacion, archivo, consolidado, documents, rendering
from web.auth import role_required
from web.ui import filters, forms_render, record
from web.ui.context import actor, atiende, download

bp = Blueprint("documentos", __name__, url_prefix="/documentos")

OUTBOX_READERS = frozenset({"operador", "coordinador", "auditor"})
RESENDERS = frozenset({"coordinador"})
PAPER_READERS = OUTBOX_READERS | {"enlace"}
APPROVERS = frozenset({"coordinador"})
ONLY_STAFF = "Solo operadores, coordinadores y auditores ven la bandeja de salida."
ONLY_UNLIMITED = "Su acceso está limitado a su dirección; la bandeja de salida reúne el correo de todas."
ONLY_PAPER = "No tiene permiso para ver los documentos."
ONLY_COORDINATORS = "Solo un coordinador puede hacer esto."
ONLY_OPERATORS = "Solo un operador registra el acuse firmado en papel."
NOT_READY = "El documento todavía se está preparando. Intente de nuevo en unos minutos."


def _direccion_for(requested: str | None) -> str | None:
    """The dirección a page shows: someone limited to one always sees their own, whatever was asked."""
    scope = direccion_scope(actor())
    if scope is None:
        return requested or None
    if not scope:
        abort(403, ONLY_PAPER)
    return scope


def _whole_office_only() -> None:
    """The outbox shows every dirección's mail: not for someone limited to one."""
    if direccion_scope(actor()) is not None:
        abort(403, ONLY_UNLIMITED)


def _month(value: str | None) -> tuple[int, int]:
    if value:
        found = filters.month(value)
        if found is None:
            abort(400, filters.MONTH_ERROR)
        return found
    today = atiende().now().astimezone(PANAMA)
    return today.year, today.month


# -- outbox -------------------------------------------------------------------------------------
@bp.get("/correo")
@role_required(OUTBOX_READERS, ONLY_STAFF)
def correo():
    """Every message written to the outbox, newest first, with its state."""
    _whole_office_only()
    state = request.args.get("estado") or None
    if state is not None and state not in mail.STATES:
        abort(400, "Estado desconocido.")
    with atiende().store.read() as s:
        messages = mail.listing(s, state)
        tickets = _tickets(s, {m.case_id for m in messages})
    return render_template(
        "documentos/correo.html",
        messages=messages,
        tickets=tickets,
        states=mail.STATES,
        state=state,
        smtp=atiende().settings.smtp.configured,
    )


@bp.get("/correo/<int:outbox_id>")
@role_required(OUTBOX_READERS, ONLY_STAFF)
def mensaje(outbox_id: int):
    """One message as it goes out: headers, text, attachments, state and last error."""
    _whole_office_only()
    with atiende().store.read() as s:
        message = queries.outbox_message(s, outbox_id)
        if message is None:
            abort(404, "El mensaje no existe.")
        files = [(a.document.id, a.document.filename, a.document.size) for a in message.attachments]
        ticket = _tickets(s, {message.case_id}).get(message.case_id)
    may_resend = bool(actor().roles & RESENDERS) and message.state in ("incierto", "fallido") and message.recipients
    return render_template(
        "documentos/mensaje.html",
        message=message,
        files=files,
        ticket=ticket,
        states=mail.STATES,
        may_resend=may_resend,
    )


@bp.post("/correo/<int:outbox_id>/reenviar")
@role_required(RESENDERS, ONLY_COORDINATORS)
def reenviar(outbox_id: int):
    """Queue an uncertain or failed message again (the same Message-ID)."""
    engine = atiende()
    try:
        mail.resend(engine.store, outbox_id, actor().username, engine.now())
    except LookupError:
        abort(404, "El mensaje no existe.")
    except MailError as refused:
        flash(str(refused).capitalize() + ".", "error")
    else:
        flash("El mensaje volverá a enviarse.", "exito")
    return redirect(url_for("documentos.mensaje", outbox_id=outbox_id))


def _tickets(session, case_ids) -> dict[int | None, str]:
    return {case_id: case.ticket for case_id, case in queries.cases_by_id(session, case_ids - {None}).items()}


# -- documents, archive, consolidado ------------------------------------------------------------
@bp.get("/<int:document_id>")
@role_required(PAPER_READERS, ONLY_PAPER)
def documento(document_id: int):
    """Download one stored document (an enlace: of their own dirección only), rendering it first if need be."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        document = queries.document(s, document_id)
        if document is None:
            abort(404, "El documento no existe.")
        if document.case_id is not None and document.kind == archivo.HOJA:
            engine.case_for(s, document.case_id, me)
        elif _direccion_for(document.direccion) != document.direccion:
            abort(403, ONLY_PAPER)
    try:
        [content] = rendering.contents(engine.store, [document_id], engine.now)
    except NotRendered:
        abort(503, NOT_READY)
    return download(content, document.content_type, document.filename)


@bp.get("/archivo")
@role_required(PAPER_READERS, ONLY_PAPER)
def archivo_mes():
    """The hojas remitted to a dirección in a month, in chronological order."""
    direccion = _direccion_for(request.args.get("direccion"))
    year, month = _month(request.args.get("mes"))
    with atiende().store.read() as s:
        direcciones = catalogs.entries(s, "direcciones")
        entries = archivo.hojas(s, direccion, year, month) if direccion else []
        label = record.Labels(s)("direcciones", direccion)
    return render_template(
        "documentos/archivo.html",
        direcciones=direcciones,
        direccion=direccion,
        label=label,
        mes=f"{year:04d}-{month:02d}",
        entries=entries,
        only_own=direccion_scope(actor()) is not None,
    )


@bp.get("/archivo/<direccion>/<mes>.pdf")
@role_required(PAPER_READERS, ONLY_PAPER)
def archivo_pdf(direccion: str, mes: str):
    """A month's hojas of one dirección as one PDF."""
    if _direccion_for(direccion) != direccion:
        abort(403, ONLY_PAPER)
    year, month = _month(mes)
    engine = atiende()
    try:
        content = archivo.month_pdf(engine.store, direccion, year, month, engine.now)
    except NotRendered:
        abort(503, NOT_READY)
    if content is None:
        abort(404, "No hay hojas de trámite de esa dirección en ese mes.")
    return download(content, documents.PDF, f"hojas_de_tramite_{direccion}_{year:04d}-{month:02d}.pdf")


@bp.get("/consolidado")
@role_required(PAPER_READERS, ONLY_PAPER)
def consolidado_pagina():
    """The consolidado de seguimiento of a dirección, as of now, with its downloads."""
    direccion = _direccion_for(request.args.get("direccion"))
    engine = atiende()
    with engine.store.read() as s:
        direcciones = catalogs.entries(s, "direcciones")
        built = consolidado.build(s, direccion, engine.now()) if direccion else None
    return render_template(
        "documentos/consolidado.html",
        direcciones=direcciones,
        direccion=direccion,
        consolidado=built,
        only_own=direccion_scope(actor()) is not None,
    )


@bp.get("/consolidado/<direccion>.<formato>")
@role_required(PAPER_READERS, ONLY_PAPER)
def consolidado_archivo(direccion: str, formato: str):
    """The consolidado of a dirección as XLSX or PDF, built now."""
    if formato not in ("xlsx", "pdf"):
        abort(404)
    if _direccion_for(direccion) != direccion:
        abort(403, ONLY_PAPER)
    engine = atiende()
    with engine.store.read() as s:
        built = consolidado.build(s, direccion, engine.now())
    day = documents.fecha(engine.now()).replace("/", "-")
    if formato == "xlsx":
        return download(documents.consolidado_xlsx(built), documents.XLSX, f"consolidado_{direccion}_{day}.xlsx")
    return download(documents.consolidado_pdf(built), documents.PDF, f"consolidado_{direccion}_{day}.pdf")


@bp.app_template_global("documentos_del_caso")
def documentos_del_caso(documents: list) -> list:
    """For the case page: the documents made for the case (read with its file), when the reader may
    download them."""
    return documents if actor().roles & PAPER_READERS else []


# -- approving many -----------------------------------------------------------------------------
@bp.get("/aprobaciones")
@role_required(APPROVERS, ONLY_COORDINATORS)
def aprobaciones():
    """Hojas awaiting approval, to approve several at once."""
    return _approvals_page()


@bp.post("/aprobaciones")
@role_required(APPROVERS, ONLY_COORDINATORS)
def aprobar_varias():
    """Approve the chosen hojas, each in its own transaction; report each outcome."""
    chosen = request.form.getlist("tarea")
    if not chosen:
        return _approvals_page(error="Marque al menos una hoja de trámite para aprobar."), 422
    outcomes = aprobacion.approve_many(atiende(), chosen, actor(), request.form.get("comentario", "")[:2000])
    approved = sum(o.approved for o in outcomes)
    if approved:
        flash(f"{approved} {'hoja aprobada y remitida' if approved == 1 else 'hojas aprobadas y remitidas'}.", "exito")
    return _approvals_page(outcomes=[o for o in outcomes if not o.approved])


def _approvals_page(outcomes=(), error: str | None = None):
    with atiende().store.read() as s:
        rows = aprobacion.pending(s, actor())
        labels = record.Labels(s)
        shown = [(row, labels("tipos_caso", row.case_type), labels("direcciones", row.direccion)) for row in rows]
    return render_template("documentos/aprobaciones.html", rows=shown, failures=outcomes, error=error)


@bp.route("/acuse-en-papel/<int:case_id>", methods=("GET", "POST"))
@role_required("operador", ONLY_OPERATORS)
def acuse_en_papel(case_id: int):
    """The operator records the acuse signed on the printed hoja, with its scan."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        case = engine.case_for(s, case_id, me)
        task = acuse.pending_task(s, case_id)
        if task is None:
            abort(404, "El caso no tiene un acuse de recibo pendiente.")
        schema = engine.procedure(s, case.procedure_version_id).forms[cast(str, task.form)]  # acuse.ACUSE_FORM
    values, errors = None, {}
    if request.method == "POST":
        values = forms_render.submitted(request.form, schema)
        upload = request.files.get(acuse.SCAN_FIELD)
        scan = (upload.filename, upload.read()) if upload is not None and upload.filename else None
        try:
            ticket = acuse.record_paper(engine, case_id, values, scan, me)
        except FormErrors as invalid:
            errors = invalid.errors
        except NotFound:
            abort(404, "El caso ya no tiene un acuse de recibo pendiente.")
        else:
            flash(f"Acuse de recibo en papel registrado (caso {ticket}).", "exito")
            return redirect(url_for("cases.caso", case_id=case_id))
    with engine.store.read() as s:
        form = forms_render.build(s, schema, values, {k: v for k, v in errors.items() if k != acuse.SCAN_FIELD})
    return render_template(
        "documentos/acuse_papel.html", case=case, form=form, scan_error=errors.get(acuse.SCAN_FIELD)
    ), (422 if errors else 200)
