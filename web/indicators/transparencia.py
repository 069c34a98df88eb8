"""/transparencia: for anyone, without signing in, whether the office answers within the legal term,
per dirección and month, and the median time to answer.

Aggregates only (``figures.transparency``): no ticket, name, cédula or text of a case can reach this
page. The figures change as cases close, not by the second: they are kept five minutes in the
process, and a page served to someone not signed in may be kept as long by a browser or a proxy
(signed in, the header names the person: never kept).
"""

from __future__ import annotations

import threading
import time
from datetime import date

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from engine.cases import queries
from engine.indicators import figures
from web.auth import public
from web.ui import charts
from web.ui.context import atiende

bp = Blueprint("transparencia", __name__)

KEEP_SECONDS = 300
_lock = threading.Lock()


@bp.get("/transparencia")
@public
def index():
    """The % answered within the term and the median days, per dirección and month (the last 12)."""
    engine = atiende()
    today = engine.now().date()
    rows, labels = _figures(engine, today)
    months = sorted({r.month: r.etiqueta for r in rows}.items())
    direcciones = sorted({r.direccion for r in rows}, key=lambda code: labels.get(code, code))
    cells = {(r.direccion, r.month): r for r in rows}
    series = [
        charts.Series(labels.get(code, code), [_pct(cells.get((code, month))) for month, _ in months])
        for code in direcciones
    ]
    chart = charts.line(
        "grafico-transparencia",
        "Porcentaje de casos respondidos dentro del plazo, por dirección y mes",
        "Una línea por dirección con el porcentaje de casos respondidos dentro del plazo legal cada mes. "
        "Las cifras están en la tabla que sigue.",
        [label for _, label in months],
        series,
        top=100,
    )
    response = render_template(
        "transparencia/index.html",
        rows=rows,
        months=months,
        direcciones=direcciones,
        cells=cells,
        labels=labels,
        chart=chart,
    )
    headers = {} if current_user.is_authenticated else {"Cache-Control": f"public, max-age={KEEP_SECONDS}"}
    return response, 200, headers


def _figures(engine, today: date) -> tuple[list, dict[str, str]]:
    """The rows and the direcciones' labels, read at most once every KEEP_SECONDS per application and day."""
    kept: dict[date, tuple[float, list, dict[str, str]]] = current_app.extensions.setdefault("transparencia", {})
    with _lock:
        found = kept.get(today)
        if found is not None and time.monotonic() - found[0] < KEEP_SECONDS:
            return found[1], found[2]
    with engine.store.read() as s:
        rows = figures.transparency(s, today)
        labels = queries.catalog_labels(s, "direcciones")
    with _lock:
        kept.clear()  # one entry: yesterday's figures are of no use
        kept[today] = (time.monotonic(), rows, labels)
    return rows, labels


def _pct(row) -> float | None:
    return row.pct_on_time if row is not None else None
