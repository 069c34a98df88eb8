"""Statements run on the driver's cursor read and write exactly what SQLAlchemy's execution does.

engine/db/statements.py keeps SQLAlchemy's SQL and type conversions and only skips its execution
layer; here the same rows are written and read both ways, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import bindparam, func, insert, select

from engine.audit import trail as audit
from engine.db import statements
from engine.db.models import AuditEvent, Document
from engine.db.statements import Statement

_EVENTS = AuditEvent.__table__
_DOCUMENTS = Document.__table__
AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))  # Panamá: kept as UTC

_INSERT_EVENT = Statement(insert(_EVENTS).returning(_EVENTS.c.id))
_EVENTS_OF = Statement(select(_EVENTS).where(_EVENTS.c.kind == bindparam("kind")).order_by(_EVENTS.c.id))
_NEWEST = Statement(select(_EVENTS.c.actor).order_by(_EVENTS.c.id.desc()).limit(1))  # LIMIT: its own parameter
_RENAME = Statement(_DOCUMENTS.update().where(_DOCUMENTS.c.id == bindparam("document_id")))
_WRITTEN = ("at", "actor", "kind", "case_id", "task_id", "detail", "hash")
AFTER_THE_END = "after the transaction ended with its step's writes"  # what each refusal says


def event(actor: str, detail: dict) -> dict:
    return {
        "at": AT,
        "actor": actor,
        "kind": "prueba",
        "case_id": None,
        "task_id": None,
        "detail": detail,
        "hash": None,
    }


def test_rows_written_on_the_cursor_read_back_through_sqlalchemy_as_its_own(store):
    with store.unit_of_work() as s:
        first = _INSERT_EVENT.scalar(s, event("ana", {"datos": {"a": 1, "ñ": ["é"]}}), column_keys=_WRITTEN)
        _INSERT_EVENT.execute_many(s, [event("beto", {}), event("carla", {"x": None})], column_keys=_WRITTEN)
        s.execute(insert(_EVENTS).values(**event("dario", {"y": 2.5})))  # and one through SQLAlchemy
    with store.read() as s:
        by_sqlalchemy = [
            tuple(row) for row in s.execute(select(_EVENTS).where(_EVENTS.c.kind == "prueba").order_by(_EVENTS.c.id))
        ]
        ours = _EVENTS_OF.all(s, {"kind": "prueba"})
        newest = _NEWEST.scalar(s, {})
    assert [tuple(row) for row in ours] == by_sqlalchemy
    assert [row.actor for row in ours] == ["ana", "beto", "carla", "dario"] and ours[0].id == first
    assert ours[0].at == AT and ours[0].at.tzinfo == UTC  # aware UTC, as UTCDateTime gives
    assert ours[0].detail == {"datos": {"a": 1, "ñ": ["é"]}} and ours[3].detail == {"y": 2.5}
    assert newest == "dario"


def test_an_update_writes_only_the_columns_named(store):
    with store.unit_of_work() as s:
        document_id = s.execute(
            insert(_DOCUMENTS).values(
                kind="hoja_de_tramite",
                filename="a.pdf",
                content_type="application/pdf",
                snapshot={"n": 1},
                created_at=AT,
                created_by="ana",
            )
        ).inserted_primary_key[0]
        _RENAME.execute(
            s,
            {"document_id": document_id, "filename": "b.pdf", "snapshot": {"n": 2}},
            column_keys=("filename", "snapshot"),
        )
        _RENAME.execute(s, {"document_id": document_id, "created_by": "beto"}, column_keys=("created_by",))
    with store.read() as s:
        row = s.execute(select(_DOCUMENTS).where(_DOCUMENTS.c.id == document_id)).one()
    assert (row.filename, row.snapshot, row.created_by, row.kind, row.created_at) == (
        "b.pdf",
        {"n": 2},
        "beto",
        "hoja_de_tramite",
        AT,
    )


def test_a_read_refuses_to_run_without_a_value_for_each_of_its_parameters(store):
    """As SQLAlchemy refuses: left out, a person's value would read as NULL and narrow nothing by it."""
    with store.read() as s, pytest.raises(KeyError, match="'kind'"):
        _EVENTS_OF.all(s, {})
    with store.read() as s:
        assert _NEWEST.all(s, {}) == []  # a LIMIT has its own value


