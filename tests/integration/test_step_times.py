"""Time per step (the heatmap on the diagram): hand-computed median and 90th percentile, waiting
counts, and the roll-up always equal to a scan of the audit trail."""

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select

from engine.audit import trail as audit
from engine.db.models import Case, HumanTask, StepTime
from engine.indicators import steps
from tests.conftest import START
from tests.fixtures.desk import PROCESS

HOUR = 3600
DAY = 24 * HOUR


def first_task(desk, case_id) -> str:
    [bpmn_id] = desk.ready(case_id)
    return bpmn_id


SHARED = "tramitacion_comun"  # draws the tasks of the procedures that call it (atencion_correo_web, ...)


def heatmap(atiende, process=SHARED, **period) -> dict[str, steps.StepFigures]:
    with atiende.store.read() as s:
        procedure = atiende.latest_procedure(s, process)
        elements = {b: step.name for b, step in procedure.steps.items()}
        return {f.bpmn_id: f for f in steps.figures(s, process, elements, **period)}


def rollup(atiende) -> Counter:
    with atiende.store.read() as s:
        return Counter(
            {(r.process_id, r.bpmn_id, r.month, r.bucket): r.completions for r in s.scalars(select(StepTime))}
        )


def trail_scan(atiende) -> Counter:
    counts: Counter = Counter()
    with atiende.store.snapshot() as s:
        for process_id, bpmn_id, opened, completed in steps.scan_trail(s):
            key = (
                process_id,
                bpmn_id,
                steps.month_of(completed),
                steps.bucket_of((completed - opened).total_seconds()),
            )
            counts[key] += 1
    return counts


def test_buckets_are_hours_for_three_days_then_days_then_a_year_or_more():
    assert steps.bucket_of(0) == 0
    assert steps.bucket_of(HOUR - 1) == 0
    assert steps.bucket_of(5 * HOUR + 10) == 5
    assert steps.bucket_of(3 * DAY - 1) == 71
    assert steps.Spent.of_bucket(steps.bucket_of(3 * DAY)) == steps.Spent(3 * DAY, 4 * DAY)
    assert steps.Spent.of_bucket(steps.bucket_of(4 * DAY + 2 * HOUR)) == steps.Spent(4 * DAY, 5 * DAY)
    assert steps.bucket_of(400 * DAY) == steps.bucket_of(365 * DAY) == steps.LAST_BUCKET
    assert steps.Spent.of_bucket(steps.LAST_BUCKET) == steps.Spent(365 * DAY, None)
    assert steps.Spent(5 * HOUR, 6 * HOUR).texto == "5–6 h"
    assert steps.Spent(4 * DAY, 5 * DAY).texto == "4–5 días"
    assert steps.Spent(365 * DAY, None).texto == "365 días o más"


# Ten cases opened together; the first task of each completed after these times (sorted):
# nearest rank, the median is the 5th (5 h 20 min: the 5–6 h bucket) and the 90th percentile the
# 9th (4 days 2 h: the 4–5 days bucket).
SPENT = [
    timedelta(hours=1, minutes=10),
    timedelta(hours=2),
    timedelta(hours=2, minutes=30),
    timedelta(hours=3),
    timedelta(hours=5, minutes=20),
    timedelta(hours=8),
    timedelta(hours=26),
    timedelta(hours=49),
    timedelta(days=4, hours=2),
    timedelta(days=10),
]


def test_median_and_p90_of_a_step_are_those_counted_by_hand(desk, atiende, frozen_clock):
    cases = [desk.start() for _ in SPENT]
    task = first_task(desk, cases[0])
    for case_id, spent in zip(cases, SPENT, strict=True):
        frozen_clock.set(START + spent)
        desk.do(case_id, task)
    figures = heatmap(atiende)[task]
    assert figures.completed == 10
    assert figures.median == steps.Spent(5 * HOUR, 6 * HOUR)
    assert figures.p90 == steps.Spent(4 * DAY, 5 * DAY)
    assert figures.waiting == 0
    assert figures.heat == steps.HEAT_LEVELS  # the only timed step is the slowest


