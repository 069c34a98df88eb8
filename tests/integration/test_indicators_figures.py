"""The indicators of issue 19 against cases counted by hand, on both databases.

The fixture (``office_cases``), Panamá times, today 20/04/2026:

======  ==========  ======================  =====================  ==============================
case    opened      dirección               closed                 counts as
======  ==========  ======================  =====================  ==============================
A       02/03 09h   planificación urbana    12/03 (10 days)        on time, answered in March
B       02/03 09h   gestión ambiental       06/04 (35 days)        late (due 01/04), April
C       02/03 09h   planificación urbana    open                   open past term (due 01/04)
G       05/03 09h   planificación urbana    04/04 16h (30 days)    on time: due 04/04 09h, same day
D       20/03 09h   gestión ambiental       19/04 (30 days)        on time: due 19/04, Good Friday
                    (tipo «sugerencia»)                            (03/04) inside its calendar term
E       10/04 09h   planificación urbana    open                   open within term (due 10/05)
F       20/04 09h   none                    open                   open within term, «Sin dirección»
======  ==========  ======================  =====================  ==============================

The common tramitación's term counts calendar days (fecha_limite = the earlier of 30 days and
one month): a holiday inside it moves nothing, and the figures take the term the diagram set;
``test_a_term_in_working_days_across_a_holiday`` deploys it counting working days instead.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, select

from engine import cli
from engine.access.accounts import Actor
from engine.clock import PANAMA
from engine.db.models import Case, IndicatorCase, IndicatorCount, IndicatorOpen
from engine.db.store import alembic_config
from engine.errors import FormErrors
from engine.indicators import figures, rollup
from engine.indicators.figures import Filters
from tests.fixtures.desk import BY_ROLE, ENLACE

PU, GA = "planificacion_urbana", "gestion_ambiental"
ENLACE_GA = Actor("enlace_ga", frozenset({"enlace"}), GA)
TODAY = date(2026, 4, 20)
PERIOD = Filters(date(2026, 3, 1), date(2026, 4, 30))


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=PANAMA)


class Walker:
    """Takes cases through the common tramitación with the desk, at the moments given."""

    def __init__(self, desk):
        self.desk = desk

    def start(self, when: datetime, **overrides) -> int:
        self.desk.clock.set(when)
        return self.desk.start(**overrides)

    def to_acuse(self, case_id: int, direccion: str, when: datetime) -> None:
        """Template, hoja for ``direccion``, approval: the enlace's acuse is pending."""
        self.desk.clock.set(when)
        template = next(t for t in self.desk.ready(case_id) if t.startswith("Task_plantilla_"))
        self.desk.do(case_id, template)
        self.desk.do(case_id, "Task_confeccionar_hoja", direccion=direccion)
        self.desk.do(case_id, "Task_aprobar_hoja")

    def close(self, case_id: int, direccion: str, opened: datetime, closed: datetime) -> None:
        self.to_acuse(case_id, direccion, opened)
        self.desk.do(case_id, "Task_acuse_recibo", ENLACE if direccion == PU else ENLACE_GA)
        self.desk.clock.set(closed)
        self.desk.do(case_id, "Task_respuesta_final")


@pytest.fixture
def office_cases(desk):
    w = Walker(desk)
    ids = {}
    ids["A"] = w.start(at(3, 2))
    ids["B"] = w.start(at(3, 2))
    ids["C"] = w.start(at(3, 2))
    w.to_acuse(ids["C"], PU, at(3, 2))
    w.close(ids["A"], PU, at(3, 2), at(3, 12))
    ids["G"] = w.start(at(3, 5))
    ids["D"] = w.start(at(3, 20), tipo_caso="sugerencia")
    ids["E"] = w.start(at(4, 10))
    w.to_acuse(ids["E"], PU, at(4, 10))
    w.close(ids["G"], PU, at(3, 5), at(4, 4, 16))
    w.close(ids["B"], GA, at(3, 2), at(4, 6))
    w.close(ids["D"], GA, at(3, 20), at(4, 19))
    ids["F"] = w.start(at(4, 20))
    desk.clock.set(at(4, 20, 12))
    return ids


