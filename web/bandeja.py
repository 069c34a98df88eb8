"""The bandeja (task list): what the signed-in person may work, filtered, sorted, counted and paged;
its saved views; and several tasks claimed or reassigned at once.

Filters travel in the query string (a GET form), so a filtered bandeja can be bookmarked and
works without JavaScript; the engine (``engine.cases.finding.worklist``) decides what each person sees
and which order keys exist. ``/bandeja/filas`` answers the same query with the results alone,
which ``static/bandeja.js`` fetches to keep an open bandeja current without a page load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for

from engine.access.permissions import may_coordinate
from engine.access.roles import ROLES
from engine.cases import assignment, queries
from engine.cases.finding import worklist
from engine.errors import AssignmentRefused
from web.ui.context import actor, atiende, id_prefix
from web.ui.guards import number
from web.ui.record import NO_DIRECCION, Labels
from web.ui.redirects import safe_next

bp = Blueprint("bandeja", __name__)

VIEW_TITLES = {
    "todas": "Todas",
    "mias": "Mías",
    "sin_asignar": "Sin asignar",
    "mis_vencidas": "Mis vencidas",
    "por_aprobar": "Por aprobar",
    "equipo": "Todo el equipo",
}
SCOPE_CAPTIONS = {
    "todas": "Mis tareas y las disponibles",
    "mias": "Tomadas por mí",
    "disponibles": "Sin asignar",
    "equipo": "Todo el equipo",
}
DUE_TITLES = {"vencidas": "Vencidas", "pronto": "Vencen en menos de 2 días", "a_tiempo": "A tiempo"}
# The table's columns: (order key of engine.cases.finding.worklist.SORT_KEYS, header).
COLUMNS = {
    "ticket": "Ticket",
    "tarea": "Tarea",
    "caso": "Caso",
    "direccion": "Dirección",
    "vence": "Vence",
    "recibido": "Recibido",
    "asignada": "Asignada a",
}
# How the table's caption says its order: (by what, ascending, descending).
_TEXT, _DATES = ("de la A a la Z", "de la Z a la A"), ("la más próxima primero", "la más lejana primero")
SORT_CAPTIONS = {
    "ticket": ("por ticket", "del más antiguo al más reciente", "del más reciente al más antiguo"),
    "tarea": ("por tarea", *_TEXT),
    "caso": ("por tipo de caso", *_TEXT),
    "direccion": ("por dirección", *_TEXT),
    "vence": ("por vencimiento", *_DATES),
    "recibido": ("por fecha de recepción", "la más antigua primero", "la más reciente primero"),
    "asignada": ("por persona asignada", *_TEXT),
}
FILTER_PARAMS = {
    "alcance": "scope",
    "tipo": "case_type",
    "canal": "channel",
    "direccion": "direccion",
    "corregimiento": "corregimiento",
    "vence": "due",
    "clase": "kind",
    "orden": "order",
}
DEFAULTS = {"alcance": "todas", "orden": worklist.DEFAULT_ORDER, "pagina": 1}
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
    received_at: datetime
    due_at: datetime | None
    overdue: bool
    due_soon: bool
    assignee: str | None
    assignee_name: str | None
    mine: bool
    workable: bool  # of the person's lanes: they may take it (unclaimed) or open it (theirs)


class RowPaths(NamedTuple):
    """The prefixes of a row's links, each followed by the task's or case's id. Attributes, not a
    dict's keys: the template reads them with a dot, up to four times a row, and on a dict each read
    fails as an attribute before it is looked up as a key."""

    task: str
    case: str


def filters_from(args) -> worklist.Filters:
    """The bandeja's filters from a query string (Spanish parameter names)."""
    values = {field: args.get(param, "") for param, field in FILTER_PARAMS.items()}
    values["scope"] = values["scope"] or "todas"
    values["order"] = values["order"] or worklist.DEFAULT_ORDER
    page = args.get("pagina", "1")
    return worklist.Filters(**values, page=number(page) or 1)


def link(filters: worklist.Filters, endpoint: str = "bandeja.index", **changes) -> str:
    """The bandeja's address for ``filters`` with ``changes`` (Spanish names); defaults left out."""
    values = {param: getattr(filters, field) for param, field in FILTER_PARAMS.items()}
    values["pagina"] = filters.page
    values.update(changes)
    query = urlencode({k: v for k, v in values.items() if v not in (None, "") and DEFAULTS.get(k) != v})
    return url_for(endpoint) + (f"?{query}" if query else "")


def view_link(filters: worklist.Filters, view: worklist.View) -> str:
    """A saved view's address: its filters replace the view's own (scope, due, kind); the other
    filters and the order stay, so a sorted, filtered bandeja keeps them from view to view."""
    return link(filters, alcance=view.scope, vence=view.due or "", clase=view.kind or "", pagina=1)


