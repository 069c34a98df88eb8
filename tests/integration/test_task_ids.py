"""The audit events' task ids stored as a UUID's 16 bytes (``TaskId``, migration 0032)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from engine.audit import chain as audit_chain
from engine.audit import trail
from engine.db import event_kinds
from engine.db.models import AuditEvent, TaskId, sqlite_instant
from engine.db.packing import Packed
from engine.db.store import Store
from tests.conftest import START
from tests.integration.test_audit_chain import assert_append_only, verdict
from tests.integration.test_migrations import migrate_to

TASK = str(uuid.UUID(int=0x1234_5678_9ABC_4DEF_8123_456789ABCDEF))


def test_a_task_id_is_kept_as_16_bytes_and_another_text_as_its_own():
    task_id = TaskId()
    assert task_id.process_bind_param(TASK, None) == uuid.UUID(TASK).bytes
    assert task_id.process_result_value(uuid.UUID(TASK).bytes, None) == TASK
    # texts the chain hashes as written: not a UUID's own text, or 16 bytes long
    for other in ("una-tarea", "no es un «uuid»", "", TASK.upper(), "{" + TASK + "}", TASK.replace("-", ""), "x" * 16):
        assert task_id.process_result_value(task_id.process_bind_param(other, None), None) == other
    assert task_id.process_result_value(b"\xff\xfe\x80", None) == "\ufffd\ufffd"  # bytes written by hand


def test_the_engine_stores_the_id_of_a_completed_task_in_16_bytes_and_finds_its_completion(desk, store):
    case_id = desk.start()
    first = desk.tasks(case_id)[0]
    task = first.id
    desk.do(case_id, first.bpmn_id)
    with store.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT task_id FROM audit_event WHERE kind = :k AND case_id = :c"),
            {"k": event_kinds.stored("tarea_completada"), "c": case_id},
        ).scalar()
    assert bytes(stored) == uuid.UUID(task).bytes
    with store.read() as s:
        assert trail.completion_of(s, task).task_id == task
        assert trail.completion_of(s, "no-es-una-tarea") is None  # a URL's text: nothing found, no failure
    assert verdict(store).intact


def _stored_ids(url: str) -> list:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            found = conn.execute(text("SELECT task_id FROM audit_event ORDER BY id")).scalars()
            return [value if value is None or isinstance(value, str) else bytes(value) for value in found]
    finally:
        store.dispose()


def test_migration_0032_turns_task_ids_into_bytes_keeps_the_chain_and_its_downgrade_restores_them(bare_url):
    migrate_to(bare_url, "0031")
    store = Store(bare_url)
    detail = Packed("audit_detail").process_bind_param({}, None)
    head = audit_chain.GENESIS
    with store.engine.begin() as conn:
        for task_id in (TASK, None, "una-tarea", TASK.upper()):
            digest = audit_chain.digest(head, START, "ana", "tarea_completada", None, task_id, {})
            conn.execute(
                text(
                    "INSERT INTO audit_event (at, actor, kind, task_id, detail, prev_hash, hash) "
                    "VALUES (:at, 'ana', 'tarea_completada', :t, :d, :p, :h)"
                ),
                {
                    "at": sqlite_instant(START) if store.is_sqlite else START.replace(tzinfo=None),
                    "t": task_id,
                    "d": detail,
                    "p": bytes.fromhex(head),
                    "h": bytes.fromhex(digest),
                },
            )
            head = digest
    store.dispose()

    store = Store(bare_url)
    store.migrate()
    assert _stored_ids(bare_url) == [uuid.UUID(TASK).bytes, None, b"\xffuna-tarea", b"\xff" + TASK.upper().encode()]
    with store.read() as s:
        assert s.scalars(select(AuditEvent.task_id).order_by(AuditEvent.id)).all() == [
            TASK,
            None,
            "una-tarea",
            TASK.upper(),
        ]
        assert trail.completion_of(s, TASK) is not None
    result = verdict(store)
    assert result.intact and result.head == head
    assert_append_only(store)
    store.dispose()

    migrate_to(bare_url, "0031", down=True)
    assert _stored_ids(bare_url) == [TASK, None, "una-tarea", TASK.upper()]
