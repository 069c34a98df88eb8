"""Cases: register a new one from the start form, and the case page with its history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import audit, queries
from engine.forms import FormErrors
from engine.roles import ROLES
from engine.services import may_work
from web import forms_render, history, record
from web.auth import role_required
from web.context import actor, atiende

bp = Blueprint("cases", __name__, url_prefix="/casos")

PROCESS_ID = "atencion_correo_web"  # the procedure whose start form this page captures
ONLY_OPERATORS = "Solo los operadores pueden registrar casos."


@dataclass(frozen=True)
class OpenTask:
    task_id: str
    name: str
    role: str
    due_at: datetime | None
    mine: bool  # the signed-in person may work it, so the page links to it


@bp.get("/nuevo")
@role_required("operador", ONLY_OPERATORS)
def nuevo():
    """The start form of the procedure, empty."""
    return _new_case_page()


@bp.post("/nuevo")
@role_required("operador", ONLY_OPERATORS)
def crear():
    """Register the case; the engine issues the ticket number."""
    values = forms_render.submitted(request.form)
    try:
        started = atiende().start_case(PROCESS_ID, values, actor())
    except FormErrors as invalid:
        return _new_case_page(values, invalid.errors), 422
    flash(f"Caso registrado con el ticket {started.ticket}.", "exito")
    return redirect(url_for("cases.caso", case_id=started.case_id))


@bp.get("/<int:case_id>")
def caso(case_id: int):
    """The case: summary, record, open tasks and history (enlaces only for their dirección)."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        case = engine.case_for(s, case_id, me)
        procedure = engine.procedure(s, case.procedure_version_id)
        labels = record.Labels(s)
        tasks = [OpenTask(t.id, t.name, ROLES.get(t.lane, t.lane), t.due_at, may_work(me, t))
                 for t in queries.open_tasks(s, case.id)]
        events = audit.case_history(s, case.id)
        names = queries.full_names(s, {e.actor for e in events})
        page = {
            "case": case,
            "procedure": procedure,
            "summary": record.summary(case, labels),
            "record": record.record(procedure, case.data, labels),
            "tasks": tasks,
            "history": history.entries(events, names),
        }
    return render_template("cases/caso.html", **page)


def _new_case_page(values: dict | None = None, errors: dict | None = None):
    engine = atiende()
    with engine.store.read() as s:
        procedure = engine.latest_procedure(s, PROCESS_ID)
        form = forms_render.build(s, procedure.forms.get(procedure.start_form), values, errors)
    return render_template("cases/nuevo.html", form=form, procedure=procedure)
