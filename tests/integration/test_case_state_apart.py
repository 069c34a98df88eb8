"""Migration 0035: the cases' workflow states move to a table of their own and back, byte for byte, on both
databases; the cases go on from them."""

from __future__ import annotations

import sqlalchemy as sa

from engine.db.models import CaseState
from engine.db.store import Store
from engine.facade import Atiende
from engine.forms import catalogs
from tests.fixtures.desk import Desk
from tests.integration.test_migrations import migrate_to


def states_in(store: Store) -> dict[int, bytes]:
    with store.read() as s:
        return {case_id: bytes(state) for case_id, state in s.execute(sa.select(CaseState.case_id, CaseState.workflow))}


def states_in_case_rows(store: Store) -> dict[int, bytes]:
    with store.engine.connect() as conn:
        return {case_id: bytes(state) for case_id, state in conn.execute(sa.text("SELECT id, workflow FROM cases"))}


def office_at(url: str, clock) -> Atiende:
    """The engine on a database migrated to this release, its catalogues seeded, the procedures deployed."""
    store = Store(url)
    store.migrate()
    with store.unit_of_work() as s:
        catalogs.seed(s)
    atiende = Atiende(store, clock)
    atiende.deploy_directory("analista")
    return atiende


def test_the_states_go_back_to_the_case_rows_and_apart_again_and_the_cases_go_on(bare_url, frozen_clock):
    atiende = office_at(bare_url, frozen_clock)
    store = atiende.store
    desk = Desk(atiende, frozen_clock)
    waiting, following = desk.start(), desk.start()
    desk.to_follow_up(following)
    before = states_in(store)
    assert set(before) == {waiting, following} and all(before.values())
    store.dispose()

    migrate_to(bare_url, "0034", down=True)
    assert states_in_case_rows(store) == before
    assert "case_state" not in sa.inspect(store.engine).get_table_names()
    store.dispose()

    migrate_to(bare_url, "head")
    assert states_in(store) == before
    assert "workflow" not in {column["name"] for column in sa.inspect(store.engine).get_columns("cases")}
    store.dispose()
    again = Atiende(store, frozen_clock)  # nothing in memory: each case goes on from its stored state
    desk = Desk(again, frozen_clock)
    desk.do(waiting, next(t for t in desk.ready(waiting) if t.startswith("Task_plantilla_")))
    assert desk.ready(waiting) == ["Task_confeccionar_hoja"] and desk.state(waiting) != before[waiting]
    assert desk.state(following) == before[following]
    store.dispose()
