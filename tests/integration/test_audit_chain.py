"""Each audit event carries a hash chained to the previous one; an edit made directly in the
database (past the append-only triggers, as an attacker with database access would) is caught."""

import json
import threading

import pytest
from alembic import command
from sqlalchemy import select, text

from engine import cli
from engine.audit import chain as audit_chain
from engine.audit import log as audit_log
from engine.audit import trail as audit
from engine.cases import attachments
from engine.db.models import Attachment, AuditEvent, sqlite_instant
from engine.db.packing import Packed
from engine.db.store import Store, alembic_config
from tests.conftest import START
from tests.fixtures.row_held import while_row_held
from tests.integration.test_migrations import migrate_to


def events(store):
    with store.read() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def verdict(store):
    with store.read() as s:
        return audit_chain.verify(s)


def chained(event, previous: str) -> bool:
    """Whether ``event``'s hash covers its content and ``previous``, the hash it is chained to."""
    content = (event.at, event.actor, event.kind, event.case_id, event.task_id, event.detail)
    return event.hash == audit_chain.digest(previous, *content)


def assert_append_only(store) -> None:
    """The database itself refuses to change or delete an audit event."""
    for statement in ("UPDATE audit_event SET actor = 'otro'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def tamper(store, statement: str, **params):
    """Run a statement on audit_event with the append-only triggers out of the way."""
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # triggers off, this transaction only
        conn.execute(text(statement), params)


def test_every_event_is_hashed_and_linked_to_the_one_before(desk, store):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    chain = events(store)
    assert len(chain) > 5
    assert chained(chain[0], audit_chain.GENESIS)
    for previous, event in zip(chain, chain[1:], strict=False):
        assert chained(event, previous.hash)
    assert len({e.hash for e in chain}) == len(chain)
    result = verdict(store)
    assert result.intact and result.checked == len(chain) and result.head == chain[-1].hash


def test_an_edited_event_is_named_as_the_first_broken_link(desk, store, capsys):
    desk.to_follow_up(desk.start())
    victim = events(store)[4]
    tamper(store, "UPDATE audit_event SET actor = 'intruso' WHERE id = :id", id=victim.id)
    result = verdict(store)
    assert not result.intact
    assert result.broken_id == victim.id and result.checked == 4
    assert "modificado" in result.reason
    assert cli.main(["--database-url", store.url, "audit", "verify"]) == 1
    assert f"evento #{victim.id}" in capsys.readouterr().err


def test_a_deleted_event_breaks_the_link_of_the_next_one(desk, store):
    desk.start()
    chain = events(store)
    tamper(store, "DELETE FROM audit_event WHERE id = :id", id=chain[1].id)
    result = verdict(store)
    assert result.broken_id == chain[2].id and f"falta el evento #{chain[1].id}" in result.reason
    tamper(store, "DELETE FROM audit_event WHERE id = :id", id=chain[2].id)
    result = verdict(store)
    assert result.broken_id == chain[3].id and f"faltan los eventos #{chain[1].id} a #{chain[2].id}" in result.reason


def test_an_event_inserted_outside_the_audit_module_has_no_hash_and_is_caught(desk, store):
    desk.start()
    with store.unit_of_work() as s:
        s.add(AuditEvent(at=desk.clock.now(), actor="intruso", kind="caso_creado", detail={}))
    result = verdict(store)
    assert not result.intact and "no tiene huella" in result.reason


def test_the_verify_command_reports_an_intact_chain(desk, store, capsys):
    desk.start()
    assert cli.main(["--database-url", store.url, "audit", "verify"]) == 0
    assert "Cadena íntegra" in capsys.readouterr().out


def test_concurrent_writers_never_fork_the_chain(desk, store):
    """Tasks of different cases completed at once (no row in common): appends are serialized all the same."""
    cases = [desk.start(asunto=f"Caso {n}") for n in range(12)]
    errors = []
    barrier = threading.Barrier(len(cases))

    def work(case_id):
        try:
            barrier.wait(10)
            desk.do(case_id, "Task_plantilla_queja_reclamo")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    chain = events(store)
    assert all(chained(e, previous.hash) for previous, e in zip(chain, chain[1:], strict=False))  # one line
    assert verdict(store).intact


class Undone(Exception):
    """Raised inside a savepoint to roll it back."""


def kinds(store) -> list[str]:
    return [e.kind for e in events(store)]


@pytest.mark.parametrize("read_inside", [False, True], ids=["waiting", "written-inside"])
def test_events_of_a_savepoint_rolled_back_vanish_and_the_ones_before_it_stay(store, read_inside):
    """With ``read_inside``, the events are written to the database inside the savepoint (as before a read
    of the trail), so its rollback takes the earlier one with it: that one must be written again."""
    with store.unit_of_work() as s:
        audit.record(s, START, "ana", "antes")
        with pytest.raises(Undone), s.begin_nested():
            audit.record(s, START, "ana", "dentro")
            if read_inside:  # as audit.case_history does before reading
                audit_chain.write_pending(s)
                assert list(s.scalars(select(AuditEvent.kind).order_by(AuditEvent.id))) == ["antes", "dentro"]
            raise Undone
        audit.record(s, START, "ana", "despues")

    assert kinds(store) == ["antes", "despues"]
    assert verdict(store).intact


def test_a_savepoint_released_keeps_its_events_in_order_waiting_for_the_commit(store):
    """Written at the release, they took the chain's lock there: a timer sweep held it from its batch's
    first case on, while the other cases locked their rows."""
    with store.unit_of_work() as s:
        audit.record(s, START, "ana", "antes")
        with s.begin_nested():
            audit.record(s, START, "ana", "dentro")
        assert [event["kind"] for event in audit_chain.pending(s)] == ["antes", "dentro"]
        audit.record(s, START, "ana", "despues")
    assert kinds(store) == ["antes", "dentro", "despues"]
    assert verdict(store).intact


def test_a_transaction_rolled_back_leaves_no_event_and_the_next_one_is_chained(store):
    with pytest.raises(Undone), store.unit_of_work() as s:
        audit.record(s, START, "ana", "deshecho")
        raise Undone
    with store.unit_of_work() as s:
        audit.record(s, START, "ana", "hecho")
    assert kinds(store) == ["hecho"]
    assert chained(events(store)[0], audit_chain.GENESIS)


# PostgreSQL only: on SQLite the second writer waits for the database's single write lock anyway.
@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_on_postgresql_a_writer_holds_the_chain_only_while_it_commits(store):
    """A transaction that has recorded an event but not committed does not hold up another writer."""
    recorded, may_commit = threading.Event(), threading.Event()

    def slow_writer():
        with store.unit_of_work() as s:
            audit.record(s, START, "lenta", "primero_registrado")
            recorded.set()
            may_commit.wait(30)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert recorded.wait(30)
        finished = threading.Event()

        def quick_writer():
            with store.unit_of_work() as s:
                audit.record(s, START, "rapida", "segundo_registrado")
            finished.set()

        threading.Thread(target=quick_writer, daemon=True).start()
        assert finished.wait(10), "the second writer waited for the first one's commit"
    finally:
        may_commit.set()
        thread.join(30)
    assert kinds(store) == ["segundo_registrado", "primero_registrado"]  # chained in commit order
    assert verdict(store).intact


def test_migration_0007_chains_the_events_written_before_it(bare_url):
    store = Store(bare_url)
    with store.engine.begin() as conn:
        cfg = alembic_config(store.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        for n in range(3):
            conn.execute(
                text("INSERT INTO audit_event (at, actor, kind, detail) VALUES (:at, 'ana', 'prueba', :d)"),
                {"at": f"2026-03-0{n + 1} 14:00:00", "d": json.dumps({"n": n, "texto": "acción"}, ensure_ascii=False)},
            )
    store.migrate()
    chain = events(store)
    assert [e.detail["n"] for e in chain] == [0, 1, 2] and all(e.hash for e in chain)
    assert verdict(store).intact
    assert_append_only(store)
    store.dispose()


def stored_hashes(url: str, columns: str = "prev_hash, hash") -> list[tuple]:
    """Each event's ``columns`` as the database holds them, past the engine's types (before migration
    0033, an event stored the hash it is chained to, ``prev_hash``, too)."""
    store = Store(url)
    with store.engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM audit_event ORDER BY id"))]
    store.dispose()
    return found


def test_an_events_hashes_are_stored_as_their_32_bytes_and_read_as_hexadecimal(desk, store):
    desk.start()
    chain = events(store)
    stored = stored_hashes(store.url, "hash")
    assert len(stored) == len(chain) > 1
    for event, (hash_,) in zip(chain, stored, strict=True):
        assert isinstance(hash_, bytes | memoryview) and len(bytes(hash_)) == 32
        assert bytes(hash_).hex() == event.hash
    assert len(event.hash) == 64 and verdict(store).intact


def test_migration_0026_stores_every_hash_as_bytes_keeps_the_chain_and_its_downgrade_restores_the_text(bare_url):
    migrate_to(bare_url, "0025")
    store = Store(bare_url)
    with store.engine.begin() as conn:
        previous = audit_chain.GENESIS
        for n in range(3):
            at, detail = START.replace(day=n + 1), {"n": n, "texto": "acción"}
            digest = audit_chain.digest(previous, at, "ana", "prueba", None, None, detail)
            conn.execute(
                text(
                    "INSERT INTO audit_event (at, actor, kind, detail, prev_hash, hash) "
                    "VALUES (:at, 'ana', 'prueba', :d, :p, :h)"
                ),
                {"at": at.replace(tzinfo=None), "d": json.dumps(detail), "p": previous, "h": digest},
            )
            previous = digest
    as_text = stored_hashes(bare_url)
    store.migrate()
    assert [(bytes(h).hex(),) for (h,) in stored_hashes(bare_url, "hash")] == [(h,) for _p, h in as_text]
    assert [e.hash for e in events(store)] == [h for _p, h in as_text]
    assert verdict(store).intact and verdict(store).head == previous
    assert_append_only(store)
    store.dispose()
    migrate_to(bare_url, "0025", down=True)
    assert stored_hashes(bare_url) == as_text


def test_a_hash_an_intruder_writes_as_text_is_named_not_a_crash(desk, store):
    desk.start()
    victim = events(store)[2]
    tamper(store, "UPDATE audit_event SET hash = :h WHERE id = :id", h="f" * 64, id=victim.id)
    result = verdict(store)
    assert result.broken_id == victim.id and "modificado" in result.reason


def _task_index(url: str) -> tuple[str, str]:
    """The definition of the audit trail's index by task, and the plan of a lookup of a completion by its task."""
    store = Store(url)
    lookup = "SELECT id FROM audit_event WHERE task_id = 'una-tarea' AND kind = 'tarea_completada'"
    try:
        with store.engine.connect() as conn:
            if store.is_sqlite:
                sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_audit_event_task_id'")
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookup}").fetchall()
                return sql.scalar(), " ".join(str(row[-1]) for row in plan)
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_audit_event_task_id' "
                "AND schemaname = current_schema()"
            ).scalar()
            conn.exec_driver_sql("SET enable_seqscan = off")  # a small table: its scan would cost least
            plan = conn.exec_driver_sql(f"EXPLAIN {lookup}").fetchall()
            return definition, " ".join(row[0] for row in plan)
    finally:
        store.dispose()


