"""The audit events' kinds stored as one byte (``engine.db.event_kinds``, ``EventKind``, migration 0034)."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect, select, text

from engine.audit import chain as audit_chain
from engine.audit import log as audit_log
from engine.db import event_kinds
from engine.db.models import StepTime, sqlite_instant
from engine.db.packing import Packed
from engine.db.store import Store
from tests.conftest import START
from tests.integration.test_audit_chain import assert_append_only, events, verdict
from tests.integration.test_migrations import migrate_to

ROOT = Path(__file__).resolve().parents[2]


def test_numbered_kinds_take_one_byte_and_others_their_text_and_both_read_back():
    numbers = list(event_kinds.NUMBERS.values())
    assert len(set(numbers)) == len(numbers) and all(0 < n < event_kinds.UNNUMBERED for n in numbers)
    for kind in event_kinds.NUMBERS:
        assert len(event_kinds.stored(kind)) == 1 and event_kinds.read(event_kinds.stored(kind)) == kind
    for other in ("tipo_nuevo", "", "ñandú", "x"):
        assert event_kinds.read(event_kinds.stored(other)) == other
    assert event_kinds.read(bytes((200,))) == "tipo_200"  # a number a later release gave: named, not failing


def _recorded_kinds() -> set[str]:
    """Every kind the engine and the web pass to ``audit.record`` as a literal (either branch of a choice too)."""
    found: set[str] = set()
    for path in [*(ROOT / "engine").rglob("*.py"), *(ROOT / "web").rglob("*.py")]:
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "record"):
                continue
            given = [kw.value for kw in node.keywords if kw.arg == "kind"] or node.args[3:4]
            for value in given:
                for part in ast.walk(value):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found.add(part.value)
    return found


def test_every_kind_the_engine_records_is_numbered():
    recorded = _recorded_kinds()
    assert {"caso_creado", "tarea_completada", "usuario_activado", "incidencia_registrada"} <= recorded
    assert recorded - set(event_kinds.NUMBERS) == set()


def test_the_engine_stores_one_byte_a_kind_and_filters_and_lists_kinds_as_text(desk, store):
    case_id = desk.start()
    desk.do(case_id, desk.ready(case_id)[0])
    with store.engine.connect() as conn:
        stored = [bytes(k) for k in conn.execute(text("SELECT kind FROM audit_event")).scalars()]
    assert stored and {len(k) for k in stored} == {1}
    with store.read() as s:
        rows, _more = audit_log.page(s, audit_log.Filters(tipo="tarea_completada"))
        assert [r.event.kind for r in rows] == ["tarea_completada"]
        assert {"caso_creado", "tarea_completada"} <= set(audit_log.kinds(s))
        assert audit_log.page(s, audit_log.Filters(tipo="no_existe"))[0] == []
    assert verdict(store).intact


def test_migration_0034_stores_kinds_as_bytes_keeps_the_chain_and_its_downgrade_restores_the_text(bare_url):
    migrate_to(bare_url, "0033")
    store = Store(bare_url)
    detail = Packed("audit_detail").process_bind_param({}, None)
    at = sqlite_instant(START) if store.is_sqlite else START.replace(tzinfo=None)
    head, kinds = audit_chain.GENESIS, ["caso_creado", "tipo_nuevo", "tarea_completada"]
    with store.engine.begin() as conn:
        for kind in kinds:
            head = audit_chain.digest(head, START, "ana", kind, None, None, {})
            conn.execute(
                text("INSERT INTO audit_event (at, actor, kind, detail, hash) VALUES (:at, 'ana', :k, :d, :h)"),
                {"at": at, "k": kind, "d": detail, "h": bytes.fromhex(head)},
            )
    store.dispose()

    store = Store(bare_url)
    store.migrate()
    with store.engine.connect() as conn:
        stored = [bytes(k) for k in conn.execute(text("SELECT kind FROM audit_event ORDER BY id")).scalars()]
    assert stored == [b"\x01", b"\xfftipo_nuevo", b"\x02"]
    assert [e.kind for e in events(store)] == kinds
    result = verdict(store)
    assert result.intact and result.head == head
    indexes = {i["name"]: i["column_names"] for i in inspect(store.engine).get_indexes("audit_event")}
    assert indexes["ix_audit_event_kind"] == ["kind"] and indexes["ix_audit_event_case_kind"] == ["case_id", "kind"]
    assert_append_only(store)
    store.dispose()

    migrate_to(bare_url, "0033", down=True)
    store = Store(bare_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT kind FROM audit_event ORDER BY id")).scalars().all() == kinds
    store.dispose()


def step_times(store) -> list[tuple]:
    with store.read() as s:
        rows = s.execute(select(StepTime).order_by(StepTime.process_id, StepTime.bpmn_id, StepTime.month))
        return [(r.process_id, r.bpmn_id, r.month, r.bucket, r.completions) for (r,) in rows]


def test_a_database_from_before_0018_gets_its_step_times_from_the_trail_once_kinds_are_bytes(desk, store):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    counted = step_times(store)
    assert sum(row[-1] for row in counted) == 4
    migrate_to(store.url, "0017", down=True)  # step_time goes; the kinds are text again
    store.migrate()
    assert step_times(store) == counted