def counts(row: figures.FigureRow) -> tuple[int, int, int, int, int]:
    return row.received, row.answered_on_time, row.answered_late, row.open_within_term, row.open_past_term


def test_the_fixture_is_what_the_table_says(desk, office_cases):
    """The hand counts below rest on these terms, computed by the diagram."""
    case = {name: desk.case(case_id) for name, case_id in office_cases.items()}
    assert rollup.panama_day(case["B"].due_at) == date(2026, 4, 1)
    assert case["G"].due_at == at(4, 4) and case["G"].closed_at == at(4, 4, 16)
    assert rollup.panama_day(case["D"].due_at) == date(2026, 4, 19)  # Good Friday 03/04 inside it
    assert {n for n in case if case[n].status == "cerrado"} == set("ABDG")
    assert (case["F"].direccion, case["D"].case_type) == (None, "sugerencia")


def test_summary_by_hand(atiende, office_cases):
    with atiende.store.read() as s:
        result = figures.summary(s, PERIOD, None, TODAY)
    assert counts(result.totals) == (7, 3, 1, 2, 1)
    assert result.totals.pct_on_time == 75.0
    by_direccion = {row.clave: row for row in result.por_direccion}
    assert {k: counts(v) for k, v in by_direccion.items()} == {
        f"dir:{PU}": (4, 2, 0, 1, 1),
        f"dir:{GA}": (2, 1, 1, 0, 0),
        "dir:-": (1, 0, 0, 1, 0),
    }
    assert by_direccion["dir:-"].etiqueta == "Sin dirección" and by_direccion["dir:-"].pct_on_time is None
    assert by_direccion[f"dir:{GA}"].pct_on_time == 50.0
    assert [(row.etiqueta, counts(row)) for row in result.por_mes] == [
        ("03/2026", (5, 1, 0, 0, 1)),
        ("04/2026", (2, 2, 1, 2, 0)),
    ]


def test_filters_and_the_enlace_scope(atiende, office_cases):
    with atiende.store.read() as s:
        pu = figures.summary(s, Filters(PERIOD.desde, PERIOD.hasta, direccion=PU), None, TODAY)
        scoped = figures.summary(s, PERIOD, GA, TODAY)
        none = figures.summary(s, PERIOD, "", TODAY)  # an enlace with no dirección reaches nothing
        tipo = figures.summary(s, Filters(PERIOD.desde, PERIOD.hasta, tipo_caso="sugerencia"), None, TODAY)
        two = Filters(PERIOD.desde, PERIOD.hasta, tipo_caso="queja_reclamo", canal="correo_electronico")
        several = figures.summary(s, two, None, TODAY)
        april = figures.summary(s, Filters(date(2026, 4, 1), date(2026, 4, 30)), None, TODAY)
        other_scope = figures.summary(s, Filters(PERIOD.desde, PERIOD.hasta, direccion=PU), GA, TODAY)
    assert counts(pu.totals) == (4, 2, 0, 1, 1)
    assert counts(scoped.totals) == (2, 1, 1, 0, 0) and [r.clave for r in scoped.por_direccion] == [f"dir:{GA}"]
    assert counts(none.totals) == (0, 0, 0, 0, 0) and counts(other_scope.totals) == (0, 0, 0, 0, 0)
    assert counts(tipo.totals) == (1, 1, 0, 0, 0)  # D
    assert counts(several.totals) == (6, 2, 1, 2, 1)  # all but D
    # Received: opened in April (E, F); answered: closed in April (B late, D and G on time).
    assert counts(april.totals) == (2, 2, 1, 2, 0)


