"""Possible duplicates: shown on the case and task pages, linked once, audited on both cases."""

from __future__ import annotations

import random
import string

import pytest
from sqlalchemy import select

from engine.audit import trail as audit
from engine.cases import queries
from engine.cases.finding import duplicates
from engine.db.models import Case, CaseLink
from engine.errors import LinkError
from tests.fixtures.desk import OPERADOR
from tests.fixtures.sql_seen import sql_seen
from tests.web.conftest import CAPTURA, html

ACERA = {
    **CAPTURA,
    "asunto": "Acera rota frente a la escuela",
    "descripcion": "La acera frente a la escuela Belisario Porras está rota y los niños se caen.",
}


def start(app, **changes) -> Case:
    engine = app.extensions["atiende"]
    started = engine.start_case(
        "atencion_correo_web", {**ACERA, "respuesta_inmediata_enviada": True, **changes}, OPERADOR
    )
    with engine.store.read() as s:
        return s.get(Case, started.case_id)


def test_similarity_is_trigram_based_and_ignores_accents_and_case():
    assert duplicates.similarity("Acera rota", "ACERA ROTA") == 1.0
    assert duplicates.similarity("árbol caído", "arbol caido") == 1.0
    assert duplicates.similarity("Acera rota frente a la escuela", "Luminaria apagada en el parque") < 0.15
    assert duplicates.similarity("", "algo") == 0.0
    # «  a», « ab» shared; «abc», «bc », «abd», «bd » not: two of the six trigrams (pg_trgm gives 0.333333)
    assert duplicates.similarity("abc", "abd") == 2 / 6


def test_the_words_compared_are_runs_of_letters_and_digits_without_accents_or_stopwords():
    assert duplicates.trigrams("Calle 50, N.º 3: ¡el árbol_caído!") == duplicates.trigrams("calle 50 n o 3 arbol caido")
    assert duplicates.trigrams("ﬁesta ½") == duplicates.trigrams("fiesta 12")  # compatibility forms unfolded
    assert duplicates.trigrams("de la por que") == set()


def test_a_similar_open_case_of_the_same_place_and_type_is_offered(app, browser):
    first = start(app)
    second = start(app, descripcion="La acera de la escuela Belisario Porras sigue rota, un niño se cayó.")
    start(app, corregimiento="calidonia")  # same words, another place
    start(app, asunto="Basura acumulada", descripcion="Bolsas de basura sin recoger en la esquina.")
    with app.extensions["atiende"].store.read() as s:
        found = duplicates.possible(s, s.get(Case, second.id))
    assert [f.ticket for f in found] == [first.ticket]
    assert found[0].score >= duplicates.THRESHOLD
    page = html(browser("operador").get(f"/casos/{second.id}"))
    assert "Posibles duplicados" in page and f"Vincular con {first.ticket}" in page


def test_each_text_is_split_into_words_once_for_all_the_pages_that_compare_it(app, monkeypatch):
    """The pages of one place and type compare the same texts: each is read once, and read anew
    once it has changed."""
    cases = [
        start(app),
        start(app, descripcion="La acera de la escuela Belisario Porras sigue rota, un niño se cayó."),
        start(app, descripcion="Frente a la escuela Belisario Porras la acera está rota desde enero."),
    ]
    fresh = duplicates.Kept(lambda text: tuple(duplicates.trigrams(text)), duplicates._size, duplicates.TEXT_BYTES_KEPT)
    monkeypatch.setattr(duplicates, "_kept_trigrams", fresh)  # nothing kept from the cases' starts
    texts_read: list[str] = []
    words = duplicates._words
    monkeypatch.setattr(duplicates, "_words", lambda text: texts_read.append(text) or words(text))
    store = app.extensions["atiende"].store

    def pages() -> list[list[duplicates.Similar]]:
        with store.read() as s:
            return [duplicates.possible(s, s.get(Case, case.id)) for case in cases]

    found = pages()
    assert all(found)
    texts = {duplicates._text(case.subject, case.description) for case in cases}
    assert texts <= set(texts_read) and len(texts_read) == len(set(texts_read))  # each once
    read_first = len(texts_read)
    assert pages() == found and len(texts_read) == read_first
    changed = "Otra cosa muy distinta: un poste del tendido eléctrico, caído sobre un automóvil estacionado."
    with store.unit_of_work() as s:
        third = s.get(Case, cases[2].id)
        third.data = {**third.data, "descripcion": changed}
    assert [f.case_id for f in pages()[0]] == [cases[1].id]
    assert texts_read[read_first:] == [duplicates._text(cases[2].subject, changed)]


