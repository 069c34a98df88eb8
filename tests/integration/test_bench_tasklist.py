"""bench/tasklist.py's seeding at 300 cases: every copy consistent, findable, its indexes back.

The copies are what the 1,000,000-case figures are measured on: a copy that broke a rule of the
real data (a task whose mirrored columns differ from its case's, a case the search index lacks,
an index left dropped) would make those figures wrong, not just slow. Run in-process on SQLite
and on the PostgreSQL test server (COPY into a schema of its own).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from engine.access.accounts import Actor
from engine.bpm.state import compaction
from engine.cases.finding import search
from engine.db.models import AuditEvent, Case, HumanTask, StateDictionary
from tests.conftest import PG_MISSING

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import common  # noqa: E402
import tasklist  # noqa: E402

CASES, OPEN = 300, 60
OPERADOR = Actor("operador", frozenset({"operador"}))


def _indexes(store) -> set[str]:
    found = inspect(store.engine)
    return {i["name"] for table in ("cases", "human_task", "audit_event") for i in found.get_indexes(table)}


def _check(db) -> None:
    store = common.prepared_store(db)
    expected = _indexes(store)
    built = tasklist.prepare(store, CASES, OPEN, datetime.now(UTC).replace(microsecond=0))
    assert built["cases"] == CASES and built["human_task"] >= OPEN
    assert _indexes(store) == expected  # every index dropped for the load is back
    with store.read() as s:
        tickets = list(s.scalars(select(Case.ticket)))
        rounds = (len(tickets) - CASES) // 9  # the copies, their nine templates, and rounds of nine before them
        assert len(tickets) == len(set(tickets)) == CASES + 9 * rounds
        assert 9 * (rounds - 1) >= compaction.MINIMUM  # the earlier cases, which the states' dictionary learnt from
        assert s.scalar(select(func.count()).select_from(StateDictionary)) == 1
        tasks = s.execute(
            select(HumanTask.case_type, Case.case_type, HumanTask.corregimiento, Case.corregimiento).join(Case)
        ).all()
        assert tasks and all(t[0] == t[1] and t[2] == t[3] for t in tasks)  # mirrored as the engine does
        assert s.scalar(select(func.count()).where(Case.status != "cerrado").select_from(Case)) == OPEN + 8 * rounds
        newest = s.scalars(select(Case).order_by(Case.id.desc())).first()
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == newest.id)) >= 2
        assert [h.case_id for h in search.search(s, OPERADOR, newest.ticket).hits] == [newest.id]
        surname = newest.citizen_name.split()[1]
        assert newest.id in {h.case_id for h in search.search(s, OPERADOR, surname, limit=500).hits}
    store.dispose()


def test_the_copies_are_consistent_on_sqlite():
    with common.sqlite_database() as db:
        _check(db)


@pytest.mark.postgres
def test_the_copies_are_consistent_on_postgresql():
    url = os.environ.get("ATIENDE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(PG_MISSING)
    with common.postgres_database(url) as db:
        _check(db)