def test_answer_times_by_hand(atiende, office_cases):
    """Days taken: A 10, G 30, D 30, B 35; nearest rank: median the 2nd, p90 the 4th."""
    with atiende.store.read() as s:
        times = figures.answer_times(s, PERIOD, None)
        march = figures.answer_times(s, Filters(date(2026, 3, 1), date(2026, 3, 31)), None)
        nothing = figures.answer_times(s, Filters(date(2025, 1, 1), date(2025, 1, 31)), None)
    assert (times.answered, times.median_days, times.p90_days) == (4, 30, 35)
    assert (times.median_label, times.p90_label) == ("30 días", "35 días")
    assert dict(times.histogram) == {
        "0–7 días": 0,
        "8–15 días": 1,
        "16–30 días": 2,
        "31–45 días": 1,
        "46–60 días": 0,
        "más de 60 días": 0,
    }
    assert (march.answered, march.median_days, march.p90_days) == (1, 10, 10)
    assert (nothing.answered, nothing.median_days, nothing.median_label) == (0, None, "—")


def test_backlog_by_age_per_direccion_and_enlace(atiende, office_cases):
    with atiende.store.read() as s:
        rows = figures.backlog(s, PERIOD, None, TODAY)
    by_direccion = {r.clave: r.buckets for r in rows if r.kind == "direccion"}
    assert by_direccion == {f"dir:{PU}": (0, 1, 0, 1), "dir:-": (1, 0, 0, 0)}  # E 10 days, C 49; F 0
    # C and E wait for the acuse, an Enlace task nobody has taken yet; F has no enlace task.
    assert [(r.etiqueta, r.clave, r.buckets) for r in rows if r.kind == "enlace"] == [
        ("Sin asignar", f"dir:{PU}|enlace:", (0, 1, 0, 1))
    ]


def test_backlog_per_enlace_names_who_took_the_task(atiende, desk, office_cases):
    from engine.cases import assignment

    task = desk.task(office_cases["E"], "Task_acuse_recibo")
    assignment.claim(atiende, task.id, ENLACE)
    with atiende.store.read() as s:
        rows = [(r.clave, r.buckets) for r in figures.backlog(s, PERIOD, None, TODAY) if r.kind == "enlace"]
        page = figures.drill(s, PERIOD, None, TODAY, "backlog", f"dir:{PU}|enlace:enlace", None)
    assert sorted(rows) == [(f"dir:{PU}|enlace:", (0, 0, 0, 1)), (f"dir:{PU}|enlace:enlace", (0, 1, 0, 0))]
    assert [c.id for c in page.cases] == [office_cases["E"]]


def test_trend_is_the_last_twelve_months(atiende, office_cases):
    with atiende.store.read() as s:
        points = figures.trend(s, PERIOD, None, TODAY)
    assert [p.etiqueta for p in points][0] == "05/2025" and len(points) == 12
    assert [(p.etiqueta, p.received, p.on_time, p.late, p.pct_on_time) for p in points[-2:]] == [
        ("03/2026", 5, 1, 0, 100.0),
        ("04/2026", 2, 2, 1, 66.7),
    ]
    assert all(p.received == 0 and p.pct_on_time is None for p in points[:-2])


@pytest.mark.parametrize(
    ("figura", "clave", "expected"),
    [
        ("received", None, "ABCDEFG"),
        ("received", "mes:2026-04", "EF"),
        ("on_time", None, "ADG"),
        ("on_time", "mes:2026-04", "DG"),
        ("late", None, "B"),
        ("answered", f"dir:{GA}", "BD"),
        ("open_within", None, "EF"),
        ("open_within", "dir:-", "F"),
        ("open_past", None, "C"),
        ("backlog", f"dir:{PU}|edad:>30", "C"),
        ("backlog", "edad:8-15", "E"),
        ("backlog", "edad:16-30", ""),
    ],
)
def test_every_figure_drills_down_to_its_cases(atiende, office_cases, figura, clave, expected):
    with atiende.store.read() as s:
        page = figures.drill(s, PERIOD, None, TODAY, figura, clave, None)
    assert [c.id for c in page.cases] == sorted(office_cases[n] for n in expected)
    assert page.next_after is None


