"""The bandeja's counts stop at a cap, and each sort reads in one order both ways, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import select

from engine.access.accounts import create_user
from engine.cases.finding import worklist
from engine.db.models import HumanTask
from tests.fixtures.desk import COORDINADOR, OPERADOR


def page(atiende, actor, size=worklist.PAGE_SIZE, **filters):
    with atiende.store.read() as s:
        return worklist.page(s, actor, worklist.Filters(**filters), atiende.now(), size=size)


def every_page(atiende, order: str, size: int = 2) -> list[str]:
    """The task ids of every page of the operador's bandeja in ``order``, page after page."""
    first = page(atiende, OPERADOR, size=size, order=order)
    ids = [r.task_id for r in first.rows]
    for number in range(2, first.pages + 1):
        ids += [r.task_id for r in page(atiende, OPERADOR, size=size, order=order, page=number).rows]
    return ids


@pytest.fixture
def cap_of_three(count_cap):
    count_cap(3)


def test_counts_stop_past_the_cap_and_so_do_the_pages(atiende, desk, frozen_clock, cap_of_three):
    cases = [desk.start() for _ in range(5)]
    frozen_clock.advance(hours=25)  # the templates' one-day plazo has passed
    result = page(atiende, OPERADOR, size=1)
    assert (result.counts.total, result.counts.unclaimed, result.counts.overdue) == (4, 4, 4)  # «más de 3»
    assert (result.counts.mine, result.counts.due_soon) == (0, 0)
    assert result.pages == 3  # as many pages as the cap holds
    deep = page(atiende, OPERADOR, size=1, page=5)
    assert deep.filters.page == 3 and len(deep.rows) == 1  # a deeper page is the last one
    narrowed = page(atiende, OPERADOR, size=1, case_type="reporte")
    assert narrowed.counts.total == 0  # under the cap, counts are exact
    both_ways = {r.case_id for n in (1, 2, 3) for r in page(atiende, OPERADOR, size=1, page=n).rows}
    both_ways |= {
        r.case_id for n in (1, 2, 3) for r in page(atiende, OPERADOR, size=1, page=n, order="vence_desc").rows
    }
    assert both_ways == set(cases)  # the ones past the cap one way are first the other way


def test_no_page_asked_for_is_read_deeper_than_the_cap(atiende, desk, frozen_clock, cap_of_three, monkeypatch):
    """Any page number can be typed in the address: the database never skips more rows than the cap's pages hold."""
    for _ in range(5):
        desk.start()
    skipped = []
    sent = worklist.together

    def together(session, *reads):
        skipped.extend(values["skip"] for _statement, values in reads if "skip" in values)
        return sent(session, *reads)

    monkeypatch.setattr(worklist, "together", together)
    deepest = page(atiende, OPERADOR, size=1, page=2**31 - 1)
    assert deepest.filters.page == 3 and len(deepest.rows) == 1  # the last page the cap holds
    assert skipped == [2]  # the third page's offset, read once: not two thousand million rows skipped


@pytest.mark.parametrize("order", [o for o in worklist.ORDERS if not o.endswith("_desc")])
def test_each_sort_the_other_way_is_the_same_order_reversed_ties_included(atiende, desk, frozen_clock, order):
    for tipo in ("queja_reclamo", "queja_reclamo", "reporte", "queja_reclamo", "reporte"):
        desk.start(tipo_caso=tipo)  # same task names, case types and direcciones: ties for every column
    up, down = every_page(atiende, order), every_page(atiende, f"{order}_desc")
    assert len(up) == 5 and len(set(up)) == 5  # each task on one page
    assert down == list(reversed(up))


def test_the_rows_come_in_the_order_of_the_column_then_due_date_then_id(atiende, desk, frozen_clock):
    for tipo in ("reporte", "queja_reclamo", "sugerencia", "queja_reclamo"):
        desk.start(tipo_caso=tipo)
        frozen_clock.advance(minutes=5)
    rows = page(atiende, OPERADOR).rows
    by_type = page(atiende, OPERADOR, order="caso").rows
    assert [r.task_id for r in by_type] == [
        r.task_id for r in sorted(rows, key=lambda r: (r.case_type, r.due_at, r.task_id))
    ]
    by_received = page(atiende, OPERADOR, order="recibido_desc").rows
    assert [r.task_id for r in by_received] == [
        r.task_id for r in sorted(rows, key=lambda r: (r.created_at, r.due_at, r.task_id), reverse=True)
    ]


def test_sorted_by_person_every_page_follows_the_names_then_due_date(atiende, desk, frozen_clock):
    """The unclaimed tasks (no name) come where the database puts an empty value — first in ascending
    order on SQLite, last on PostgreSQL — and a person's tasks by their full name, or their username
    when they have no account, then by due date and id, page after page, both ways."""
    for _ in range(7):
        desk.start()
        frozen_clock.advance(minutes=5)
    with atiende.store.unit_of_work() as s:
        create_user(s, "zoila", "Ana Zoila", "clave-de-prueba-1", ["operador"])
        create_user(s, "operador", "Olga Operadora", "clave-de-prueba-2", ["operador"])
        tasks = list(s.scalars(select(HumanTask).order_by(HumanTask.created_at)))
        for task, assignee in zip(tasks, ["zoila", None, "beto", "operador", None, "zoila", "operador"], strict=True):
            task.assignee = assignee
    names = {"zoila": "Ana Zoila", "operador": "Olga Operadora", "beto": "beto"}
    empty_first = atiende.store.engine.dialect.name == "sqlite"
    for actor, scope in ((COORDINADOR, "equipo"), (OPERADOR, "todas")):
        rows = page(atiende, actor, size=50, scope=scope).rows
        expected = [
            r.task_id
            for r in sorted(
                rows,
                key=lambda r: (
                    (r.assignee is None) != empty_first,
                    names.get(r.assignee, ""),
                    r.due_at,
                    r.task_id,
                ),
            )
        ]
        for size in (1, 2, 3):
            up = _pages(atiende, actor, size, scope=scope, order="asignada")
            assert up == expected
            assert _pages(atiende, actor, size, scope=scope, order="asignada_desc") == list(reversed(up))


def _pages(atiende, actor, size: int, **filters) -> list[str]:
    first = page(atiende, actor, size=size, **filters)
    ids = [r.task_id for r in first.rows]
    for number in range(2, first.pages + 1):
        ids += [r.task_id for r in page(atiende, actor, size=size, page=number, **filters).rows]
    return ids


def test_the_counts_under_the_cap_are_exact_each_one(atiende, desk, frozen_clock):
    for tipo in ("reporte", "queja_reclamo", "reporte", "reporte"):
        desk.start(tipo_caso=tipo)
    frozen_clock.advance(hours=25)
    desk.start(tipo_caso="reporte")  # not yet overdue: due within the next two days
    with atiende.store.unit_of_work() as s:
        s.scalars(select(HumanTask).where(HumanTask.case_type == "queja_reclamo")).one().assignee = "operador"
        s.scalars(select(HumanTask).where(HumanTask.case_type == "reporte")).first().assignee = "operador"
    counts = page(atiende, OPERADOR, case_type="reporte").counts
    assert (counts.total, counts.mine, counts.unclaimed, counts.overdue, counts.due_soon) == (4, 1, 3, 3, 1)
    everything = page(atiende, OPERADOR).counts
    assert (everything.total, everything.mine, everything.unclaimed) == (5, 2, 3)
