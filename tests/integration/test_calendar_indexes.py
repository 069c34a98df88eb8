"""A calendar's runs read the cases they report, not the whole table: what a run costs follows what is due.

The weekly and biweekly consolidados ask which direcciones owe a follow-up and list each one's
open cases; the sugerencias meeting lists the sugerencias that wait for it. Each of those
questions is answered by an index search (migration 0021), so closed cases, cases of other
direcciones and the audit trail of finished work are never read. The plan is SQLite's
(``EXPLAIN QUERY PLAN`` of every statement a calendar pass runs); PostgreSQL chooses its plan by
the table's statistics, which a test's few rows do not represent, and is measured by
``bench/timers.py``.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from engine.cases import runs, selectors
from engine.db.models import Case
from tests.integration.test_procedure_seguimiento import remit

# How a plan may reach the cases and the audit trail: by the status the run reports (so never the closed
# ones), by a case's own key, or, for events, by the case. Anything else reads beyond what is due
# («SCAN cases …», or «SEARCH cases USING INDEX ix_cases_direccion (direccion=?)»: closed work included).
BOUNDED = {
    "cases": re.compile(r"\((status=|rowid=|id=|ticket=)|INTEGER PRIMARY KEY"),
    "audit_event": re.compile(r"\(case_id="),
}
TABLE = re.compile(r"\b(?:SCAN|SEARCH) (cases|audit_event)\b")


def statements_of(store, work) -> list[tuple[str, object]]:
    """The SELECT statements ``work`` sent to the database, with their parameters."""
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def unbounded(store, statements) -> list[str]:
    """The plan lines of those statements that reach cases or events otherwise than BOUNDED says."""
    found = []
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters):
                table = TABLE.search(row[-1])
                if table and not BOUNDED[table.group(1)].search(row[-1]):
                    found.append(f"{row[-1]}  ←  {' '.join(statement.split())[:160]}")
    return found


def close(store, count: int) -> None:
    """``count`` cases of the same dirección as finished work: closed, out of every consolidado."""
    with store.unit_of_work() as s:
        model = s.scalars(select(Case).where(Case.direccion == "planificacion_urbana")).first()
        for n in range(count):
            s.add(
                Case(
                    ticket=f"AC-2025-{n:06d}",
                    procedure_version_id=model.procedure_version_id,
                    case_type=model.case_type,
                    direccion=model.direccion,
                    status="cerrado",
                    opened_at=model.opened_at - timedelta(days=400),
                    created_by="operador",
                    data={},
                    revision=1,
                )
            )


# SQLite only: PostgreSQL chooses its plans by statistics that a test's few rows cannot stand for
# (bench/timers.py measures it there).
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_calendar_pass_reads_the_cases_it_reports_and_no_closed_ones(desk, store):
    remit(desk, "planificacion_urbana")
    remit(desk, "gestion_ambiental")
    close(store, 50)
    desk.clock.advance(days=4, hours=5, seconds=1)  # the biweekly consolidados and the sugerencias meeting
    started: list[int] = []
    seen = statements_of(store, lambda: started.append(runs.start_due_runs(desk.atiende, desk.clock.now())[0]))
    assert started == [2]
    assert any("FROM audit_event" in statement for statement, _ in seen)  # the consolidado's follow-up dates
    assert unbounded(store, seen) == []


def test_the_direcciones_owing_a_follow_up_are_each_named_once_in_order(desk, store):
    """The selector walks the index from one dirección to the next: both statuses, each dirección once."""
    for direccion in ("planificacion_urbana", "obras_construcciones", "planificacion_urbana", "gestion_ambiental"):
        remit(desk, direccion)
    close(store, 20)  # closed cases name no dirección that owes a follow-up
    with store.unit_of_work() as s:
        for case in s.scalars(select(Case).where(Case.direccion.in_(["obras_construcciones", "gestion_ambiental"]))):
            case.status = "escalado a la unidad" if case.direccion == "obras_construcciones" else "cerrado"
    with store.read() as s:
        assert selectors.direcciones_con_casos_abiertos(s) == [
            {"direccion": "obras_construcciones"},
            {"direccion": "planificacion_urbana"},
        ]