def test_drill_pages_by_id_and_refuses_unknown_figures(atiende, office_cases):
    seen, after = [], None
    with atiende.store.read() as s:
        while True:
            page = figures.drill(s, PERIOD, None, TODAY, "received", None, after, limit=3)
            seen += [c.id for c in page.cases]
            assert len(page.cases) <= 3
            if page.next_after is None:
                break
            after = page.next_after
        scoped = figures.drill(s, PERIOD, GA, TODAY, "received", None, None)
        for figura, clave in (("nada", None), ("late", "mes:2026-13"), ("late", "x:1"), ("backlog", "edad:9")):
            with pytest.raises(FormErrors):
                figures.drill(s, PERIOD, None, TODAY, figura, clave, None)
    assert seen == sorted(office_cases.values())
    assert [c.id for c in scoped.cases] == sorted(office_cases[n] for n in "BD")


def test_transparency_holds_aggregates_only(atiende, office_cases):
    with atiende.store.read() as s:
        rows = figures.transparency(s, TODAY)
        labels = dict(s.execute(select(Case.direccion, Case.direccion)).all())
    answered = {(r.direccion, r.etiqueta): (r.answered, r.pct_on_time, r.median_days) for r in rows if r.answered}
    assert len(labels) >= 2
    names = {r.direccion for r in rows}
    assert not names & {PU, GA}, "the dirección's name, not its code"
    pu = next(r.direccion for r in rows if r.answered and r.etiqueta == "03/2026")
    ga = next(n for n in names if n not in (pu, "Sin dirección"))
    assert answered == {
        (pu, "03/2026"): (1, 100.0, 10),
        (pu, "04/2026"): (1, 100.0, 30),
        (ga, "04/2026"): (2, 50.0, 30),
    }
    text = repr(rows)
    with atiende.store.read() as s:
        for name, cedula, ticket in s.execute(select(Case.citizen_name, Case.citizen_cedula, Case.ticket)):
            assert name not in text and cedula not in text and ticket not in text


def test_filters_parse_with_spanish_errors():
    f = Filters.parse({"desde": "01/03/2026", "hasta": "2026-04-30", "direccion": " x ", "canal": ""}, TODAY)
    assert f == Filters(date(2026, 3, 1), date(2026, 4, 30), direccion="x")
    assert Filters.parse({}, TODAY) == Filters(date(2025, 5, 1), TODAY)
    for args, field in (
        ({"desde": "31/02/2026"}, "desde"),
        ({"hasta": "mañana"}, "hasta"),
        ({"desde": "01/05/2026", "hasta": "01/04/2026"}, "hasta"),
        ({"corregimiento": "x" * 101}, "corregimiento"),
        ({"desde": "01/01/0001"}, "desde"),
    ):
        with pytest.raises(FormErrors) as caught:
            Filters.parse(args, TODAY)
        assert list(caught.value.errors) == [field]


# -- the roll-ups against a scan ------------------------------------------------------------------
def scan_figures(s, today: date, desde: date, hasta: date) -> Counter:
    """The summary's figures per dirección, counted from ``cases`` by the definitions, independently."""
    found: Counter = Counter()
    for case in s.scalars(select(Case)):
        d = case.direccion or ""
        opened = case.opened_at.astimezone(PANAMA).date()
        due = case.due_at.astimezone(PANAMA).date() if case.due_at else None
        if desde <= opened <= hasta:
            found[d, "received"] += 1
        if case.status == "cerrado":
            closed = case.closed_at.astimezone(PANAMA).date()
            if desde <= closed <= hasta:
                found[d, "on_time" if due is None or closed <= due else "late"] += 1
        elif desde <= opened <= hasta:
            found[d, "past" if due is not None and due < today else "within"] += 1
    return found


def summary_counter(s, today: date, desde: date, hasta: date) -> Counter:
    found: Counter = Counter()
    for row in figures.summary(s, Filters(desde, hasta), None, today).por_direccion:
        d = "" if row.clave == "dir:-" else row.clave.removeprefix("dir:")
        for name, value in zip(("received", "on_time", "late", "within", "past"), counts(row), strict=True):
            if value:
                found[d, name] += value
    return found