def test_the_index_by_task_keeps_only_the_events_of_a_task_and_finds_a_completion(bare_url):
    migrate_to(bare_url, "0027")
    whole, _plan = _task_index(bare_url)
    migrate_to(bare_url, "0028")
    partial, plan = _task_index(bare_url)
    assert "IS NOT NULL" not in whole and "task_id IS NOT NULL" in partial
    assert "ix_audit_event_task_id" in plan
    migrate_to(bare_url, "0027", down=True)
    assert _task_index(bare_url)[0] == whole


def test_migration_0033_leaves_the_previous_hash_to_the_event_before_and_its_downgrade_restores_it(bare_url):
    migrate_to(bare_url, "0032")
    store = Store(bare_url)
    detail = Packed("audit_detail").process_bind_param({}, None)
    at = sqlite_instant(START) if store.is_sqlite else START.replace(tzinfo=None)
    insert = text(
        "INSERT INTO audit_event (at, actor, kind, detail, prev_hash, hash) VALUES (:at, 'ana', 'prueba', :d, :p, :h)"
    )
    previous, written = audit_chain.GENESIS, []
    with store.engine.begin() as conn:
        for _n in range(3):
            digest = audit_chain.digest(previous, START, "ana", "prueba", None, None, {})
            conn.execute(insert, {"at": at, "d": detail, "p": bytes.fromhex(previous), "h": bytes.fromhex(digest)})
            written.append((bytes.fromhex(previous), bytes.fromhex(digest)))
            previous = digest
        conn.execute(insert, {"at": at, "d": detail, "p": None, "h": None})  # one written past the chain
    written.append((None, None))
    store.dispose()

    store = Store(bare_url)
    store.migrate()
    assert [bytes(h) for (h,) in stored_hashes(bare_url, "hash") if h is not None] == [h for _p, h in written[:3]]
    result = verdict(store)
    assert (result.checked, result.head, result.broken_id) == (3, previous, events(store)[3].id)
    with store.read() as s:  # the export shows the hash each hashed event is chained to
        shown = [row.previous_hash for row in audit_log.export(s, audit_log.Filters())]
    assert shown == [audit_chain.GENESIS, *(h.hex() for _p, h in written[:2]), None]
    assert_append_only(store)
    store.dispose()

    migrate_to(bare_url, "0032", down=True)
    assert [(p and bytes(p), h and bytes(h)) for p, h in stored_hashes(bare_url)] == written


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_start_that_attaches_files_takes_the_chain_after_them(desk, store):
    """A start whose form carries files attaches them after its step, whose writes therefore do not end
    the transaction (``statements.may_end_with_the_step``): it waits for a file someone holds without
    holding the chain, which every writer needs."""
    with store.unit_of_work() as s:
        upload = attachments.store(s, b"Foto del bache.", "bache.txt", "operador", START)
    waited = while_row_held(store, "attachment", upload.id, lambda: desk.start(adjuntos=[upload.id]))
    assert waited.failures == [] and waited.held_advisory is False
    with store.read() as s:
        assert s.get(Attachment, upload.id).case_id is not None


def test_events_written_together_are_each_chained_to_the_one_before(store):
    """On PostgreSQL the INSERT makes each hash (``_INSERT_CHAINED``), on SQLite Python does; either way
    it is the hash ``digest`` gives, over the text's UTF-8, and the events of one transaction link
    to one another in the order recorded."""
    with store.unit_of_work() as s:
        audit.record(s, START, "ana", "caso_creado", detail={"datos": {"descripción": "Señal caída, ¿quién?"}})
    with store.unit_of_work() as s:
        for kind, detail in (("tarea_completada", {"nombre": "Acuse de recibo", "n": 1.5}), ("nota", {})):
            audit.record(s, START, "josé.núñez", kind, detail=detail)
        audit_chain.write_pending(s)  # as a read of the trail inside the transaction does
        audit.record(s, START, "ana", "paso_automatico", detail={"€": None})
    chain = events(store)
    assert [e.kind for e in chain] == ["caso_creado", "tarea_completada", "nota", "paso_automatico"]
    assert chained(chain[0], audit_chain.GENESIS)
    for previous, event in zip(chain, chain[1:], strict=False):
        assert chained(event, previous.hash)
    assert verdict(store).intact
