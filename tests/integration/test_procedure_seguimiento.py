"""Seguimiento: the scheduler starts a weekly and a biweekly run per dirección with open cases."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.cases import runs, selectors
from engine.db.models import AuditEvent, Case, Schedule
from engine.errors import Forbidden
from tests.conftest import START
from tests.fixtures.desk import COORDINADOR, ENLACE
from tests.integration.test_concurrency import run_together, second_server
from tests.integration.test_versions import diagrams  # noqa: F401 - the fixture: an editable copy of processes/

PANAMA = ZoneInfo("America/Panama")
MONDAY_8 = START.astimezone(PANAMA).replace(day=9, hour=8, minute=0).astimezone(START.tzinfo)  # 9 March
FRIDAY_14 = START.astimezone(PANAMA).replace(day=6, hour=14, minute=0).astimezone(START.tzinfo)  # 6 March
PROCESS = "seguimiento_consolidado"


def remit(desk, direccion: str) -> int:
    """A case whose hoja de trámite went to ``direccion`` (en seguimiento)."""
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja", direccion=direccion)
    desk.do(case_id, "Task_aprobar_hoja")
    assert desk.case(case_id).status == "en seguimiento"
    return case_id


def runs_of(store, tipo: str | None = None) -> list[Case]:
    with store.read() as s:
        query = select(Case).where(Case.ticket.like("SG-%")).order_by(Case.id)
        return [c for c in s.scalars(query) if tipo is None or c.case_type == tipo]


def schedules(store) -> dict[str, Schedule]:
    with store.read() as s:
        return {row.start_event: row for row in s.scalars(select(Schedule).where(Schedule.process_id == PROCESS))}


def test_a_deploy_puts_each_timer_start_event_on_the_calendar(atiende, store):
    found = schedules(store)
    assert found["StartEvent_semanal"].cycle == "R/2026-01-05T08:00:00-05:00/P7D"
    assert found["StartEvent_semanal"].next_run_at == MONDAY_8
    assert found["StartEvent_quincenal"].next_run_at == FRIDAY_14
    with store.read() as s:
        assert s.scalar(select(func.count(Schedule.id)).where(Schedule.process_id == "atencion_correo_web")) == 0


def test_no_dirección_with_open_cases_means_no_run_but_the_calendar_moves_on(desk, store):
    desk.start()  # open, not yet remitted: no dirección owes a follow-up
    result = desk.wait(days=4, hours=5, seconds=1)  # past Friday 14:00
    assert result.started == 0 and runs_of(store) == []
    assert schedules(store)["StartEvent_quincenal"].next_run_at == FRIDAY_14 + timedelta(days=14)
    with store.read() as s:
        events = {
            e.detail["evento"]: e
            for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == "programacion_ejecutada"))
        }
    assert events["StartEvent_quincenal"].detail["casos"] == [] and events["StartEvent_quincenal"].actor == "sistema"
    assert "StartEvent_reunion" in events  # the meeting of Wednesday 4 March: no sugerencias, no meeting


def test_the_biweekly_run_goes_to_each_direccion_and_ends_with_the_coordinators_review(desk, store):
    remit(desk, "planificacion_urbana")
    remit(desk, "planificacion_urbana")
    remit(desk, "gestion_ambiental")
    assert desk.wait(days=4, hours=5, seconds=1).started == 2  # Friday 14:00: the biweekly
    biweekly = runs_of(store, "consolidado_quincenal")
    assert sorted(c.direccion for c in biweekly) == ["gestion_ambiental", "planificacion_urbana"]
    mine = next(c for c in biweekly if c.direccion == "planificacion_urbana")
    assert mine.created_by == "sistema" and mine.status == "abierto"
    task = desk.task(mine.id, "Task_actualizar_seguimiento")
    assert (task.lane, task.direccion) == ("enlace", "planificacion_urbana")
    with desk.atiende.store.read() as s:  # each enlace sees only the run of their own dirección
        assert [t.case_id for t in desk.atiende.tasks_for(s, ENLACE) if t.bpmn_id == "Task_actualizar_seguimiento"] == [
            mine.id
        ]
    desk.do(mine.id, "Task_actualizar_seguimiento")
    assert desk.ready(mine.id) == ["Task_revisar_consolidado"]
    desk.do(mine.id, "Task_revisar_consolidado")
    assert desk.case(mine.id).status == "cerrado" and desk.ready(mine.id) == []


def test_the_weekly_run_closes_once_the_enlace_has_updated_the_follow_up(desk, store):
    remit(desk, "planificacion_urbana")
    desk.wait(days=4, hours=5, seconds=1)
    assert desk.wait(days=2, hours=18).started == 1  # Monday 9 March, 8:00: the weekly
    [weekly] = runs_of(store, "consolidado_semanal")
    assert weekly.ticket == "SG-2026-000002"
    desk.do(weekly.id, "Task_actualizar_seguimiento")
    assert desk.case(weekly.id).status == "cerrado" and desk.ready(weekly.id) == []


def test_a_second_sweep_starts_nothing_again_and_a_long_stop_means_one_run_not_three(desk, store):
    remit(desk, "planificacion_urbana")
    desk.clock.advance(days=21)  # the server was stopped for three weeks
    result = desk.atiende.run_timer_sweep()
    assert result.started == 2  # one weekly and one biweekly, not one per missed period
    assert desk.atiende.run_timer_sweep().started == 0
    assert len(runs_of(store)) == 2
    now = desk.clock.now()
    assert all(now < row.next_run_at <= now + timedelta(days=14) for row in schedules(store).values())


def test_two_sweeps_at_once_start_each_run_exactly_once(desk, store):
    for direccion in ("planificacion_urbana", "gestion_ambiental", "obras_construcciones"):
        remit(desk, direccion)
    other = second_server(store)
    desk.clock.advance(days=4, hours=5, seconds=1)
    other.clock.set(desk.clock.now())
    results, errors = run_together(desk.atiende.run_timer_sweep, other.run_timer_sweep)
    assert errors == [None, None]
    assert sum(r.started for r in results) == 3
    assert sorted(c.direccion for c in runs_of(store)) == [
        "gestion_ambiental",
        "obras_construcciones",
        "planificacion_urbana",
    ]
    other.store.dispose()


def test_a_scheduled_procedure_cannot_be_started_by_hand(atiende, store):
    with pytest.raises(Forbidden) as exc:
        atiende.start_case(PROCESS, {}, COORDINADOR)
    assert "calendario" in str(exc.value)
    assert runs_of(store) == []


def test_a_run_can_be_started_now_without_moving_the_calendar(desk, store):
    remit(desk, "gestion_ambiental")
    assert runs.start_now(desk.atiende, PROCESS, "StartEvent_semanal", "coordinador") == ["SG-2026-000001"]
    assert schedules(store)["StartEvent_semanal"].next_run_at == MONDAY_8


def test_changing_the_cycle_in_the_diagram_changes_when_runs_start(atiende, desk, store, diagrams):  # noqa: F811
    path = diagrams / "seguimiento_consolidado.bpmn"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('"R/2026-01-05T08:00:00-05:00/P7D"', '"R/2026-01-06T07:30:00-05:00/P1D"'), encoding="utf-8"
    )
    atiende.deploy_directory("analista", note="consolidado diario", processes_dir=diagrams)
    assert schedules(store)["StartEvent_semanal"].next_run_at == START.astimezone(PANAMA).replace(
        day=3, hour=7, minute=30
    ).astimezone(START.tzinfo)  # tomorrow, 7:30
    assert schedules(store)["StartEvent_quincenal"].next_run_at == FRIDAY_14  # unchanged calendar, unchanged run
    remit(desk, "planificacion_urbana")
    assert desk.wait(hours=22, minutes=31).started == 1
    [daily] = runs_of(store)
    assert daily.case_type == "consolidado_semanal"


def test_a_calendar_whose_runs_fail_is_retried_later_without_stopping_the_others(desk, store, monkeypatch):
    remit(desk, "planificacion_urbana")

    def broken(session):
        raise RuntimeError("catálogo inaccesible")

    monkeypatch.setitem(selectors.SELECTORS, "direcciones_con_casos_abiertos", broken)
    result = desk.wait(days=7)  # Wednesday's meeting, Friday's biweekly and Monday's weekly are due
    assert result.started == 0 and runs_of(store) == []
    with store.read() as s:
        errors = [
            e.detail["evento"] for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == "error_programacion"))
        ]
    assert sorted(errors) == ["StartEvent_quincenal", "StartEvent_semanal"]
    assert {row.next_run_at for row in schedules(store).values()} == {desk.clock.now() + runs.SCHEDULE_RETRY_AFTER}
    monkeypatch.undo()
    assert desk.wait(minutes=15).started == 2
    assert len(runs_of(store)) == 2
