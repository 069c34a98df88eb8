"""The case row on a step's path: read with its task, written column by column, never flushed by the ORM; its
workflow state apart."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, update

from engine import calendar as business_calendar
from engine.bpm.state.codec import PLAIN
from engine.cases import incidents, queries
from engine.db import case_rows
from engine.db.models import Case, CaseState, CatalogItem, ProcedureVersion
from engine.forms import catalogs


def test_a_task_is_read_with_its_case_and_the_workflow_state_apart(desk, atiende):
    case_id = desk.start()
    task = desk.task(case_id, desk.ready(case_id)[0])
    with atiende.store.unit_of_work() as s:
        found = case_rows.task_with_case(s, task.id, locked_again=True)
        assert case_rows.task_with_case(s, "no-existe", locked_again=False) is None
        row, case, also = found
        assert also == []
        assert (row.id, row.case_id, row.form) == (task.id, case_id, task.form)
        assert inspect(case).detached and not inspect(case).unloaded & {column.key for column in Case.__table__.c}
        assert case.ticket.startswith("AC-") and case.status == "abierto"
        stored = s.scalar(select(CaseState.workflow).where(CaseState.case_id == case_id))
        assert case_rows.stored_workflow(s, case_id) == stored and b'"tasks"' in PLAIN.unpack(stored)


def test_a_cases_first_step_creates_its_state_and_every_later_step_rewrites_it(desk, atiende):
    case_id = desk.start()
    first = desk.state(case_id)
    assert desk.case(case_id).revision == 1 and b'"tasks"' in PLAIN.unpack(first)
    desk.do(case_id, desk.ready(case_id)[0])
    with atiende.store.read() as s:
        rows = s.scalar(select(func.count()).select_from(CaseState).where(CaseState.case_id == case_id))
    assert rows == 1 and desk.case(case_id).revision == 2 and desk.state(case_id) != first


def test_reads_sent_with_the_task_give_their_rows_after_it(desk, atiende):
    case_id = desk.start()
    task = desk.task(case_id, desk.ready(case_id)[0])
    with atiende.store.unit_of_work() as s:
        for locked_again in (True, False):
            _row, _case, (calendar_rows, incident_rows) = case_rows.task_with_case(
                s, task.id, locked_again, also=(business_calendar.VERSION_READ, incidents.of_task_read(task.id))
            )
            assert [row.version for row in calendar_rows] == [business_calendar.version(s)] and incident_rows == []


def test_save_writes_only_what_changed_and_leaves_a_column_someone_else_wrote(desk, atiende):
    case_id = desk.start()
    task = desk.task(case_id, desk.ready(case_id)[0])
    with atiende.store.unit_of_work() as s:
        _row, case, _also = case_rows.task_with_case(s, task.id, locked_again=False)
    with atiende.store.unit_of_work() as s:  # another writer, after our read
        s.execute(update(Case).where(Case.id == case_id).values(citizen_phone="6000-0000"))
    with atiende.store.unit_of_work() as s:
        case.status = "en seguimiento"
        case_rows.save(s, case)
        assert inspect(case).unmodified >= {"status"}  # written: nothing left to write
    stored = desk.case(case_id)
    assert stored.status == "en seguimiento" and stored.citizen_phone == "6000-0000"


def test_a_case_the_session_loaded_is_left_to_the_session(desk, atiende):
    case_id = desk.start()
    with atiende.store.unit_of_work() as s:
        case = s.get(Case, case_id)
        case.subject = "Cambiado por el ORM"
        case_rows.save(s, case)
        assert "subject" not in inspect(case).unmodified  # still the flush's to write, once
    assert desk.case(case_id).subject == "Cambiado por el ORM"


def test_a_new_case_is_inserted_with_every_column_loaded(atiende, frozen_clock):
    now = frozen_clock.now()
    with atiende.store.unit_of_work() as s:
        version = s.scalar(select(ProcedureVersion.id).limit(1))
        case = Case(
            ticket="AC-2026-999999",
            procedure_version_id=version,
            status="abierto",
            opened_at=now,
            created_by="operador",
            data={},
            revision=0,
        )
        case_rows.insert_case(s, case)
        assert case.id is not None and inspect(case).detached
        assert case.due_at is None and case.closed_at is None
        assert not inspect(case).unloaded & {column.key for column in Case.__table__.c}
        case.subject = "Asunto"
        case_rows.save(s, case)
    with atiende.store.read() as s:
        assert s.get(Case, case.id).subject == "Asunto"


def test_open_tasks_are_the_case_rows_oldest_first(desk, atiende):
    case_id = desk.start()
    with atiende.store.read() as s:
        rows = queries.open_tasks(s, case_id)
    assert [r.id for r in rows] == [t.id for t in desk.tasks(case_id)] and rows


def test_the_catalogue_cache_gives_active_codes_every_label_and_rereads_when_invalidated(atiende):
    cache = catalogs.CatalogCache(ttl=3600)
    with atiende.store.unit_of_work() as s:
        item = s.scalar(select(CatalogItem).where(CatalogItem.catalog == "direcciones").limit(1))
        item.active, code, label = False, item.code, item.label
    with atiende.store.read() as s:
        assert code not in cache.codes(s, {"direcciones"})["direcciones"]
        assert cache.labels(s, {"direcciones"})["direcciones"][code] == label  # old records still name it
    with atiende.store.unit_of_work() as s:
        s.get(CatalogItem, item.id).label = "Nombre nuevo"
    with atiende.store.read() as s:
        assert cache.labels(s, {"direcciones"})["direcciones"][code] == label  # within ttl: as read
        cache.invalidate()
        assert cache.labels(s, {"direcciones"})["direcciones"][code] == "Nombre nuevo"