def test_roll_ups_equal_a_scan_after_random_moves(atiende, desk):
    """Cases started, moved, closed, swept by the timers (the ORM's flush path) in a random order."""
    rng = random.Random(19)
    when = at(3, 2)
    live: list[int] = []
    for _ in range(40):
        when = when.replace(hour=9) if when.hour > 17 else when
        desk.clock.set(when)
        move = rng.random()
        if move < 0.3 or not live:
            live.append(desk.start(tipo_caso=rng.choice(["queja_reclamo", "sugerencia", "reporte"])))
        elif move < 0.45:
            desk.wait(hours=rng.randint(1, 200))
        else:
            case_id = rng.choice(live)
            ready = desk.ready(case_id)
            step = next((t for t in ready if t.startswith("Task_plantilla_")), None) or next(
                (t for t in ready if t != "Task_seguimiento_semanal" and t != "Task_revision_quincenal"), None
            )
            if step is None:
                live.remove(case_id)
            elif step == "Task_confeccionar_hoja":
                desk.do(case_id, step, direccion=rng.choice([PU, GA]))
            elif step == "Task_acuse_recibo":
                desk.do(case_id, step, ENLACE if desk.case(case_id).direccion == PU else ENLACE_GA)
            else:
                task = desk.task(case_id, step)
                desk.do(case_id, step, BY_ROLE.get(task.lane))
        when = desk.clock.now() + timedelta(hours=rng.randint(1, 90))
    today = desk.clock.now().astimezone(PANAMA).date()
    with atiende.store.read() as s:
        assert rollup.check(s) == []
        statuses = Counter(c.status for c in s.scalars(select(Case)))
        assert statuses["cerrado"] >= 2 and sum(statuses.values()) >= 8, statuses
        for desde, hasta in ((date(2026, 3, 1), today), (date(2026, 3, 10), date(2026, 4, 15))):
            assert summary_counter(s, today, desde, hasta) == scan_figures(s, today, desde, hasta)


def test_check_finds_a_roll_up_that_drifted(atiende, office_cases):
    with atiende.unit_of_work() as s:
        row = s.scalars(select(IndicatorCount).where(IndicatorCount.grain == "d", IndicatorCount.on_time > 0)).first()
        row.on_time += 1
    with atiende.store.read() as s:
        problems = rollup.check(s)
    assert len(problems) == 1 and "on_time" in problems[0]


