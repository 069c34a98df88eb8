"""The case page: days left to the legal deadline, internal notes, documents, timeline."""

from datetime import timedelta

from sqlalchemy import event

from engine.clock import FrozenClock
from tests.conftest import START
from tests.integration.test_round_trips import counted
from tests.web.conftest import HOJA, html, start_case, task_id, to_approval
from tests.web.test_form_defaults import textarea
from web.cases import deadline
from web.ui.submission import ACTION_FIELD, DRAFT


def test_days_left_are_counted_in_panama_calendar_days():
    now = START  # Monday 02/03/2026 09:00 in Panamá
    assert deadline(None, False, now) is None
    assert deadline(now + timedelta(days=30), False, now).text == "Quedan 30 días"
    assert deadline(now + timedelta(days=1), False, now).text == "Queda 1 día"
    assert deadline(now + timedelta(hours=10), False, now).text == "Vence hoy"  # 19:00 the same day
    late = deadline(now - timedelta(days=3), False, now)
    assert (late.text, late.level) == ("Vencido hace 3 días", "vencido")
    assert deadline(now + timedelta(days=4), False, now).level == "pronto"
    assert deadline(now - timedelta(days=3), True, now).text == "Caso cerrado"


def test_the_case_page_shows_the_deadline_and_internal_notes(store, browser, frozen_clock: FrozenClock):
    operador = browser("operador")
    case_id = start_case(operador)
    page = html(operador.get(f"/casos/{case_id}"))
    assert "Quedan 30 días" in page and "(fecha límite 01/04/2026)" in page
    assert "mensaje-nota" not in page and "No hay archivos adjuntos." in page  # notes: in the conversation

    empty = operador.post(f"/casos/{case_id}/notas", {"texto": "  "}, page=f"/casos/{case_id}")
    assert empty.status_code == 422
    assert '<p class="error" id="nota-texto-error"><span class="sr">Error:</span> Escriba la nota.</p>' in html(empty)
    added = operador.post(
        f"/casos/{case_id}/notas", {"texto": "Llamé al ciudadano: amplía la queja mañana."}, page=f"/casos/{case_id}"
    )
    assert added.status_code == 302 and added.headers["Location"] == f"/casos/{case_id}#notas"
    frozen_clock.advance(days=31)
    page = html(browser("coordinador").get(f"/casos/{case_id}"))
    assert "Llamé al ciudadano: amplía la queja mañana." in page and "Ana Operadora (operador)" in page
    assert "Nota interna" in page  # in the timeline too
    assert "Vencido hace 1 día" in page

    auditor = html(browser("auditor").get(f"/casos/{case_id}"))
    assert "Llamé al ciudadano" in auditor and 'action="/casos/' not in auditor  # reads, cannot write


def test_the_summary_names_its_codes_from_the_engines_catalogue_cache(app, store, browser):
    """Type, dirección and corregimiento are read together, not a catalogue at a time, into the engine's
    ``CatalogCache``: the case page and the task page after it read them once."""
    operador = browser("operador")
    case_id = start_case(operador)
    task = task_id(store, case_id, "Llenar plantilla de queja o reclamo")
    read: list[set] = []  # the catalogues each read of catalog_item names

    def listener(_conn, _cursor, sql, parameters, *_):
        if "FROM catalog_item" in sql:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            read.append({value for value in values if isinstance(value, str)})

    engine = app.extensions["atiende"].store.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        pages = {url: html(operador.get(url)) for url in (f"/casos/{case_id}", f"/tareas/{task}")}
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    for page in pages.values():
        assert "Queja o reclamo" in page and "Bella Vista" in page
    summary = {"tipos_caso", "corregimientos", "direcciones"}
    assert [named for named in read if named & summary] == [summary], read


# The most a case's pages may cost, warm: statements on SQLite, round trips on PostgreSQL. They read what
# they show together (engine.cases.expediente: one round trip, the cases linked and the case's documents
# included; the case page's inline form is of a task it read there), the task page first its task with
# its case; for an operator both look for possible duplicates in the same read session
# (web.channels.duplicados). On PostgreSQL the access check is no round trip while nothing about people
# changes (engine.db.listening).
PAGE_BOUNDS = {"sqlite": {"caso": 18, "tarea": 12}, "postgresql": {"caso": 2, "tarea": 3}}


def test_the_case_and_task_pages_read_what_they_show_together(app, store, browser, tmp_path):
    operador = browser("operador")
    case_id = start_case(operador)
    operador.post(f"/casos/{case_id}/notas", {"texto": "Llamó el ciudadano."}, page=f"/casos/{case_id}")
    task = task_id(store, case_id, "Llenar plantilla de queja o reclamo")
    draft = {"hechos": "Borrador de hechos.", ACTION_FIELD: DRAFT}
    assert operador.post(f"/tareas/{task}", draft, page=f"/tareas/{task}").status_code == 302
    shown = _within_bounds(app, operador, case_id, task, tmp_path)
    for page in shown.values():
        assert "Ana Operadora" in page and "Borrador de hechos." in page
    assert "Llamó el ciudadano." in shown["caso"] and f'action="/tareas/{task}"' in shown["caso"]


def _within_bounds(app, operador, case_id: int, task: str, tmp_path) -> dict[str, str]:
    """The case page and the task page, warm, each checked against PAGE_BOUNDS; their HTML."""
    pages = {"caso": f"/casos/{case_id}", "tarea": f"/tareas/{task}"}
    engine_store = app.extensions["atiende"].store
    spent, shown = {}, {}
    with counted(engine_store, tmp_path) as count:
        for _ in range(8):  # as in a running process: psycopg prepares what a connection runs often
            for url in pages.values():
                operador.get(url)
        for name, url in pages.items():
            before = count()
            shown[name] = html(operador.get(url))
            spent[name] = count() - before
    bounds = PAGE_BOUNDS[engine_store.engine.dialect.name]
    assert all(spent[name] <= bound for name, bound in bounds.items()), (spent, bounds)
    return shown


def test_a_form_started_from_an_earlier_tasks_answer_reads_it_with_the_case(app, store, browser, tmp_path):
    """A returned hoja starts from the hoja answered before (``x-desde`` «tarea:hoja_de_tramite»): its
    pages take that answer from the case's history they read anyway, at no cost over PAGE_BOUNDS."""
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    aprobar = task_id(store, case_id, "Aprobar hoja de trámite")
    returned = coordinador.post(f"/tareas/{aprobar}", {"decision_hoja": "devolver", "comentarios_aprobacion": "Falta."})
    assert returned.status_code == 302
    hoja = task_id(store, case_id, "Confeccionar hoja de trámite")
    for page in _within_bounds(app, operador, case_id, hoja, tmp_path).values():
        assert textarea(page, "resumen") == HOJA["resumen"]
