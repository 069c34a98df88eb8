"""The business calendar is data the administrator keeps: a day off declared by decree moves a term counted
in working days, removing it moves the term back, and every process sees an edit at its next step; which
days a term counts stays the diagram's rule."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine import calendar
from engine.access.accounts import Actor
from engine.bpm.scripting import helpers
from engine.clock import PANAMA
from engine.db.models import AuditEvent
from engine.db.store import Store
from engine.errors import Forbidden, FormErrors
from engine.facade import FORMS_DIR, PROCESSES_DIR, Atiende
from engine.forms import schemas as form_schemas
from tests.fixtures.desk import Desk

COMMON = "tramitacion_comun"
THIRTY = "primero(sumar_dias(fecha_inicio, 30, habiles=False), sumar_meses(fecha_inicio, 1))"
ADMIN = Actor("admin", frozenset({"admin"}))
DECREE = "Decreto Ejecutivo N.º 12 de 2026"
# tests/conftest.py START is Monday 2 March 2026: ten working days later is Monday 16 March, with no
# holiday of the law in between; a day off on Wednesday 11 March makes it Tuesday 17 March.
DECREED = date(2026, 3, 11)


def deploy_working_day_term(atiende: Atiende, days: int) -> None:
    """The common steps with their legal term changed, by the analyst, to ``days`` working days."""
    text = (PROCESSES_DIR / f"{COMMON}.bpmn").read_text(encoding="utf-8")
    assert THIRTY in text
    changed = text.replace(THIRTY, f"sumar_dias(fecha_inicio, {days}, habiles=True)")
    atiende.deploy({f"{COMMON}.bpmn": changed}, form_schemas.load_directory(FORMS_DIR), "ana")


def due_day(desk: Desk) -> date:
    due = desk.case(desk.start()).due_at
    assert due is not None
    return due.astimezone(PANAMA).date()


def test_a_decreed_day_off_moves_a_working_day_term_and_removing_it_moves_it_back(atiende, desk):
    deploy_working_day_term(atiende, 10)
    assert due_day(desk) == date(2026, 3, 16)

    calendar.add_day(atiende, DECREED, "Duelo nacional", DECREE, ADMIN)
    assert due_day(desk) == date(2026, 3, 17)

    calendar.remove_day(atiende, DECREED, ADMIN)
    assert due_day(desk) == date(2026, 3, 16)


def test_the_diagrams_rule_decides_calendar_days_stay_calendar_days(atiende, desk):
    """The shipped diagram counts calendar days: a decree changes nothing in its term."""
    before = due_day(desk)
    calendar.add_day(atiende, DECREED, "Duelo nacional", DECREE, ADMIN)
    assert due_day(desk) == before == date(2026, 4, 1)


def test_an_edit_made_by_another_process_reaches_this_ones_next_step(atiende, desk, store, frozen_clock):
    deploy_working_day_term(atiende, 10)
    assert due_day(desk) == date(2026, 3, 16)  # this engine has cached the calendar
    other = Atiende(store, frozen_clock)  # another process: its own caches
    calendar.add_day(other, DECREED, "Duelo nacional", DECREE, ADMIN)
    assert due_day(desk) == date(2026, 3, 17)


def test_the_migration_seeds_the_laws_days_of_the_years_around_today(bare_url):
    store = Store(bare_url)
    try:
        store.migrate()
        this_year = date.today().year
        with store.read() as s:
            for year in (this_year - 3, this_year, this_year + 3):
                days, held = calendar.days_of(s, year)
                assert held and {d.day: d.name for d in days} == dict(calendar.law(year))
                assert date(year, 8, 15) in {d.day for d in days}  # the district's, Ley 14 de 1995
            assert not calendar.days_of(s, this_year + 4)[1]
            assert calendar.version(s) == 1
    finally:
        store.dispose()


def test_an_edit_is_kept_with_its_decree_counted_and_audited(atiende, store):
    with store.read() as s:
        version = calendar.version(s)
    calendar.add_day(atiende, DECREED, "Duelo nacional", DECREE, ADMIN)
    with store.read() as s:
        days, held = calendar.days_of(s, 2026)
        assert held and date(2026, 1, 1) in {d.day for d in days}  # the law's days stay
        [decreed] = [d for d in days if d.day == DECREED]
        assert (decreed.kind, decreed.decree) == (calendar.DECREE, DECREE)
        assert calendar.version(s) == version + 1
        event = s.scalar(select(AuditEvent).where(AuditEvent.kind == "dia_libre_agregado"))
        assert event is not None and event.detail["decreto"] == DECREE and event.actor == "admin"


def test_a_year_not_held_yet_counts_the_laws_days_and_an_edit_takes_it_in(atiende, store):
    far = 2041
    with store.read() as s:
        assert calendar.days_of(s, far) == (
            [calendar.Day(d, n, calendar.LAW, None) for d, n in sorted(calendar.law(far).items())],
            False,
        )
        with calendar.using(calendar.read(s)):
            assert not helpers.es_dia_habil(date(far, 1, 1))  # New Year's Day, from the law
    calendar.add_day(atiende, date(far, 3, 6), "Duelo", DECREE, ADMIN)  # a Wednesday
    with store.read() as s:
        days, held = calendar.days_of(s, far)
        assert held and date(far, 1, 1) in {d.day for d in days} and date(far, 3, 6) in {d.day for d in days}


def test_bad_input_is_refused_in_spanish_and_nothing_is_written(atiende, store):
    with store.read() as s:
        version = calendar.version(s)
    cases = [
        (None, "Duelo", DECREE, "fecha", "dd/mm/aaaa"),
        (date(2026, 3, 14), "Duelo", DECREE, "fecha", "sábado o domingo"),  # a Saturday
        (date(2026, 1, 1), "Duelo", DECREE, "fecha", "ya es un día libre"),
        (DECREED, "  ", DECREE, "nombre", "motivo"),
        (DECREED, "Duelo", "", "decreto", "decreto"),
        (DECREED, "x" * 201, DECREE, "nombre", "200 caracteres"),
    ]
    for day, name, decree, field, words in cases:
        with pytest.raises(FormErrors) as refused:
            calendar.add_day(atiende, day, name, decree, ADMIN)
        assert words in refused.value.errors[field]
    with pytest.raises(FormErrors) as refused:
        calendar.remove_day(atiende, DECREED, ADMIN)
    assert "no es un día libre" in refused.value.errors["fecha"]
    with store.read() as s:
        assert calendar.version(s) == version
        assert DECREED not in {d.day for d in calendar.days_of(s, 2026)[0]}


def test_only_an_administrator_edits_the_calendar(atiende):
    for role in ("coordinador", "operador", "auditor"):
        with pytest.raises(Forbidden):
            calendar.add_day(atiende, DECREED, "Duelo", DECREE, Actor(role, frozenset({role})))
        with pytest.raises(Forbidden):
            calendar.remove_day(atiende, date(2026, 1, 1), Actor(role, frozenset({role})))