def test_they_run_inside_the_sessions_transaction_and_roll_back_with_it(store):
    class Undo(Exception):
        pass

    with pytest.raises(Undo), store.unit_of_work() as s:
        _INSERT_EVENT.execute(s, event("ana", {}), column_keys=_WRITTEN)
        assert [row.actor for row in _EVENTS_OF.all(s, {"kind": "prueba"})] == ["ana"]  # seen inside
        raise Undo
    with store.unit_of_work() as s:  # a new transaction takes a new connection, and works
        assert _EVENTS_OF.all(s, {"kind": "prueba"}) == []
        _INSERT_EVENT.execute(s, event("beto", {}), column_keys=_WRITTEN)
    with store.read() as s:
        assert [row.actor for row in _EVENTS_OF.all(s, {"kind": "prueba"})] == ["beto"]


def test_a_session_used_for_two_transactions_runs_each_on_its_own_connection(store):
    with store.read() as s:
        assert _NEWEST.scalar(s, {}) is None
        s.rollback()  # its connection goes back to the pool, where the writer takes it
        with store.unit_of_work() as writer:
            _INSERT_EVENT.execute(writer, event("ana", {}), column_keys=_WRITTEN)
            assert _NEWEST.scalar(s, {}) is None  # the reader's new transaction: not the writer's connection
            assert statements._driver_connection(s)[1] is s.connection().connection.driver_connection
    with store.read() as s:
        assert _NEWEST.scalar(s, {}) == "ana"


_INSERT_DOCUMENT = Statement(insert(_DOCUMENTS))
_DOCUMENT_COLUMNS = ("id", "kind", "filename", "content_type", "created_at", "created_by")


def document(document_id: int) -> dict:
    return {
        "id": document_id,
        "kind": "hoja_de_tramite",
        "filename": f"{document_id}.pdf",
        "content_type": "application/pdf",
        "created_at": AT,
        "created_by": "ana",
    }


def test_pipelined_writes_are_all_kept_and_a_refused_one_undoes_its_transaction(store):
    """``pipelined`` sends its writes together on PostgreSQL: they land as written one by one; a write
    the database refuses fails the block and the whole unit of work, on both databases."""
    with store.unit_of_work() as s, statements.pipelined(s):
        _INSERT_DOCUMENT.execute(s, document(9001), column_keys=_DOCUMENT_COLUMNS)
        _RENAME.execute(s, {"document_id": 9001, "filename": "renamed.pdf"}, column_keys=("filename",))
        _INSERT_DOCUMENT.execute(s, document(9002), column_keys=_DOCUMENT_COLUMNS)
    refused = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
    with pytest.raises(refused), store.unit_of_work() as s, statements.pipelined(s):
        _INSERT_DOCUMENT.execute(s, document(9003), column_keys=_DOCUMENT_COLUMNS)
        _INSERT_DOCUMENT.execute(s, document(9001), column_keys=_DOCUMENT_COLUMNS)  # its id is taken
        _INSERT_DOCUMENT.execute(s, document(9004), column_keys=_DOCUMENT_COLUMNS)
    with store.read() as s:
        kept = dict(s.execute(select(_DOCUMENTS.c.id, _DOCUMENTS.c.filename).where(_DOCUMENTS.c.id > 9000)).all())
    assert kept == {9001: "renamed.pdf", 9002: "9002.pdf"}


def test_together_gives_every_row_of_each_read_in_order(store):
    with store.unit_of_work() as s:
        for actor in ("ana", "beto", "carla"):
            _INSERT_EVENT.execute(s, event(actor, {}), column_keys=_WRITTEN)
        every, newest, none = statements.together(
            s, (_EVENTS_OF, {"kind": "prueba"}), (_NEWEST, {}), (_EVENTS_OF, {"kind": "ninguno"})
        )
    assert ([row.actor for row in every], [row.actor for row in newest], none) == (
        ["ana", "beto", "carla"],
        ["carla"],
        [],
    )


def test_committing_ends_the_transaction_with_its_block_and_a_refused_write_there_undoes_it_all(store):
    """``committing`` sends the block's writes with the COMMIT on PostgreSQL: what the ORM held is
    written first and kept with them; a write refused there leaves nothing of the unit of work."""
    with store.unit_of_work() as s:
        s.add(Document(**document(9101), snapshot={}))  # the ORM's: flushed before the block
        with statements.committing(s):
            _INSERT_DOCUMENT.execute(s, document(9102), column_keys=_DOCUMENT_COLUMNS)
        if not store.is_sqlite:  # ended with the block: the unit of work's commit sends nothing more
            assert (
                s.connection().connection.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            )
    refused = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
    with pytest.raises(refused), store.unit_of_work() as s:
        s.add(Document(**document(9103), snapshot={}))
        with statements.committing(s):
            _INSERT_DOCUMENT.execute(s, document(9104), column_keys=_DOCUMENT_COLUMNS)
            _INSERT_DOCUMENT.execute(s, document(9101), column_keys=_DOCUMENT_COLUMNS)  # its id is taken
    with store.read() as s:
        kept = set(s.scalars(select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.id > 9100)))
    assert kept == {9101, 9102}


