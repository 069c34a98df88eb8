"""The bandeja's slow pages and a case's possible duplicates at a million cases read what they show: SQLite's plans.

Sorted by the person assigned, only the claimed tasks are joined to their person (and sorted by
name): the unclaimed ones, most of a desk, come from an index in the order of their due date. The
counts of a filter that matches fewer tasks than the cap read those tasks once, not once per count;
and a corregimiento, too narrow a filter for a capped count to stop early, has an index of its own
(migration 0024), as have the open cases a case page compares with it. The plan is SQLite's
(``EXPLAIN QUERY PLAN``); PostgreSQL chooses its plans by statistics that a test's few rows cannot
stand for, and is measured by ``bench/tasklist.py``.
"""

import re

import pytest
from sqlalchemy import select

from engine.cases.finding import duplicates, worklist
from engine.db.models import Case, HumanTask
from tests.fixtures.desk import COORDINADOR, OPERADOR
from tests.fixtures.sql_seen import sql_seen

TASKS = re.compile(r"\b(?:SCAN|SEARCH) human_task\b.*")


def _plans(desk, store, actor, **filters) -> list[tuple[str, list[str]]]:
    """Each statement a bandeja page sends, with the lines of its plan that read the tasks: every one,
    whether SQLAlchemy runs it or the driver's cursor (``engine.db.statements``), as sent, the values
    written in (SQLite's trace)."""
    with sql_seen(store) as seen, store.read() as s:
        worklist.page(s, actor, worklist.Filters(**filters), desk.clock.now())
    plans = []
    with store.engine.connect() as conn:
        for statement in (st for st in seen if st.lstrip().upper().startswith("SELECT")):
            lines = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement)]
            plans.append((statement, [m.group(0) for line in lines if (m := TASKS.search(line))]))
    return plans


@pytest.fixture
def desk_of_six(desk, store):
    """Six open tasks of the operador's lane, two of them claimed."""
    for tipo in ("reporte", "queja_reclamo", "reporte", "sugerencia", "reporte", "queja_reclamo"):
        desk.start(tipo_caso=tipo)
    with store.unit_of_work() as s:
        for task in list(s.scalars(select(HumanTask).order_by(HumanTask.created_at)))[:2]:
            task.assignee = "operador"
    return desk


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("actor", "scope"), [(OPERADOR, "todas"), (OPERADOR, "mias"), (COORDINADOR, "equipo")], ids=lambda v: str(v)[:12]
)
@pytest.mark.parametrize("order", ["asignada", "asignada_desc"])
def test_sorted_by_person_only_the_claimed_tasks_are_joined_to_their_person(desk_of_six, store, actor, scope, order):
    plans = _plans(desk_of_six, store, actor, scope=scope, order=order)
    joined = [tasks for statement, tasks in plans if "user_account" in statement]
    assert joined  # the page names the claimed tasks' people
    for tasks in joined:
        # by the index of the assignee (unclaimed: assignee=NULL), or a page's row by its id
        assert tasks and all("assignee" in line or "(id=?)" in line for line in tasks), tasks


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_counts_under_the_cap_read_the_tasks_once(desk_of_six, store):
    plans = _plans(desk_of_six, store, OPERADOR, case_type="reporte")
    counting = [tasks for statement, tasks in plans if "count(" in statement]
    assert sum(len(tasks) for tasks in counting) == 1


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("actor", "scope"), [(OPERADOR, "todas"), (COORDINADOR, "equipo")], ids=["lane", "team"])
def test_a_corregimiento_is_counted_from_its_own_index(desk_of_six, store, actor, scope):
    plans = _plans(desk_of_six, store, actor, scope=scope, corregimiento="bella_vista", channel="pagina_web")
    counting = [line for statement, tasks in plans if "count(" in statement for line in tasks]
    assert counting and all("corregimiento=?" in line for line in counting), counting


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_possible_duplicates_are_read_from_the_index_of_the_open_cases(desk, store):
    """A case page's candidates come from the index of the open cases alone (migration 0024): the
    closed cases of the same place and type, thousands at a million cases, are never read."""
    first, second = desk.start(), desk.start()
    with store.unit_of_work() as s:
        s.get(Case, first).status = "cerrado"
    with sql_seen(store) as seen, store.read() as s:  # as sent, the values written in (SQLite's trace)
        duplicates.possible(s, s.get(Case, second))
    candidates = [st for st in seen if "cases.opened_at >=" in st]
    assert len(candidates) == 1
    with store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + candidates[0])]
    assert any("ix_cases_duplicates_open" in line for line in plan), plan
