"""Possible duplicates on the case and task pages, and linking two cases as the same matter.

The case and task pages include ``duplicados/aviso.html``, which shows what their views asked
``duplicados_de`` for, in the read session of the page's other reads; only operators and coordinators
see it and link, and not one limited to a dirección (``engine.access.permissions.direccion_scope``): the
matches may be any dirección's.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy.orm import Session

from engine.access.permissions import direccion_scope
from engine.cases.finding import duplicates
from engine.errors import LinkError
from web.auth import role_required
from web.ui.context import actor, atiende
from web.ui.guards import number
from web.ui.redirects import safe_next

bp = Blueprint("duplicados", __name__)

ROLES = frozenset({"operador", "coordinador"})
ONLY = "Solo operadores y coordinadores vinculan casos."


def duplicados_de(session: Session, case, linked_ids: list[int]) -> dict:
    """The possible duplicates of ``case`` and the cases already linked to it (``linked_ids``, read with
    the page's other reads), for those who may link: read in the page's ``session``."""
    me = actor()
    if not me.roles & ROLES or direccion_scope(me) is not None:
        return {"possible": [], "linked": []}
    linked = duplicates.linked(session, linked_ids)
    return {"possible": duplicates.possible(session, case, {c.id for c in linked}), "linked": linked}


@bp.post("/casos/<int:case_id>/vincular")
@role_required(ROLES, ONLY)
def vincular(case_id: int):
    """Link the case with another one as duplicates; back to the page the operator came from."""
    engine = atiende()
    other = number(request.form.get("otro_caso"))
    if other is None:
        flash("Indique el caso a vincular.", "error")
    else:
        try:
            duplicates.link(engine.store, case_id, other, actor(), engine.now(), request.form.get("nota", ""))
        except LinkError as refused:
            flash(str(refused), "error")
        else:
            flash("Casos vinculados como duplicados.", "exito")
    return redirect(safe_next(request.form.get("volver")) or url_for("cases.caso", case_id=case_id))
