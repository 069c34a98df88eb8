"""Capture screens of the channels staff take by hand: the phone, the counter, Defensa del Usuario.

Each is made from its procedure's start form (``engine.intake.capture``). The phone's is a
quick capture: only what the form requires, one line per field so Enter registers, the
first field focused, and an empty form again at once for the next call, the new ticket
on top to read out to the caller. The others show the whole start form.

Who may use a screen is who may start its procedure: the lane of the diagram's start event
(``Atiende.startable``), checked again by the engine when the case starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from engine.errors import FormErrors, StepFailed
from engine.intake import capture
from web.cases import startable
from web.ui import forms_render, submission
from web.ui.context import actor, atiende

bp = Blueprint("captura", __name__, url_prefix="/captura")


@dataclass(frozen=True)
class Screen:
    slug: str
    process_id: str
    title: str
    quick: bool
    done: str  # the flash after registering: {ticket}


SCREENS = {
    s.slug: s
    for s in (
        Screen(
            "llamada",
            "atencion_llamadas",
            "Llamada telefónica",
            True,
            "Ticket {ticket} creado; léaselo al ciudadano. El caso pasa al back office.",
        ),
        Screen(
            "presencial",
            "atencion_directa",
            "Atención directa (presencial)",
            False,
            "Caso registrado con el ticket {ticket}; entrégueselo al ciudadano.",
        ),
        Screen(
            "311",
            "defensa_usuario_311",
            "Defensa del Usuario – 311",
            False,
            "Caso registrado con el ticket {ticket}.",
        ),
    )
}
FORBIDDEN = "Su rol no permite registrar casos por este canal."
LAST_TICKET = "captura_ticket"


@bp.app_template_global("pantallas_de_captura")
def screens_for_me() -> list[Screen]:
    """The capture screens of the procedures the signed-in person may start (also for the menu)."""
    mine = {p.process_id for p in startable()}
    return [screen for screen in SCREENS.values() if screen.process_id in mine]


def _screen(slug: str) -> Screen:
    screen = SCREENS.get(slug)
    if screen is None:
        abort(404)
    if screen not in screens_for_me():
        abort(403, FORBIDDEN)
    return screen


@bp.get("/")
def index():
    """The capture screens the signed-in person may use."""
    available = screens_for_me()
    if not available:
        abort(403, FORBIDDEN)
    return render_template("captura/index.html", screens=available)


@bp.get("/<slug>")
def formulario(slug: str):
    """The capture form, empty."""
    return _page(_screen(slug))


@bp.post("/<slug>")
def registrar(slug: str):
    """Start the procedure; the quick capture comes back empty for the next call."""
    screen = _screen(slug)
    engine, me = atiende(), actor()
    schema = _schema(screen)
    posted = submission.read(request, schema)
    if posted.changes_rows or posted.errors:
        return _page(screen, posted.values, posted.shown()), 422 if posted.errors else 200
    try:
        started = engine.start_case(screen.process_id, posted.values, me, uploads=posted.uploads)
    except FormErrors as invalid:
        return _page(screen, posted.values, posted.shown(invalid.errors)), 422
    except StepFailed as failed:  # no case was created; the capture stays filled in for a new attempt after the fix
        flash(str(failed), "error")
        return _page(screen, posted.values, posted.shown()), 422
    flash(screen.done.format(ticket=started.ticket), "exito")
    if screen.quick:
        session[LAST_TICKET] = started.ticket
        return redirect(url_for("captura.formulario", slug=slug))
    return redirect(url_for("cases.caso", case_id=started.case_id))


def _schema(screen: Screen) -> dict:
    engine = atiende()
    with engine.store.read() as s:
        procedure = engine.latest_procedure(s, screen.process_id)
    start = procedure.forms[cast(str, procedure.start_form)]  # the capture procedures start with a form
    if not screen.quick:
        return start
    return capture.single_line(capture.subset(start, capture.essentials(start)), keep=("descripcion",))


def _page(screen: Screen, values: dict | None = None, errors: dict | None = None):
    schema = _schema(screen)
    with atiende().store.read() as s:
        form = forms_render.build(s, schema, values, errors)
    last = session.pop(LAST_TICKET, None) if values is None else None
    return render_template("captura/formulario.html", screen=screen, form=form, ticket=last)
