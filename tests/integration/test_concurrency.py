"""Two people, two sweeps, a killed process: every change is one transaction, done once."""

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access.accounts import Actor
from engine.bpm.runtime import Runtime
from engine.cases import incidents
from engine.clock import FrozenClock
from engine.db.models import AuditEvent, Case, CaseState, HumanTask
from engine.db.store import Store
from engine.errors import TaskAlreadyDone
from engine.facade import Atiende
from tests.conftest import START
from tests.fixtures.desk import Desk

ROOT = Path(__file__).resolve().parents[2]


def slowed(monkeypatch, method_name, seconds):
    """Make a Runtime method linger, so that two callers really overlap."""
    original = getattr(Runtime, method_name)

    def lingering(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        time.sleep(seconds)
        return result

    monkeypatch.setattr(Runtime, method_name, lingering)


def run_together(*calls):
    """Run the calls in threads started at the same moment; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results, errors


def second_server(store):
    """Another process's engine on the same database (its own connections and memory)."""
    return Atiende(Store(store.url), FrozenClock(START))


def test_two_people_complete_the_same_task_at_once_exactly_one_wins(desk, store, monkeypatch):
    case_id = desk.start()
    task = desk.task(case_id, "Task_plantilla_queja_reclamo")
    other = second_server(store)
    slowed(monkeypatch, "complete", 0.3)
    ana, beto = Actor("ana", frozenset({"operador"})), Actor("beto", frozenset({"operador"}))
    data = {"hechos": "Hechos.", "pretension": "Pretensión."}
    results, errors = run_together(
        lambda: desk.atiende.complete_task(task.id, data, ana), lambda: other.complete_task(task.id, data, beto)
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, TaskAlreadyDone)
    winner = "ana" if results[0] else "beto"
    assert error.by == winner and f"completada por {winner}" in str(error)
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]
    assert len(desk.history(case_id, "tarea_completada")) == 1
    other.store.dispose()


def test_two_sweeps_at_once_never_fire_the_same_timer_twice(desk, store, monkeypatch):
    cases = [desk.start() for _ in range(6)]
    slowed(monkeypatch, "fire_timers", 0.05)
    other = second_server(store)
    desk.clock.advance(days=30, seconds=1)
    other.clock.set(desk.clock.now())
    results, errors = run_together(desk.atiende.run_timer_sweep, other.run_timer_sweep)
    assert errors == [None, None]
    assert sum(r.fired for r in results) == 6
    for case_id in cases:
        assert len(desk.history(case_id, "temporizador_disparado")) == 1
        assert desk.ready(case_id).count("Task_atender_escalado") == 1
    other.store.dispose()


def test_concurrent_intakes_get_distinct_consecutive_tickets(desk, store):
    other = second_server(store)
    other_desk = Desk(other, other.clock)
    results, errors = run_together(
        lambda: [desk.start() for _ in range(8)], lambda: [other_desk.start() for _ in range(8)]
    )
    assert errors == [None, None]
    with store.read() as s:
        tickets = sorted(s.scalars(select(Case.ticket)))
    assert tickets == [f"AC-2026-{n:06d}" for n in range(1, 17)]
    other.store.dispose()


CHILD = textwrap.dedent("""
    import os, signal, sys
    from engine.access.accounts import Actor
    from engine.bpm.runtime import Runtime
    from engine.facade import Atiende
    from engine.db.store import Store

    url, task_id = sys.argv[1], sys.argv[2]
    project = Runtime._project_tasks

    def project_then_die(*args, **kwargs):
        project(*args, **kwargs)
        args[0].flush()  # everything is written to the database, nothing committed
        os.kill(os.getpid(), signal.SIGKILL)

    Runtime._project_tasks = staticmethod(project_then_die)
    operador = Actor("ana", frozenset({"operador"}))
    Atiende(Store(url)).complete_task(task_id, {"hechos": "H", "pretension": "P"}, operador)
""")


def test_a_process_killed_mid_way_leaves_nothing_half_written(desk, store):
    case_id = desk.start()
    task = desk.task(case_id, "Task_plantilla_queja_reclamo")
    before, state_before = desk.case(case_id), desk.state(case_id)
    with store.read() as s:
        events_before = s.scalar(select(func.count(AuditEvent.id)))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, store.url, task.id],
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert child.returncode == -9, child.stderr
    after = desk.case(case_id)
    assert (after.revision, desk.state(case_id), after.data) == (before.revision, state_before, before.data)
    with store.read() as s:
        assert s.scalar(select(func.count(AuditEvent.id))) == events_before
        assert [t.id for t in s.scalars(select(HumanTask))] == [task.id]
    desk.do(case_id, "Task_plantilla_queja_reclamo")  # and the case goes on
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]


@pytest.mark.parametrize("broken", [b"{not json", b'{"tasks": {}}'])
def test_a_broken_case_does_not_stop_the_sweep_and_becomes_an_incident(desk, store, broken):
    good, bad = desk.start(), desk.start()
    with store.unit_of_work() as s:
        s.get(CaseState, bad).workflow = broken
    desk.atiende.runtime._live.clear()
    result = desk.wait(days=30, seconds=1)
    assert (result.loaded, result.fired, result.failed) == (2, 1, 1)
    assert desk.case(good).status == "escalado a la unidad"
    [error] = desk.history(bad, "incidencia_registrada")
    assert error.detail["motivo"]
    assert desk.case(bad).timer_due_at is None  # no silent retry: «Reintentar» on the Incidencias page
    incidents.resolve(desk.atiende, error.detail["incidencia"], Actor("analista", frozenset({"analista"})))
    assert desk.case(bad).timer_due_at == desk.clock.now()  # unreadable: the next sweep records it again
