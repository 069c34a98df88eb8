"""The page the hoja de trámite's QR code leads to (``/acuse/<ticket>``).

The enlace of the case's dirección is taken to the acuse task; anyone else who may read the
case (``engine.access.permissions.CASE_READERS``) sees where the acuse stands.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from engine.access.permissions import CASE_READERS, may_work_now
from engine.paperwork import acuse
from web.auth import role_required
from web.ui.context import actor, atiende

bp = Blueprint("acuse", __name__)

ONLY_CASE_READERS = "No tiene permiso para ver los casos."


@bp.get("/acuse/<ticket>")
@role_required(CASE_READERS, ONLY_CASE_READERS)
def por_qr(ticket: str):
    """Where the hoja's QR code leads: the enlace to the acuse task, others to where it stands."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        found = acuse.case_by_ticket(s, ticket)
        if found is None:
            abort(404, "No existe un caso con ese ticket.")
        case = engine.case_for(s, found.id, me)
        task = acuse.pending_task(s, case.id)
        done = acuse.received(s, case.id)
    if task is not None and may_work_now(me, task):  # the enlace of the case's dirección
        return redirect(url_for("tasks.tarea", task_id=task.id))
    return render_template(
        "acuse/estado.html",
        case=case,
        pending=task is not None,
        done=done,
        may_record=task is not None and me.has("operador"),
    )
