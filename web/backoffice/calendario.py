"""The business calendar's pages: the days off of a year, a day declared by decree added, a day taken out.

For administrators only (checked before every view); each change is one call to ``engine.calendar``,
which checks, audits, counts the edit (every process sees it at its next step) and commits it.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from engine import calendar
from engine.access.permissions import may_administer
from engine.clock import PANAMA, YEARS
from engine.errors import FormErrors
from web.ui import filters
from web.ui.context import actor, atiende

bp = Blueprint("calendario", __name__, url_prefix="/admin/calendario")
YEAR_ERROR = f"El año debe ser un número de {YEARS[0]} a {YEARS[-1]}; se muestra el año en curso."


@bp.before_request
def _only_administrators():
    if not may_administer(actor()):
        abort(403, "Solo el administrador puede cambiar el calendario de días hábiles.")


def _this_year() -> int:
    return atiende().now().astimezone(PANAMA).year


@bp.get("")
def calendario():
    """The days off of the year asked for (``anio``), the current one by default."""
    text = request.args.get("anio", "").strip()
    year, error = _this_year(), None
    if text:
        if text.isdigit() and len(text) == 4 and int(text) in YEARS:
            year = int(text)
        else:
            error = YEAR_ERROR
    return _page(year, year_error=error), 400 if error else 200


@bp.post("")
def agregar():
    """Declare a day off by decree."""
    values = {name: request.form.get(name, "") for name in ("fecha", "nombre", "decreto")}
    day = filters.day(values["fecha"].strip())
    try:
        calendar.add_day(atiende(), day, values["nombre"], values["decreto"], actor())
    except FormErrors as invalid:
        return _page(day.year if day else _this_year(), values, invalid.errors), 422
    assert day is not None  # add_day refuses an unread date
    flash(f"Día libre agregado: {day:%d/%m/%Y}.", "exito")
    return redirect(url_for("calendario.calendario", anio=day.year))


@bp.post("/quitar")
def quitar():
    """Take a day off out of the calendar: it is a working day again."""
    day = filters.day(request.form.get("fecha", "").strip())
    if day is None:
        return _page(_this_year(), errors={"quitar": "No se reconoció la fecha del día a quitar."}), 422
    try:
        calendar.remove_day(atiende(), day, actor())
    except FormErrors as invalid:
        return _page(day.year, errors={"quitar": invalid.errors.get("fecha", "")}), 422
    flash(f"El {day:%d/%m/%Y} vuelve a ser día hábil.", "exito")
    return redirect(url_for("calendario.calendario", anio=day.year))


def _page(year: int, values: dict | None = None, errors: dict | None = None, year_error: str | None = None):
    with atiende().store.read() as s:
        days, held = calendar.days_of(s, year)
    return render_template(
        "calendario/calendario.html",
        year=year,
        days=days,
        held=held,
        kinds=calendar.KINDS,
        values=values or {},
        errors=errors or {},
        year_error=year_error,
        years=(year - 1, year + 1),
    )
