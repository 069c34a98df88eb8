"""What citizens wrote in the survey, for the coordination: a list per month, dirección and case type.

Only coordinators read it (an enlace sees the figures of its dirección on «Indicadores», not the texts).
The list holds the month, the dirección, the case type, the satisfaction and the text: nothing of the
case, and no link to one (``engine.indicators.surveys.comments``).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from engine.access import permissions
from engine.clock import PANAMA
from engine.errors import FormErrors
from engine.indicators import surveys
from engine.indicators.figures import Filters
from engine.intake.survey import SATISFACTION
from web.ui.context import actor, atiende

bp = Blueprint("encuestas", __name__, url_prefix="/encuestas")


@bp.before_request
def _coordinators_only():
    if not permissions.may_read_survey_comments(actor()):
        abort(403, "Solo la coordinación lee los comentarios de la encuesta.")


@bp.get("/comentarios")
def comentarios():
    """The comments of a period (``desde``, ``hasta`` as dd/mm/aaaa; the last 12 months by default)."""
    engine = atiende()
    today = engine.now().astimezone(PANAMA).date()
    values = {name: request.args.get(name, "") for name in ("desde", "hasta")}
    with engine.store.read() as s:
        labels = engine.catalog_cache.labels(s, ("direcciones", "tipos_caso"))
        try:
            f = Filters.parse({**values, "direccion": request.args.get("direccion", "")}, today)
        except FormErrors as invalid:
            page = render_template("encuestas/comentarios.html", comments=[], errors=invalid.errors, values=values)
            return page, 400
        found = surveys.comments(s, f, None)
    return render_template(
        "encuestas/comentarios.html",
        comments=found,
        errors={},
        values=values,
        period=f,
        labels=labels,
        escala=SATISFACTION,
    )
