"""The heatmap on a procedure's diagram: per step, the cases waiting there now and the
median and 90th percentile of the time tasks spent there (``engine.indicators.steps``).

The page draws the newest version's diagram in the bpmn-js viewer and lays the figures over it
(web/static/mapa-calor.js, from the JSON of ``cifras``); the same figures are a table beside it,
and the slowest steps are named in words as well as in colour. Coordinators, auditors and the
administrator watch the office's figures; the analyst, who changes the procedures, sees where
cases wait. An enlace does not: a step's times are the whole office's (``permissions.may_read_step_times``).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for

from engine.access import permissions
from engine.errors import NotFound
from engine.indicators import steps
from web.ui.context import actor, atiende
from web.ui.filters import days_of, fecha
from web.vendor import bpmn_js_installed

bp = Blueprint("mapa", __name__, url_prefix="/indicadores/mapa")

READERS_ONLY = "Solo coordinación, auditoría, administración y los analistas de procesos ven el mapa de tiempos."
NO_PROCEDURE = "El procedimiento no existe."
HEAT_NAMES = {3: "Más lento", 2: "Intermedio", 1: "Más rápido", 0: "Sin tareas completadas"}


@bp.before_request
def _readers_only():
    if not permissions.may_read_step_times(actor()):
        abort(403, READERS_ONLY)


def _period() -> tuple[dict[str, date], dict[str, str]]:
    """The optional «desde»/«hasta» days of the query (dd/mm/aaaa), and a Spanish error per bad one."""
    days, errors = days_of(request.args)
    if not errors and "desde" in days and "hasta" in days and days["desde"] > days["hasta"]:
        errors["hasta"] = "«Hasta» no puede ser anterior a «Desde»."
    return days, errors


def _figures(process_id: str, period: dict[str, date]) -> tuple[steps.Diagram, list[steps.StepFigures]] | None:
    """The newest diagram of the procedure and its figures; None when no version of it is deployed."""
    engine = atiende()
    with engine.store.read() as s:
        try:
            procedure = engine.latest_procedure(s, process_id)
        except NotFound:
            return None
        drawn = steps.diagram(s, process_id, {b: step.name for b, step in procedure.steps.items()})
        if drawn is None:
            return None
        return drawn, steps.figures(s, process_id, drawn.elements, **period)


@bp.get("/")
def lista():
    """The procedures whose maps there are."""
    with atiende().store.read() as s:
        found = steps.procedures(s)
    return render_template("mapa/lista.html", procedures=found)


@bp.get("/<process_id>")
def mapa(process_id: str):
    """The diagram with its figures, a legend, and the same figures as a table."""
    period, errors = _period()
    found = _figures(process_id, {} if errors else period)
    if found is None:
        abort(404, NO_PROCEDURE)
    drawn, rows = found
    return render_template(
        "mapa/mapa.html",
        diagram=drawn,
        rows=rows,
        slowest=[r for r in rows if r.heat == steps.HEAT_LEVELS],
        heat_names=HEAT_NAMES,
        args=request.args,
        errors=errors,
        viewer=bpmn_js_installed(),
        xml_url=url_for(".diagrama", process_id=process_id),
        figures_url=url_for(".cifras", process_id=process_id) + _query(period),
    ), (422 if errors else 200)


@bp.get("/<process_id>/diagrama.bpmn")
def diagrama(process_id: str):
    """The newest version's diagram file, for the viewer (the map's readers may not open /procedimientos)."""
    engine = atiende()
    with engine.store.read() as s:
        drawn = steps.diagram(s, process_id, {})
    if drawn is None:
        abort(404, NO_PROCEDURE)
    return Response(drawn.xml, mimetype="application/xml")


@bp.get("/<process_id>/cifras.json")
def cifras(process_id: str):
    """The figures per step as JSON, for the overlay on the diagram."""
    period, errors = _period()
    if errors:
        return jsonify({"errores": errors}), 422
    found = _figures(process_id, period)
    if found is None:
        return jsonify({"error": NO_PROCEDURE}), 404
    drawn, rows = found
    return jsonify(
        {
            "procedimiento": drawn.process_id,
            "version": drawn.version,
            "desde": fecha(period["desde"]) if "desde" in period else None,
            "hasta": fecha(period["hasta"]) if "hasta" in period else None,
            "pasos": [
                {
                    "id": r.bpmn_id,
                    "nombre": r.name,
                    "en_espera": r.waiting,
                    "completadas": r.completed,
                    "mediana": _spent(r.median),
                    "p90": _spent(r.p90),
                    "calor": r.heat,
                    "calor_texto": HEAT_NAMES[r.heat],
                }
                for r in rows
            ],
        }
    )


def _query(period: dict[str, date]) -> str:
    """The period as the query string of the figures' URL (dd/mm/aaaa, as typed)."""
    return ("?" + urlencode({k: fecha(v) for k, v in period.items()})) if period else ""


def _spent(spent: steps.Spent | None) -> dict | None:
    if spent is None:
        return None
    return {"desde_segundos": spent.low, "hasta_segundos": spent.high, "texto": spent.texto}
