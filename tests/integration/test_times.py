"""Times stored lean: SQLite keeps each as an integer of microseconds (``UTCDateTime``, migration 0030)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from engine.audit import chain as audit_chain
from engine.clock import PANAMA
from engine.db.models import AuditEvent, Case, UTCDateTime, sqlite_instant
from engine.db.packing import Packed
from engine.db.store import Store
from tests.conftest import START
from tests.integration.test_audit_chain import assert_append_only, tamper, verdict
from tests.integration.test_migrations import migrate_to

DETAIL = Packed("audit_detail", as_json=True)
GENESIS = bytes.fromhex(audit_chain.GENESIS)
SQLITE_ONLY = pytest.mark.parametrize("store", ["sqlite"], indirect=True)
INSTANTS = [
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 6, 22, 3, 42, 123456, tzinfo=UTC),
    datetime(2026, 12, 6, 17, 3, 42, 123457, tzinfo=PANAMA),  # a microsecond after the one above
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
]


def test_times_read_back_equal_in_utc_and_order_as_the_instants_do(bare_url):
    store = Store(bare_url)
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    try:
        table.create(store.engine)
        with store.engine.begin() as conn:
            conn.execute(insert(table), [{"id": i, "at": at} for i, at in enumerate(INSTANTS)])
        with store.engine.connect() as conn:
            ordered = conn.execute(select(table.c.id, table.c.at).order_by(table.c.at)).all()
            later = conn.execute(select(table.c.id).where(table.c.at > INSTANTS[1])).scalars().all()
        assert [at for _id, at in ordered] == sorted(INSTANTS)
        assert all(at.tzinfo is UTC and at == INSTANTS[i] for i, at in ordered)
        assert sorted(later) == [0, 2]
    finally:
        store.dispose()


@SQLITE_ONLY
def test_sqlite_keeps_every_time_of_a_case_as_an_integer(desk, store):
    case_id = desk.start()
    with store.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT (SELECT typeof(opened_at) || typeof(due_at) FROM cases WHERE id = :c), "
                "(SELECT group_concat(DISTINCT typeof(at)) FROM audit_event WHERE case_id = :c), "
                "(SELECT group_concat(DISTINCT typeof(created_at)) FROM human_task WHERE case_id = :c)"
            ),
            {"c": case_id},
        ).one()
    assert stored == ("integerinteger", "integer", "integer")
    with store.read() as s:
        case = s.get(Case, case_id)
        assert case.opened_at == START and case.opened_at.tzinfo is UTC


@SQLITE_ONLY
def test_a_time_written_as_text_still_reads_and_the_chain_still_holds(desk, store):
    desk.start()
    with store.read() as s:
        victim = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    tamper(store, "UPDATE audit_event SET at = :at WHERE id = :id", at="2026-03-02 14:00:00.000000", id=victim.id)
    with store.read() as s:
        assert s.get(AuditEvent, victim.id).at == victim.at == START
    assert verdict(store).intact


def _typeof_times(url: str) -> list[tuple]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            kind = "typeof({})" if store.is_sqlite else "'timestamp'"
            sql = " UNION ALL ".join(
                f"SELECT {kind.format(column)}, {column} FROM {table}"
                for table, column in (("audit_event", "at"), ("document", "created_at"))
            )
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        store.dispose()


def test_migration_0030_turns_sqlite_text_times_into_integers_and_its_downgrade_back(bare_url):
    migrate_to(bare_url, "0029")
    store = Store(bare_url)
    at = START + timedelta(microseconds=250)
    digest = audit_chain.digest(audit_chain.GENESIS, at, "ana", "tarea_completada", None, None, {})
    naive = at.replace(tzinfo=None)
    with store.engine.begin() as conn:
        stamp = naive.isoformat(" ", timespec="microseconds") if store.is_sqlite else naive  # as 0029 stored it
        conn.execute(
            text(
                "INSERT INTO audit_event (at, actor, kind, detail, prev_hash, hash) "
                "VALUES (:at, 'ana', 'tarea_completada', :d, :p, :h)"
            ),
            {"at": stamp, "d": DETAIL.process_bind_param({}, None), "p": GENESIS, "h": bytes.fromhex(digest)},
        )
        conn.execute(
            text(
                "INSERT INTO document (kind, filename, content_type, created_at, created_by) "
                "VALUES ('hoja_de_tramite', 'hoja.pdf', 'application/pdf', :at, 'ana')"
            ),
            {"at": START.replace(tzinfo=None)},  # the driver's own text, without microseconds
        )
        conn.execute(
            text(
                "INSERT INTO document (kind, filename, content_type, created_at, created_by) "
                "VALUES ('hoja_de_tramite', 'otra.pdf', 'application/pdf', :at, 'ana')"
            ),
            {"at": "2026-03-02 14:00:00.5"},  # half a second, written short
        )
    before = _typeof_times(bare_url)
    store.dispose()

    store = Store(bare_url)
    store.migrate()
    with store.read() as s:
        assert s.scalars(select(AuditEvent.at)).one() == at
    after = _typeof_times(bare_url)
    if store.is_sqlite:
        assert before[0][0] == before[1][0] == "text"
        assert after == [
            ("integer", sqlite_instant(at)),
            ("integer", sqlite_instant(START)),
            ("integer", sqlite_instant(START + timedelta(milliseconds=500))),
        ]
        with store.engine.connect() as conn:  # the index on the time, dropped for the update, is back
            indexes = {
                r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE tbl_name = 'audit_event'"))
            }
        assert "ix_audit_event_at" in indexes
    else:
        assert after == before
    assert verdict(store).intact and verdict(store).head == digest
    assert_append_only(store)
    store.dispose()

    migrate_to(bare_url, "0029", down=True)
    restored = _typeof_times(bare_url)
    if bare_url.startswith("sqlite"):
        assert restored == [
            ("text", stamp),
            ("text", "2026-03-02 14:00:00.000000"),
            ("text", "2026-03-02 14:00:00.500000"),
        ]
    else:
        assert restored == before


@pytest.mark.parametrize("bare_url", ["sqlite"], indirect=True)
def test_migration_0030_refuses_a_time_it_cannot_read_and_changes_nothing(bare_url):
    migrate_to(bare_url, "0029")
    store = Store(bare_url)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO document (kind, filename, content_type, created_at, created_by) "
                "VALUES ('hoja_de_tramite', 'hoja.pdf', 'application/pdf', 'ayer', 'ana')"
            )
        )
    with pytest.raises(RuntimeError, match="document.created_at: «ayer» no es una fecha"):
        store.migrate()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0029"
        indexes = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    assert {"ix_audit_event_at", "ix_cases_opened_at"} <= indexes
    store.dispose()
