"""Search cases by ticket number, cédula, name or words of their text (``engine.cases.finding.search``)."""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, render_template, request

from engine.access.permissions import CASE_READERS
from engine.cases.finding import search as case_search
from web.auth import role_required
from web.ui.context import actor, atiende, id_prefix
from web.ui.guards import number
from web.ui.record import NO_DIRECCION, Labels

bp = Blueprint("search", __name__, url_prefix="/buscar")


class ResultRow(NamedTuple):
    """A result as the page shows it: the hit and its catalogs' labels. Attributes, not a dict's keys:
    the template reads them with a dot, and on a dict each read fails as an attribute first."""

    hit: case_search.Hit
    case_type: str
    direccion: str


@bp.app_context_processor
def _case_readers():
    """The roles that read cases, for menus (base.html) to show case links to them alone."""
    return {"CASE_READERS": sorted(CASE_READERS)}


@bp.get("/")
@role_required(CASE_READERS, "Su rol no permite consultar casos.")
def buscar():
    """The search form and a page of results, newest first; «Más resultados» walks back in time."""
    query = request.args.get("q", "").strip()[:200]
    before = request.args.get("antes", "")
    engine = atiende()
    with engine.store.read() as s:
        results = case_search.search(s, actor(), query, number(before))
        labels = Labels(s)
        rows = [
            ResultRow(
                hit, labels("tipos_caso", hit.case_type) or "", labels("direcciones", hit.direccion) or NO_DIRECCION
            )
            for hit in results.hits
        ]
    return render_template(
        "search/buscar.html",
        query=query,
        rows=rows,
        results=results,
        continued=bool(before),
        case_path=id_prefix("cases.caso", case_id=0),
    )
