"""The citizen's survey, behind the one-use link of the final answer's e-mail or of /consulta.

No sign-in (``@public``): the link is the capability; CSRF on the form all the same, and a limit
per address (``engine.intake.survey``). A link already used, expired or unknown gets a page that
says so, in Spanish; it never shows anything of the case.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.errors import FormErrors, RateLimited
from engine.intake import survey
from web.auth import public
from web.ui.context import atiende

bp = Blueprint("encuesta", __name__)

STATUS = {survey.ANSWERED: 409, survey.EXPIRED: 410, survey.UNKNOWN: 404}


def _client() -> str:
    return request.remote_addr or "desconocido"


@bp.get("/encuesta/<token>")
@public
def encuesta(token: str):
    """The form, or a page saying why the link does not open it."""
    state = survey.state(atiende(), token)
    if state != survey.OPEN:
        return _closed(state)
    return _form(token)


@bp.post("/encuesta/<token>")
@public
def responder(token: str):
    """Keep the answers; the same page says thanks, or what is missing beside each field."""
    values = {name: request.form.get(name, "") for name in ("satisfaccion", "a_tiempo", "comentario")}
    try:
        state = survey.answer(atiende(), token, values, _client())
    except FormErrors as invalid:
        return _form(token, values, invalid.errors, 422)
    except RateLimited as limited:
        return _form(token, values, {"_formulario": str(limited)}, 429, {"Retry-After": str(limited.seconds)})
    if state != survey.OPEN:
        return _closed(state)
    return render_template("encuesta/estado.html", state="gracias")


def _form(token: str, values: dict | None = None, errors: dict | None = None, status: int = 200, headers=None):
    page = render_template(
        "encuesta/encuesta.html",
        token=token,
        values=values or {},
        errors=errors or {},
        escala=survey.SATISFACTION,
        max_comment=survey.MAX_COMMENT,
    )
    return page, status, headers or {}


def _closed(state: str):
    return render_template("encuesta/estado.html", state=state), STATUS[state]


@bp.after_request
def _no_referrer(response):
    """The token is in the address: no link followed from these pages may carry it away in a Referer."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