def test_waiting_counts_the_open_tasks_by_element_on_the_diagram_that_draws_them(desk, atiende):
    cases = [desk.start() for _ in range(3)]
    task = first_task(desk, cases[0])
    desk.do(cases[0], task)
    [following] = desk.ready(cases[0])
    direct = desk.start("atencion_directa")  # another procedure calling the common tramitación
    [direct_task] = desk.ready(direct)
    figures = heatmap(atiende)
    assert figures[task].waiting == 2
    assert figures[following].waiting == 1
    assert figures[direct_task].waiting == 1
    assert sum(f.waiting for f in figures.values()) == 4
    assert all(f.waiting == 0 for f in heatmap(atiende, "lotes_baldios").values())
    with atiende.store.read() as s:  # the caller's own diagram draws none of them: it names the called one
        drawn = steps.diagram(s, PROCESS, {task: "x", following: "y"})
    assert drawn is not None and drawn.elements == {} and drawn.calls == (SHARED,)


def test_the_slowest_step_has_the_most_heat_and_an_untimed_one_none(desk, atiende, frozen_clock):
    case_id = desk.start()
    template = first_task(desk, case_id)
    frozen_clock.advance(hours=1)
    desk.do(case_id, template)
    [hoja] = desk.ready(case_id)
    frozen_clock.advance(days=6)
    desk.do(case_id, hoja)
    figures = heatmap(atiende)
    assert figures[hoja].heat == steps.HEAT_LEVELS
    assert figures[template].heat == 1
    untimed = [f for f in figures.values() if f.completed == 0]
    assert untimed and all(f.heat == 0 and f.median is None for f in untimed)


def test_the_period_takes_the_completions_of_its_months(desk, atiende, frozen_clock):
    first, second = desk.start(), desk.start()
    task = first_task(desk, first)
    frozen_clock.advance(hours=2)  # March
    desk.do(first, task)
    frozen_clock.set(START + timedelta(days=35))  # April
    desk.do(second, task)
    assert heatmap(atiende)[task].completed == 2
    march = heatmap(atiende, desde=date(2026, 3, 1), hasta=date(2026, 3, 31))[task]
    assert march.completed == 1 and march.median == steps.Spent(2 * HOUR, 3 * HOUR)
    assert heatmap(atiende, desde=date(2026, 4, 10))[task].completed == 1
    assert heatmap(atiende, hasta=date(2026, 2, 28))[task].completed == 0


def test_each_completion_keeps_when_its_task_opened_and_the_rollup_equals_the_trail(desk, atiende, frozen_clock):
    for hours in (1, 30, 100):
        case_id = desk.start()
        frozen_clock.advance(hours=hours)
        desk.to_follow_up(case_id)
    first, *_ = desk.history(case_id, "tarea_completada")  # its task opened with the case, 100 h before
    assert datetime.fromisoformat(first.detail["creada"]) == desk.case(case_id).opened_at
    assert first.at - desk.case(case_id).opened_at == timedelta(hours=100)
    assert rollup(atiende) == trail_scan(atiende)
    assert sum(rollup(atiende).values()) == 12  # four tasks of three cases
    with atiende.store.unit_of_work() as s:  # the back-fill of migration 0018 counts the same
        steps.rebuild(s)
    assert rollup(atiende) == trail_scan(atiende)


def test_a_completion_written_before_0018_counts_on_its_diagram_from_the_cases_previous_move(desk, atiende):
    case_id = desk.start()
    with atiende.store.unit_of_work() as s:
        audit.record(
            s,
            START + timedelta(hours=7, minutes=5),
            "operador",
            "tarea_completada",
            case_id=case_id,
            task_id="antigua",
            detail={"tarea": "Task_plantilla_queja_reclamo", "nombre": "Plantilla", "datos": {}},  # no «creada»
        )
    with atiende.store.unit_of_work() as s:  # the trail is written as its transaction ends
        steps.rebuild(s)
    with atiende.store.read() as s:
        [row] = s.scalars(select(StepTime))
    assert (row.process_id, row.bpmn_id, row.month, row.bucket, row.completions) == (
        SHARED,  # the called procedure's file draws it, in the case's version of atencion_correo_web
        "Task_plantilla_queja_reclamo",
        202603,
        7,  # 7 h 05 min after the case was created
        1,
    )


def test_open_tasks_mirror_their_cases_version_and_opening(desk, atiende):
    """The figures count open tasks without joining their cases: each task row carries what they need."""
    case_id = desk.start()
    with atiende.store.read() as s:
        case = s.get(Case, case_id)
        rows = s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).all()
        assert rows and {(t.procedure_version_id, t.opened_at) for t in rows} == {
            (case.procedure_version_id, case.opened_at)
        }
