"""The citizen's pages, open to anyone: file a Reporte Ciudadano, and look up a case's status.

No sign-in (``@public``), CSRF on every form all the same; abuse is held off by a honeypot
field and by limits kept in the database (``engine.intake.web_report`` and
``engine.intake.public_status`` say which).
"""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from engine.errors import FormErrors, PhotoError, StepFailed, TooManyGuesses, TooManyReports
from engine.intake import photos, public_status, survey, web_report
from web.auth import public
from web.ui import forms_render
from web.ui.context import atiende, external_url

bp = Blueprint("publico", __name__)

HONEYPOT = "sitio_web"  # hidden from people; a bot that fills every field fills this one
LAST_TICKET = "reporte_ticket"
NOT_FOUND = (
    "No encontramos un caso con esos datos. Revise el número de ticket y escriba el correo "
    "electrónico o la cédula con que presentó su caso."
)
MAX_REQUEST = photos.MAX_PHOTOS * photos.MAX_BYTES + 1024 * 1024


def limit_upload() -> None:
    """Bound the Reporte Ciudadano's body before anything reads it (the CSRF check reads the form
    first), so a huge upload is refused (413) instead of being written to a temporary file."""
    if request.endpoint == "publico.enviar_reporte":
        request.max_content_length = MAX_REQUEST


def _client() -> str:
    return request.remote_addr or "desconocido"


@bp.get("/reporte")
@public
def reporte():
    """The empty Reporte Ciudadano form."""
    return _report_page()


@bp.post("/reporte")
@public
def enviar_reporte():
    """File the report; its ticket number is shown on the next page and sent by e-mail."""
    if request.form.get(HONEYPOT):
        abort(400, "No se pudo registrar el reporte.")
    values = forms_render.submitted(request.form)
    for extra in (HONEYPOT, "consentimiento"):
        values.pop(extra, None)
    consent = request.form.get("consentimiento") == forms_render.CHECKED
    try:
        try:
            chosen = photos.check(
                [(f.filename or "", f.read(photos.MAX_BYTES + 1)) for f in request.files.getlist("fotos")]
            )
        except PhotoError as refused:  # said together with whatever else is wrong
            errors = {**web_report.problems(atiende(), values, consent), "fotos": str(refused)}
            return _report_page(values, errors, consent), 422
        started = web_report.submit(atiende(), values, consent, chosen, _client(), external_url("publico.consulta"))
    except FormErrors as invalid:
        return _report_page(values, invalid.errors, consent), 422
    except TooManyReports as limited:
        return _report_page(values, {"_formulario": str(limited)}, consent), 429, {"Retry-After": str(limited.seconds)}
    except StepFailed as failed:  # rolled back, recorded as an incident; the citizen keeps what they typed
        return _report_page(values, {"_formulario": web_report.NOT_FILED.format(failed.incident_id)}, consent), 422
    session[LAST_TICKET] = started.ticket
    return redirect(url_for("publico.reporte_recibido"))


@bp.get("/reporte/recibido")
@public
def reporte_recibido():
    """The ticket number of the report this browser just filed."""
    ticket = session.get(LAST_TICKET)
    if not ticket:
        return redirect(url_for("publico.reporte"))
    return render_template("publico/recibido.html", ticket=ticket)


@bp.route("/consulta", methods=("GET", "POST"))
@public
def consulta():
    """Status and public timeline of a case, for whoever knows its ticket and the citizen's e-mail or cédula."""
    found, error, status, headers, survey_link = None, None, 200, {}, None
    ticket = request.form.get("ticket", "") if request.method == "POST" else request.args.get("ticket", "")
    if request.method == "POST":
        engine = atiende()
        try:
            found = public_status.lookup(
                engine.store, ticket, request.form.get("contacto", ""), _client(), engine.now()
            )
        except TooManyGuesses as limited:
            error, status, headers = str(limited), 429, {"Retry-After": str(limited.seconds)}
        else:
            if found is None:
                error, status = NOT_FOUND, 404
            else:  # the citizen proved who they are: once the case is closed, its survey (one use)
                survey_link = survey.for_consulta(engine, found.ticket)
    page = render_template("publico/consulta.html", found=found, error=error, ticket=ticket, encuesta=survey_link)
    return page, status, headers


def _report_page(values: dict | None = None, errors: dict | None = None, consent: bool = False):
    errors = errors or {}
    own = {name: errors.get(name) for name in ("consentimiento", "fotos")}
    engine = atiende()
    with engine.store.read() as s:
        procedure = engine.latest_procedure(s, web_report.PROCESS)
        form = forms_render.build(
            s,
            web_report.schema(procedure.forms[cast(str, procedure.start_form)]),  # it has one
            values,
            {k: v for k, v in errors.items() if k not in own},
        )
    return render_template(
        "publico/reporte.html",
        form=form,
        consent=consent,
        consent_text=web_report.CONSENT_TEXT,
        consent_error=own["consentimiento"],
        photos_error=own["fotos"],
        max_photos=photos.MAX_PHOTOS,
        max_mb=photos.MAX_BYTES // (1024 * 1024),
        accept=photos.ACCEPT,
        photo_formats=photos.NAMES,
        honeypot=HONEYPOT,
    )
