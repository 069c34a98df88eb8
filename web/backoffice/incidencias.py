"""Incidencias: the steps that failed at run time, open, by procedure and element; «Reintentar» and
«Marcar resuelta» (``engine.cases.incidents``).

The blueprint refuses everyone who may not read incidents before any view runs; the engine
refuses a retry or a resolution to anyone but an analyst or a coordinator (the auditor reads).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from engine.access import permissions
from engine.cases import incidents
from engine.errors import IncidentRefused, StepFailed
from web.errors import sentence
from web.ui.context import actor, atiende

bp = Blueprint("incidencias", __name__, url_prefix="/incidencias")

READERS_ONLY = "Solo los analistas de procesos, los coordinadores y los auditores pueden ver las incidencias."


@bp.before_request
def _readers_only():
    if not permissions.may_read_incidents(actor()):
        abort(403, READERS_ONLY)


@bp.get("/")
def index():
    """Every open incident, grouped by procedure and element, with what a retry would do."""
    me = actor()
    with atiende().store.read() as s:
        groups = incidents.open_groups(s)
    return render_template(
        "incidencias/index.html",
        groups=groups,
        kinds=incidents.KIND_NAMES,
        retriable=incidents.RETRIABLE,
        may_handle=permissions.may_handle_incidents(me),
        may_read_cases=permissions.may_read_cases(me),
    )


@bp.post("/<int:incident_id>/reintentar")
def reintentar(incident_id: int):
    """Take the failed step again; resolved if it goes through, one more attempt counted if not."""
    try:
        incidents.retry(atiende(), incident_id, actor())
    except (StepFailed, IncidentRefused) as failed:
        flash(sentence(str(failed)), "error")
    else:
        flash(f"Incidencia {incident_id}: el paso se completó y la incidencia quedó resuelta.", "exito")
    return redirect(url_for("incidencias.index"))


@bp.post("/<int:incident_id>/resolver")
def resolver(incident_id: int):
    """Mark it resolved without taking the step again (a start, a message, or fixed by other means)."""
    try:
        incidents.resolve(atiende(), incident_id, actor())
    except IncidentRefused as refused:
        flash(sentence(str(refused)), "error")
    else:
        flash(f"Incidencia {incident_id} marcada como resuelta.", "exito")
    return redirect(url_for("incidencias.index"))
