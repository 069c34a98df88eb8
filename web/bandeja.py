"""The bandeja (task list): the tasks the signed-in person may work, soonest due first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template

from engine import queries
from web.context import actor, atiende
from web.record import NO_DIRECCION, Labels

bp = Blueprint("bandeja", __name__)


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    case_id: int
    ticket: str
    name: str
    case_type: str
    direccion: str
    due_at: datetime | None
    overdue: bool


@bp.get("/")
def index():
    """The signed-in person's task list."""
    engine, me = atiende(), actor()
    now = engine.now()
    with engine.store.read() as s:
        tasks = engine.tasks_for(s, me)
        cases = queries.cases_by_id(s, {t.case_id for t in tasks})
        labels = Labels(s)
        rows = [TaskRow(t.id, t.case_id, cases[t.case_id].ticket, t.name,
                        labels("tipos_caso", cases[t.case_id].case_type) or "",
                        labels("direcciones", t.direccion) or NO_DIRECCION,
                        t.due_at, t.due_at is not None and t.due_at < now)
                for t in tasks]
    return render_template("bandeja/index.html", rows=rows, may_start=me.has("operador"))