def sort_link(filters: worklist.Filters, key: str) -> str:
    """A column header's address: ascending first, the other way when already sorted by it."""
    return link(filters, orden=f"{key}_desc" if filters.order == key else key, pagina=1)


def _results():
    """The page's filters, rows and counts, as both the page and the fragment show them."""
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
                r.created_at,
                r.due_at,
                r.due_at is not None and r.due_at < now,
                r.due_at is not None and now <= r.due_at < now + worklist.DUE_SOON,
                r.assignee,
                names.get(r.assignee, r.assignee) if r.assignee is not None else None,
                r.assignee == me.username,
                r.workable,
            )
            for r in result.rows
        ]
        choices = {name: labels.choices(name) for name in FILTER_CATALOGS}
        coordinating = may_coordinate(me)
        people = assignment.people_for_any(s, result.rows) if coordinating and rows else []
    f = result.filters
    current = next((v.name for v in worklist.VIEWS if v.shown_by(f)), None)
    key = f.order.removesuffix("_desc")
    # Each row links to its case and task and posts to its task's actions: the prefixes once.
    paths = RowPaths(id_prefix("tasks.tarea", task_id="-"), id_prefix("cases.caso", case_id=0))
    return {
        "page": result,
        "rows": rows,
        "choices": choices,
        "views": worklist.views_for(me),
        "current_view": current,
        "view_titles": VIEW_TITLES,
        "caption": VIEW_TITLES[current] if current else SCOPE_CAPTIONS[f.scope],
        "scope_captions": SCOPE_CAPTIONS,
        "due_titles": DUE_TITLES,
        "columns": COLUMNS,
        "sort_captions": SORT_CAPTIONS,
        "sorted_by": (key, "descending" if f.order.endswith("_desc") else "ascending"),
        "sort_caption": "{}, {}".format(
            SORT_CAPTIONS[key][0], SORT_CAPTIONS[key][2 if f.order.endswith("_desc") else 1]
        ),
        "link": link,
        "view_link": view_link,
        "sort_link": sort_link,
        "paths": paths,
        "coordinating": coordinating,
        "people": people,
        "selectable": any(r.workable and not r.assignee for r in rows) or (coordinating and bool(rows)),
        "takeable": any(r.workable and not r.assignee for r in rows),
        "back": request.full_path.rstrip("?") if request.endpoint == "bandeja.index" else link(result.filters),
    }


@bp.get("/")
def index():
    """The signed-in person's bandeja."""
    return render_template("bandeja/index.html", **_results())


@bp.get("/bandeja/filas")
def filas():
    """The bandeja's results alone (counts, rows, pages) for the same query: what the page's script
    fetches to refresh itself; never cached, since it changes as people work."""
    response = make_response(render_template("bandeja/_resultados.html", **_results()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/bandeja/lote")
def lote():
    """Claim, or (a coordinator) reassign, the tasks marked on the page: each task in its own
    transaction, and one message saying how many were done and why each other one was not."""
    engine, me = atiende(), actor()
    back = safe_next(request.form.get("volver")) or url_for("bandeja.index")
    action = request.form.get("accion", "")
    chosen = request.form.getlist("tarea")
    if action == "reasignar" and not may_coordinate(me):
        abort(403, "Solo un coordinador puede reasignar tareas.")
    if action not in ("tomar", "reasignar"):  # the page's buttons send one of the two: anything else is forged
        abort(400, "Acción desconocida: las tareas marcadas se toman o se reasignan.")
    if not chosen:
        flash("Marque al menos una tarea.", "error")
        return redirect(back)
    try:
        if action == "tomar":
            outcomes = assignment.claim_many(engine, chosen, me)
            message = summary(outcomes, ("tomada", "tomadas"))
        else:
            username = request.form.get("usuario", "")
            outcomes = assignment.reassign_many(engine, chosen, username, me)
            with engine.store.read() as s:
                name = queries.full_names(s, [username]).get(username, username)
            message = summary(outcomes, ("reasignada", "reasignadas"), f" a {name}")
    except AssignmentRefused as refused:
        flash(str(refused), "error")
        return redirect(back)
    flash(message, "exito" if all(o.done for o in outcomes) else "error")
    return redirect(back)


def summary(outcomes: list[assignment.Outcome], done_words: tuple[str, str], to: str = "") -> str:
    """«2 tareas tomadas; 1 no: AC-2026-000005, ya la tomó Olga Operadora.» — every refusal named."""
    done = sum(o.done for o in outcomes)
    refused = [o for o in outcomes if not o.done]
    head = f"{done} {'tarea' if done == 1 else 'tareas'} {done_words[done != 1]}{to if done else ''}"
    if not refused:
        return f"{head}."
    detail = "; ".join(f"{o.ticket}, {o.reason}" for o in refused)
    return f"{head}; {len(refused)} no: {detail}."
