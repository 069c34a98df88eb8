"""The bandeja (task list): what the signed-in person may work, filtered, counted and paged.

Filters travel in the query string (a GET form), so a filtered bandeja can be bookmarked and
works without JavaScript; the engine (``engine.cases.worklist``) decides what each person sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for

from engine.access.permissions import may_coordinate
from engine.access.roles import ROLES
from engine.cases import queries, worklist
from web.ui.context import actor, atiende
from web.ui.guards import number
from web.ui.record import NO_DIRECCION, Labels

bp = Blueprint("bandeja", __name__)

SCOPE_TITLES = {
    "todas": "Mis tareas y disponibles",
    "mias": "Tomadas por mí",
    "disponibles": "Disponibles",
    "equipo": "Todo el equipo",
}
DUE_TITLES = {"vencidas": "Vencidas", "pronto": "Vencen en menos de 2 días", "a_tiempo": "A tiempo"}
ORDER_TITLES = {"vence": "Vence primero", "vence_desc": "Vence último", "recientes": "Más recientes"}
FILTER_PARAMS = {
    "alcance": "scope",
    "tipo": "case_type",
    "canal": "channel",
    "direccion": "direccion",
    "corregimiento": "corregimiento",
    "vence": "due",
    "orden": "order",
}
DEFAULTS = {"alcance": "todas", "orden": "vence", "pagina": 1}
FILTER_CATALOGS = ("tipos_caso", "canales", "direcciones", "corregimientos")


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    case_id: int
    ticket: str
    name: str
    role: str
    case_type: str
    citizen: str
    subject: str
    direccion: str
    corregimiento: str
    due_at: datetime | None
    overdue: bool
    due_soon: bool
    assignee: str | None
    assignee_name: str | None
    mine: bool


def filters_from(args) -> worklist.Filters:
    """The bandeja's filters from a query string (Spanish parameter names)."""
    values = {field: args.get(param, "") for param, field in FILTER_PARAMS.items()}
    values["scope"] = values["scope"] or "todas"
    values["order"] = values["order"] or "vence"
    page = args.get("pagina", "1")
    return worklist.Filters(**values, page=number(page) or 1)


def link(filters: worklist.Filters, **changes) -> str:
    """The bandeja's address for ``filters`` with ``changes`` (Spanish names); defaults left out."""
    values = {param: getattr(filters, field) for param, field in FILTER_PARAMS.items()}
    values["pagina"] = filters.page
    values.update(changes)
    query = urlencode({k: v for k, v in values.items() if v not in (None, "") and DEFAULTS.get(k) != v})
    return url_for("bandeja.index") + (f"?{query}" if query else "")


@bp.get("/")
def index():
    """The signed-in person's bandeja."""
    engine, me = atiende(), actor()
    now = engine.now()
    with engine.store.read() as s:
        result = worklist.page(s, me, filters_from(request.args), now)
        labels = Labels(s, preload=FILTER_CATALOGS)
        names = queries.full_names(s, {r.assignee for r in result.rows if r.assignee})
        rows = [
            TaskRow(
                r.task_id,
                r.case_id,
                r.ticket,
                r.name,
                ROLES.get(r.lane, r.lane),
                labels("tipos_caso", r.case_type) or "",
                r.citizen_name or "",
                r.subject or "",
                labels("direcciones", r.direccion) or NO_DIRECCION,
                labels("corregimientos", r.corregimiento) or "",
                r.due_at,
                r.due_at is not None and r.due_at < now,
                r.due_at is not None and now <= r.due_at < now + worklist.DUE_SOON,
                r.assignee,
                names.get(r.assignee, r.assignee) if r.assignee is not None else None,
                r.assignee == me.username,
            )
            for r in result.rows
        ]
        choices = {name: labels.choices(name) for name in FILTER_CATALOGS}
    scopes = ["todas", "mias", "disponibles"] + (["equipo"] if may_coordinate(me) else [])
    # Each row links to its case and task and posts to its task's actions: the prefixes once,
    # not url_for per link (a hundred calls per page were a tenth of its time).
    paths = {"task": url_for("tasks.tarea", task_id="-")[:-1], "case": url_for("cases.caso", case_id=0)[:-1]}
    return render_template(
        "bandeja/index.html",
        page=result,
        rows=rows,
        choices=choices,
        scopes=scopes,
        scope_titles=SCOPE_TITLES,
        due_titles=DUE_TITLES,
        order_titles=ORDER_TITLES,
        link=link,
        paths=paths,
        coordinating=may_coordinate(me),
    )
