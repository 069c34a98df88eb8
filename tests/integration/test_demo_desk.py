"""The demo desk (``engine.demo.desk``): what a first ``make run`` shows is an office at work.

Seeded once, on a temporary SQLite file, the way ``python -m web`` seeds a new database (the
small demo, the other procedures, then the desk); every assertion reads the database.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access.accounts import Actor
from engine.cases import assignment
from engine.clock import FrozenClock
from engine.db.models import AuditEvent, Case, HumanTask, User
from engine.db.store import Store
from engine.demo import desk
from engine.demo import procedures as demo_procedures
from engine.demo import seed as demo
from engine.facade import Atiende
from tests.conftest import START

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, sqlite_templates):
    path = tmp_path_factory.mktemp("desk") / "atiende.sqlite3"
    store = Store(sqlite_templates.copy("catalogs", path))
    atiende = Atiende(store, FrozenClock(START))
    assert demo.seed(atiende)
    demo_procedures.seed(atiende)
    made = desk.seed(atiende)
    yield atiende, made
    store.dispose()


def test_the_desk_is_made_without_a_refused_step(seeded):
    _atiende, made = seeded
    assert made.refused == []
    assert made.cases == desk.CASES and made.completed > desk.CASES


def test_several_people_of_each_kind(seeded):
    atiende, _made = seeded
    with atiende.store.read() as s:
        users = list(s.scalars(select(User)))
    roles = Counter(role for user in users for role in user.role_codes)
    assert roles["operador"] >= 4 and roles["coordinador"] >= 2
    assert len({u.direccion for u in users if "enlace" in u.role_codes}) >= 5


def test_cases_of_every_channel_state_direccion_and_age(seeded):
    atiende, _made = seeded
    now = atiende.now()
    with atiende.store.read() as s:
        cases = list(s.scalars(select(Case)))
    assert len(cases) >= 300
    channels = Counter(c.channel for c in cases)
    assert all(
        channels[c] >= 10 for c in ("correo_electronico", "pagina_web", "telefono", "presencial", "plataforma_311")
    )
    statuses = Counter(c.status for c in cases)
    assert statuses["cerrado"] >= 50 and statuses["abierto"] >= 50 and statuses["en seguimiento"] >= 10
    assert statuses["cerrado"] < len(cases) * 0.7  # a living office: most work is not done yet
    direcciones = Counter(c.direccion for c in cases if c.direccion)
    assert len(direcciones) >= 5 and min(direcciones.values()) >= 10
    assert min(c.opened_at for c in cases) <= now - timedelta(weeks=6)
    assert max(c.opened_at for c in cases) <= now  # nothing made in the future
    assert sum(1 for c in cases if c.due_at and c.due_at < now and c.status != "cerrado") >= 5  # past the legal term


def test_open_work_overdue_waiting_approval_and_returned(seeded):
    atiende, _made = seeded
    now = atiende.now()
    with atiende.store.read() as s:
        tasks = list(s.scalars(select(HumanTask)))
        returns = [
            e.case_id
            for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == "tarea_completada"))
            if (e.detail.get("datos") or {}).get("decision_hoja") == "devolver"
        ]
        latest = s.scalar(select(func.max(AuditEvent.at)))
    assert len(tasks) >= 100
    assert sum(1 for t in tasks if t.due_at is not None and t.due_at < now) >= 20
    assert sum(1 for t in tasks if t.form == "aprobacion_hoja") >= 10
    assert len(returns) >= 10
    assert any(t.case_id in returns and t.form == "hoja_de_tramite" for t in tasks)  # a hoja back with its comment
    assert latest <= now


def test_tasks_are_taken_by_several_people_and_a_coordinator_can_reassign_one(seeded):
    atiende, _made = seeded
    with atiende.store.read() as s:
        taken = list(s.scalars(select(HumanTask).where(HumanTask.assignee.is_not(None))))
    assert len(taken) >= 20 and len({t.assignee for t in taken}) >= 3
    task = next(t for t in taken if t.lane == "operador")
    other = next(u for u, *_ in desk.DESK_USERS if u.startswith("operador") and u != task.assignee)
    assignment.reassign(atiende, task.id, other, Actor("coordinador2", frozenset({"coordinador"})))
    with atiende.store.read() as s:
        assert s.get(HumanTask, task.id).assignee == other


def test_the_readme_names_every_demo_user():
    [line] = [block for block in README.read_text().split("\n\n") if block.startswith("Demo users")]
    named = set(re.findall(r"`([a-z_0-9]+)`", line))
    assert {u[0] for u in demo.DEMO_USERS + desk.DESK_USERS} <= named
