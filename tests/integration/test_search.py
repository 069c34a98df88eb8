"""Case search by ticket, cédula, name and words, on SQLite (FTS5) and PostgreSQL (GIN)."""

import pytest
from sqlalchemy import text, update

from engine.access.accounts import Actor
from engine.cases.finding import search
from engine.db.models import Case
from tests.fixtures.desk import COORDINADOR, ENLACE

AUDITOR = Actor("auditor", frozenset({"auditor"}))


def found(atiende, query, actor=COORDINADOR, before=None, limit=search.PAGE):
    with atiende.store.read() as s:
        return search.search(s, actor, query, before, limit)


def tickets(atiende, query, actor=COORDINADOR):
    return [h.ticket for h in found(atiende, query, actor).hits]


def test_by_ticket_cedula_name_and_words_accents_and_case_folded(atiende, desk):
    maria = desk.start()  # DEMO_CASES[0]: María Pérez, 8-123-4567, «Basura sin recoger»
    jose = desk.start(
        ciudadano_nombre="José Núñez Peña",
        ciudadano_cedula="PE-12-345",
        asunto="Luminaria apagada",
        descripcion="La luminaria del parque Urracá está apagada.",
        ciudadano_email="jose@example.com",
    )
    assert tickets(atiende, "AC-2026-000001") == ["AC-2026-000001"]
    assert tickets(atiende, "ac-2026-2") == ["AC-2026-000002"]  # case and zero padding forgiven
    assert tickets(atiende, "AC-2026") == ["AC-2026-000002", "AC-2026-000001"]  # newest first
    assert tickets(atiende, "2") == ["AC-2026-000002"]  # a ticket's number
    assert tickets(atiende, "8-123-4567") == ["AC-2026-000001"]
    assert tickets(atiende, "pe-12") == ["AC-2026-000002"]  # a cédula's beginning
    assert tickets(atiende, "maria perez") == ["AC-2026-000001"]
    assert tickets(atiende, "PÉREZ") == ["AC-2026-000001"]
    assert tickets(atiende, "nunez pena") == ["AC-2026-000002"]  # ñ and ú folded
    assert tickets(atiende, "lumin urraca") == ["AC-2026-000002"]  # words of the text, as prefixes
    assert tickets(atiende, "camion recolector") == ["AC-2026-000001"]
    assert tickets(atiende, "el camión de la basura") == ["AC-2026-000001"]  # «el», «de», «la» left out
    assert tickets(atiende, "jose@example") == ["AC-2026-000002"]
    assert tickets(atiende, "luminaria basura") == []  # every word must match
    assert tickets(atiende, "   ") == [] and tickets(atiende, "¿?") == []
    assert found(atiende, "maria").hits[0].case_id == maria and jose > maria


def test_the_index_follows_changes_to_a_case(atiende, desk):
    case_id = desk.start()
    with atiende.store.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(citizen_name="Rosa Batista", subject="Acera rota"))
    assert tickets(atiende, "batista acera") == ["AC-2026-000001"]
    assert tickets(atiende, "recoger") == []  # the old subject's word


def test_pages_walk_back_in_time_without_repeating(atiende, desk):
    ids = [desk.start() for _ in range(5)]
    first = found(atiende, "basura", limit=2)
    second = found(atiende, "basura", before=first.next_before, limit=2)
    third = found(atiende, "basura", before=second.next_before, limit=2)
    assert [h.case_id for h in first.hits + second.hits + third.hits] == ids[::-1]
    assert third.next_before is None and first.next_before == ids[3]


def test_an_enlace_finds_only_cases_of_their_direccion(atiende, desk):
    sent = desk.start()
    desk.start()
    for bpmn_id in (next(t for t in desk.ready(sent) if t.startswith("Task_plantilla_")), "Task_confeccionar_hoja"):
        desk.do(sent, bpmn_id)  # the hoja names Planificación Urbana
    assert [h.case_id for h in found(atiende, "basura", ENLACE).hits] == [sent]
    assert found(atiende, "basura", Actor("x", frozenset({"enlace"}))).hits == []  # no dirección: nothing
    assert len(found(atiende, "basura", AUDITOR).hits) == 2
    assert tickets(atiende, "AC-2026-000002", ENLACE) == []


def test_a_cedula_is_found_however_it_was_written(atiende, desk):
    desk.start()  # DEMO_CASES[0]: 8-123-4567
    for written in ("8 123 4567", "8–123–4567", "08.123.4567"):
        assert tickets(atiende, written) == ["AC-2026-000001"], written


def test_several_words_page_the_same_within_the_newest_documents_and_past_them(atiende, desk, monkeypatch):
    """On PostgreSQL the newest documents are tested first (``search.NEWEST``, then up to
    ``NEWEST_AT_MOST``) and the GIN index asked when they hold less than a page: pages are the same
    either way, and so is a dirección's."""
    subjects = ["Basura sin recoger", "Luminaria apagada", "Basura sin recoger", "Basura sin recoger", "Acera rota"]
    ids = [desk.start(asunto=subject) for subject in subjects]
    with atiende.store.unit_of_work() as s:
        s.execute(update(Case).where(Case.id.in_(ids[:2])).values(direccion=ENLACE.direccion))

    def pages(actor, limit):
        seen, before = [], None
        while True:
            page = found(atiende, "basura recoger", actor, before, limit)
            seen += [h.case_id for h in page.hits]
            if page.next_before is None:
                return seen
            before = page.next_before

    for newest, at_most in ((1, 1), (2, 3), (1, 100), (100, 100)):
        monkeypatch.setattr(search, "NEWEST", newest)
        monkeypatch.setattr(search, "NEWEST_AT_MOST", at_most)
        assert pages(COORDINADOR, 1) == pages(COORDINADOR, 5) == [ids[3], ids[2], ids[0]]
        assert pages(ENLACE, 1) == [ids[0]]


def test_a_bare_number_is_a_tickets_number_of_any_year_never_a_number_in_the_text(atiende, desk):
    desk.start()
    desk.start(descripcion="Pagué el recibo 000001 y me lo volvieron a cobrar.")
    assert tickets(atiende, "1") == ["AC-2026-000001"]  # not the second case, whose text holds «000001»
    assert tickets(atiende, "000002") == ["AC-2026-000002"]
    assert tickets(atiende, "3") == []


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("query", "actor"), [("basura", COORDINADOR), ("basura recoger", COORDINADOR), ("basura", ENLACE)]
)
def test_the_words_are_a_tsquery_the_server_reads_once_in_a_plan_for_any_words(atiende, desk, query, actor):
    """psycopg prepares a statement it is given often, and PostgreSQL may then plan it once for any
    value: with ``to_tsquery`` of a text parameter that plan would parse the words again for every
    document it tests. The words go as a tsquery."""
    desk.start()
    with atiende.store.read() as s:
        for _ in range(6):  # psycopg prepares a statement a connection has run five times
            search.search(s, actor, query)
        prepared = s.execute(text("SELECT statement, parameter_types::text FROM pg_prepared_statements")).all()
    searches = [(statement, types) for statement, types in prepared if "case_fts" in statement]
    assert searches
    for statement, types in searches:
        assert "to_tsquery" not in statement and "tsquery" in types, (statement, types)


def test_a_code_the_text_parser_splits_is_found_as_it_was_written(atiende, desk):
    """PostgreSQL's parser reads «4e7b9» as a number in scientific notation and a word («4e7», «b9»)."""
    desk.start(descripcion="El medidor 4e7b9 marca consumo sin estar conectado.")
    assert tickets(atiende, "4e7b9") == tickets(atiende, "medidor 4e7b9") == ["AC-2026-000001"]