def step_writes(s, document_id: int, last: bool = True) -> bool:
    """A step's writes as ``engine.bpm.runtime`` sends them: whether they ended the transaction."""
    with statements.pipelined(s):
        _INSERT_DOCUMENT.execute(s, document(document_id), column_keys=_DOCUMENT_COLUMNS)
        ended = statements.ends_here(s, last=last)
        if ended:
            statements.commit_here(s)
    return ended


def stored_documents(store) -> set[int]:
    with store.read() as s:
        return set(s.scalars(select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.id > 9300)))


def test_a_transaction_ends_with_a_steps_writes_only_when_allowed_on_postgresql_and_nothing_is_left(store):
    """The step's writes take the COMMIT only when the transaction allows it (``may_end_with_the_step``),
    they are its ``last``, the ORM holds nothing that would be written at the session's commit and no
    savepoint is open; otherwise, and always on SQLite, the session commits as usual. Everything
    lands either way."""
    ended = {}
    for name, allowed, last, orm_change, nested in (
        ("allowed", True, True, False, False),
        ("not allowed", False, True, False, False),
        ("not last", True, False, False, False),
        ("orm holds a change", True, True, True, False),
        ("inside a savepoint", True, True, False, True),
    ):
        document_id = 9301 + len(ended) * 2
        with store.unit_of_work() as s:
            if orm_change:
                s.add(Document(**document(document_id + 1), snapshot={}))
            if allowed:
                statements.may_end_with_the_step(s)
            with statements.savepoint(s) if nested else contextlib.nullcontext():
                ended[name] = step_writes(s, document_id, last=last)
            assert not statements.ends_here(s, last=True), "the allowance is spent by the first ask"
    assert ended == {
        "allowed": not store.is_sqlite,
        "not allowed": False,
        "not last": False,
        "orm holds a change": False,
        "inside a savepoint": False,
    }
    assert stored_documents(store) == {9301, 9303, 9305, 9307, 9308, 9309}


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_refused_write_before_the_steps_commit_leaves_nothing(store):
    """The COMMIT queued after a write the database refuses is never run: the unit of work rolls back."""
    with pytest.raises(psycopg.errors.UniqueViolation), store.unit_of_work() as s:
        statements.may_end_with_the_step(s)
        with statements.pipelined(s):
            _INSERT_DOCUMENT.execute(s, document(9311), column_keys=_DOCUMENT_COLUMNS)
            _INSERT_DOCUMENT.execute(s, document(9311), column_keys=_DOCUMENT_COLUMNS)  # its id is taken
            assert statements.ends_here(s, last=True)
            statements.commit_here(s)
    assert stored_documents(store) == set()


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize("after", ["statement", "statement through sqlalchemy", "orm change", "audit event"])
def test_nothing_is_committed_after_a_transaction_ended_with_its_steps_writes(store, after):
    """Work done after the step's COMMIT would land apart from it: a statement on the cursor is refused
    at once, anything else at the session's commit, and it is rolled back; the step stays committed."""
    with pytest.raises(statements.AfterTheEnd, match=AFTER_THE_END), store.unit_of_work() as s:
        statements.may_end_with_the_step(s)
        assert step_writes(s, 9321)
        if after == "statement":
            _INSERT_DOCUMENT.execute(s, document(9322), column_keys=_DOCUMENT_COLUMNS)
        elif after == "statement through sqlalchemy":
            s.execute(insert(_DOCUMENTS).values(**document(9322), snapshot=None))
        elif after == "orm change":
            s.add(Document(**document(9322), snapshot={}))
        else:
            audit.record(s, AT, "ana", "prueba")
    assert stored_documents(store) == {9321}
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(_EVENTS)) == 0


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_transaction_whose_first_statements_go_together_holds_them_from_its_begin(store):
    """A transaction whose first statements go in a pipeline, its BEGIN with them
    (``store._BeginInFirstRoundTrip``; the round trips are counted in test_round_trips.py), holds
    them: they see one transaction, which takes them back whole when it rolls back."""
    current = Statement(select(func.txid_current()))
    with pytest.raises(RuntimeError, match="deshecho"), store.unit_of_work() as s:
        [first], [second] = statements.together(s, (current, {}), (current, {}))  # each its own if autocommitted
        with statements.pipelined(s):
            _INSERT_DOCUMENT.execute(s, document(9201), column_keys=_DOCUMENT_COLUMNS)
        [later] = current.all(s, {})
        assert first == second == later
        raise RuntimeError("deshecho")
    with store.read() as s:
        assert s.scalar(select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.id == 9201)) is None