def test_rebuild_and_the_migration_back_fill_equal_a_scan(atiende, store, office_cases):
    with atiende.store.read() as s:
        before = figures.summary(s, PERIOD, None, TODAY)
    with atiende.unit_of_work() as s:
        for model in (IndicatorCount, IndicatorOpen, IndicatorCase):
            s.execute(delete(model))
    with atiende.store.read() as s:
        assert rollup.check(s) != [] and counts(figures.summary(s, PERIOD, None, TODAY).totals) == (0,) * 5
    with store.engine.begin() as conn:  # an office upgrading from 0015 with its cases already there
        cfg = alembic_config(store.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
        command.upgrade(cfg, "heads")
    with atiende.store.read() as s:
        assert rollup.check(s) == []
        assert figures.summary(s, PERIOD, None, TODAY) == before
    with atiende.unit_of_work() as s:
        s.execute(delete(IndicatorCount))
        assert rollup.rebuild(s) == len(office_cases)
    with atiende.store.read() as s:
        assert rollup.check(s) == [] and figures.summary(s, PERIOD, None, TODAY) == before


def test_the_command_checks_and_rebuilds_the_roll_ups(atiende, store, office_cases, capsys):
    with atiende.unit_of_work() as s:
        s.execute(delete(IndicatorOpen))
    assert cli.main(["--database-url", store.url, "indicadores", "comprobar"]) == 1
    assert "atiende indicadores reconstruir" in capsys.readouterr().err
    assert cli.main(["--database-url", store.url, "indicadores", "reconstruir"]) == 0
    assert "7 casos" in capsys.readouterr().out
    assert cli.main(["--database-url", store.url, "indicadores", "comprobar"]) == 0


def test_a_reopened_case_moved_to_another_direccion_is_recounted(atiende, office_cases):
    """No procedure reopens a case today; the roll-ups follow any change of what they count anyway."""
    with atiende.unit_of_work() as s:
        case = s.get(Case, office_cases["B"])
        process_id = atiende.procedure(s, case.procedure_version_id).process_id
        case.status, case.closed_at, case.direccion, case.corregimiento = "abierto", None, PU, "ancon"
        s.flush()
        rollup.recount(s, case, process_id)
    with atiende.store.read() as s:
        assert rollup.check(s) == []
        result = figures.summary(s, PERIOD, None, TODAY)
        late = figures.drill(s, PERIOD, None, TODAY, "late", None, None)
        ancon = figures.summary(s, Filters(PERIOD.desde, PERIOD.hasta, corregimiento="ancon"), None, TODAY)
    assert counts(result.totals) == (7, 3, 0, 2, 2)
    assert {r.clave: counts(r) for r in result.por_direccion}[f"dir:{PU}"] == (5, 2, 0, 1, 2)
    assert late.cases == [] and counts(ancon.totals) == (1, 0, 0, 0, 1)


def test_the_demo_desk_roll_ups_equal_a_scan(tmp_path, sqlite_templates):
    """Every procedure, timer sweeps and messages between cases: seven weeks of an office at work."""
    from engine.clock import FrozenClock
    from engine.db.store import Store
    from engine.demo import desk as demo_desk
    from engine.demo import procedures as demo_procedures
    from engine.demo import seed as demo
    from engine.facade import Atiende
    from tests.conftest import START

    store = Store(sqlite_templates.copy("catalogs", tmp_path / "atiende.sqlite3"))
    try:
        atiende = Atiende(store, FrozenClock(START))
        assert demo.seed(atiende)
        demo_procedures.seed(atiende)
        demo_desk.seed(atiende)
        today = atiende.now().astimezone(PANAMA).date()
        with atiende.store.read() as s:
            assert rollup.check(s) == []
            statuses = Counter(c.status for c in s.scalars(select(Case)))
            assert statuses["cerrado"] > 10 and len(statuses) > 2, statuses
            desde = date(today.year - 1, 1, 1)
            assert summary_counter(s, today, desde, today) == scan_figures(s, today, desde, today)
    finally:
        store.dispose()


def test_a_term_in_working_days_across_a_holiday(atiende, desk):
    """The diagram counts working days: 10 from Tuesday 31/03/2026 skip Good Friday (03/04) and the
    weekend, so the due day is 15/04 (14/04 without the holiday). Closed on 15/04: on time; on 16/04: late."""
    from engine.facade import FORMS_DIR, PROCESSES_DIR
    from engine.procedures import versions

    files, forms = versions.read_directory(PROCESSES_DIR, FORMS_DIR)
    rule = "fecha_limite = primero(sumar_dias(fecha_inicio, 30, habiles=False), sumar_meses(fecha_inicio, 1))"
    assert rule in files["tramitacion_comun.bpmn"]
    files["tramitacion_comun.bpmn"] = files["tramitacion_comun.bpmn"].replace(
        rule, "fecha_limite = sumar_dias(fecha_inicio, 10, habiles=True)"
    )
    atiende.deploy(files, forms, "analista", "plazo en días hábiles")
    w = Walker(desk)
    on_time, late = w.start(at(3, 31)), w.start(at(3, 31))
    assert rollup.panama_day(desk.case(on_time).due_at) == date(2026, 4, 15)
    w.close(on_time, PU, at(3, 31), at(4, 15, 17))
    w.close(late, PU, at(3, 31), at(4, 16, 8))
    april = Filters(date(2026, 4, 1), date(2026, 4, 30))
    with atiende.store.read() as s:
        result = figures.summary(s, april, None, date(2026, 4, 20))
        page = figures.drill(s, april, None, date(2026, 4, 20), "late", None, None)
        assert rollup.check(s) == []
    assert (result.totals.answered_on_time, result.totals.answered_late) == (1, 1)
    assert [c.id for c in page.cases] == [late]