def test_what_is_kept_stays_within_its_bytes():
    """The least recently asked go first, and one larger than the whole budget is not kept (nor does it
    push anything out)."""
    texts = [f"acera rota número {n} frente a la escuela" for n in range(4)]

    def make(text: str) -> tuple[str, ...]:
        return tuple(duplicates.trigrams(text))

    one = duplicates._size(texts[0], make(texts[0]))
    kept = duplicates.Kept(make, duplicates._size, budget=3 * one)
    for text in texts[:3]:
        kept(text)
    kept(texts[0])  # asked again: now the most recent
    kept(texts[3])  # the fourth pushes out the least recently asked, the second
    assert list(kept._kept) == [texts[2], texts[0], texts[3]]
    assert kept._held == sum(size for _found, size in kept._kept.values()) <= 3 * one
    # A pasted code as long as a description: one «word» of thousands of trigrams.
    code = "".join(random.Random(7).choices(string.ascii_lowercase + string.digits, k=4000))
    assert kept(code) == make(code)
    assert list(kept._kept) == [texts[2], texts[0], texts[3]]


def test_linking_is_audited_on_both_cases_and_shown_once(app, browser):
    first, second = start(app), start(app)
    operador = browser("operador")
    response = operador.post(
        f"/casos/{second.id}/vincular",
        {"otro_caso": first.id, "volver": f"/casos/{second.id}"},
        page=f"/casos/{second.id}",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/casos/{second.id}")
    page = html(operador.get(f"/casos/{second.id}"))
    assert "Vinculado como duplicado con" in page and f"Vincular con {first.ticket}" not in page
    assert first.ticket in html(operador.get(f"/casos/{first.id}"))
    store = app.extensions["atiende"].store
    with store.read() as s:
        assert len(list(s.scalars(select(CaseLink)))) == 1
        for this, other in ((first, second), (second, first)):
            [event] = [e for e in audit.case_history(s, this.id) if e.kind == "caso_vinculado"]
            assert event.actor == "operador" and event.detail["con"] == other.ticket
    again = operador.post(f"/casos/{first.id}/vincular", {"otro_caso": second.id}, page=f"/casos/{first.id}")
    assert "ya están vinculados" in html(operador.get(again.headers["Location"]))


def test_the_case_page_reads_the_cases_links_once(app, browser):
    """The links both leave the linked cases out of the possible duplicates and are shown."""
    first, second = start(app), start(app)
    third = start(app)
    engine = app.extensions["atiende"]
    duplicates.link(engine.store, first.id, second.id, OPERADOR, engine.now())
    operador = browser("operador")
    with sql_seen(engine.store) as seen:
        page = html(operador.get(f"/casos/{second.id}"))
    assert "Vinculado como duplicado con" in page and first.ticket in page
    assert f"Vincular con {first.ticket}" not in page and f"Vincular con {third.ticket}" in page
    read = [sql for sql in seen if "FROM case_link" in sql]
    assert len(read) == 1, read


def test_the_task_page_shows_possible_duplicates_too(app, browser):
    first = start(app)
    second = start(app)
    with app.extensions["atiende"].store.read() as s:
        task = queries.open_tasks(s, second.id)[0]
    assert f"Vincular con {first.ticket}" in html(browser("operador").get(f"/tareas/{task.id}"))


@pytest.mark.parametrize("who", ["enlace", "auditor"])
def test_other_roles_neither_see_nor_link(app, browser, who):
    first, second = start(app, direccion="planificacion_urbana"), start(app)
    person = browser(who)
    assert person.post(f"/casos/{second.id}/vincular", {"otro_caso": first.id}, page="/").status_code == 403
    with app.extensions["atiende"].store.read() as s:
        assert s.scalar(select(CaseLink.id)) is None


def test_a_case_cannot_be_linked_with_itself_or_a_missing_case(app):
    case = start(app)
    engine = app.extensions["atiende"]
    with pytest.raises(LinkError, match="consigo mismo"):
        duplicates.link(engine.store, case.id, case.id, OPERADOR, engine.now())
    with pytest.raises(LinkError, match="no existe"):
        duplicates.link(engine.store, case.id, 999999, OPERADOR, engine.now())
