"""The bandeja in the browser's terms: filters in the address, counts, claim, release, reassign."""

import re

from engine.access.accounts import create_user
from tests.integration.test_round_trips import counted
from tests.web.conftest import html, start_case, task_id

PLANTILLA = "Llenar plantilla de queja o reclamo"


def rows(page: str) -> list[str]:
    """The tickets of the bandeja's rows, in order."""
    return re.findall(r'<td data-etiqueta="Ticket"><a href="/casos/\d+">([^<]+)</a>', page)


def test_filters_travel_in_the_address_and_counts_follow_them(store, browser):
    operador = browser("operador")
    start_case(operador, tipo_caso="reporte", canal="pagina_web", corregimiento="calidonia")
    page = html(operador.get("/"))
    assert len(rows(page)) == 4 and "<strong>4</strong> tareas" in page  # three demo cases and this one
    filtered = html(operador.get("/?tipo=reporte&corregimiento=calidonia"))
    assert rows(filtered) == ["AC-2026-000004"] and "<strong>1</strong> tarea" in filtered
    assert '<option value="reporte" selected>' in filtered and '<option value="calidonia" selected>' in filtered
    assert rows(html(operador.get("/?corregimiento=tocumen"))) == []
    assert "No hay tareas con estos filtros." in html(operador.get("/?corregimiento=tocumen"))
    # the tabs keep the filters
    assert 'href="/?alcance=mias&amp;tipo=reporte&amp;corregimiento=calidonia"' in filtered


def test_overdue_and_due_soon_are_marked_and_counted(browser, frozen_clock):
    operador = browser("operador")
    frozen_clock.advance(hours=20)
    page = html(operador.get("/"))
    assert page.count('class="fila-pronto"') == 3 and "3 vencen pronto" in page
    frozen_clock.advance(hours=5)
    page = html(operador.get("/?vence=vencidas"))
    assert page.count('class="fila-vencida"') == 3 and "3 vencidas" in page


def test_paging_keeps_filters_and_never_repeats_a_task(store, browser):
    operador = browser("operador")
    for _ in range(24):
        start_case(operador)
    first, second = html(operador.get("/")), html(operador.get("/?pagina=2"))
    assert len(rows(first)) == 25 and len(rows(second)) == 2
    assert not set(rows(first)) & set(rows(second))
    assert "Página 1 de 2" in first and 'href="/?pagina=2" rel="next"' in first
    assert 'href="/" rel="prev"' in second


def test_a_claimed_task_leaves_the_others_bandejas_and_can_be_released(store, browser):
    with store.unit_of_work() as s:
        create_user(s, "operador2", "Olga Operadora", "otra-clave-2026", ["operador"])
    operador = browser("operador")
    case_id = start_case(operador)
    tid = task_id(store, case_id, PLANTILLA)
    claimed = operador.post(f"/tareas/{tid}/tomar", {"volver": "/?alcance=mias"}, page="/")
    assert claimed.status_code == 302 and claimed.headers["Location"] == "/?alcance=mias"
    mine = html(operador.get("/?alcance=mias"))
    assert rows(mine) == ["AC-2026-000004"] and "Tarea tomada." in mine
    assert f'action="/tareas/{tid}/liberar"' in mine

    olga = browser()
    olga.login("operador2", "otra-clave-2026")
    assert "AC-2026-000004" not in rows(html(olga.get("/")))
    refused = olga.get(f"/tareas/{tid}")
    assert refused.status_code == 403 and "La tarea está asignada a Ana Operadora." in html(refused)
    again = olga.post(f"/tareas/{tid}/tomar", {}, page="/")
    assert "La tarea ya la tomó Ana Operadora." in html(olga.get(again.headers["Location"]))

    operador.post(f"/tareas/{tid}/liberar", {}, page="/")
    assert "AC-2026-000004" in rows(html(olga.get("/?alcance=disponibles")))


def test_a_coordinator_sees_the_whole_team_and_reassigns(store, browser):
    with store.unit_of_work() as s:
        create_user(s, "operador2", "Olga Operadora", "otra-clave-2026", ["operador"])
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    tid = task_id(store, case_id, PLANTILLA)
    team = html(coordinador.get("/?alcance=equipo"))
    assert "Todo el equipo" in team and "AC-2026-000004" in rows(team)
    assert "Todo el equipo" not in html(operador.get("/"))  # only coordinators have the tab

    page = html(coordinador.get(f"/tareas/{tid}/reasignar?volver=/%3Falcance%3Dequipo"))
    assert '<option value="operador2"' in page and '<option value="enlace"' not in page  # only who may do it
    moved = coordinador.post(
        f"/tareas/{tid}/reasignar",
        {"usuario": "operador2", "volver": "/?alcance=equipo"},
        page=f"/tareas/{tid}/reasignar",
    )
    assert moved.status_code == 302 and moved.headers["Location"] == "/?alcance=equipo"
    assert "Olga Operadora" in html(coordinador.get("/?alcance=equipo"))
    assert operador.get(f"/tareas/{tid}").status_code == 403
    refused = coordinador.post(f"/tareas/{tid}/reasignar", {"usuario": "enlace"}, page=f"/tareas/{tid}/reasignar")
    assert refused.status_code == 422 and "no puede atender esta tarea" in html(refused)
    history = html(operador.get(f"/casos/{case_id}"))
    assert "Tarea reasignada" in history and "nadie → operador2" in history


def test_returning_after_an_action_never_leaves_the_site(store, browser):
    operador = browser("operador")
    tid = task_id(store, start_case(operador), PLANTILLA)
    response = operador.post(f"/tareas/{tid}/tomar", {"volver": "https://evil.example/"}, page="/")
    assert response.headers["Location"] == f"/tareas/{tid}"


# The most a bandeja page may cost, warm: statements on SQLite, round trips on PostgreSQL. The counts and
# the page asked for are read together (engine.cases.finding.worklist.page); a page past the last is read
# again once the counts say which is the last.
BANDEJA_BOUNDS = {"sqlite": 7, "postgresql": 1}


def test_a_bandeja_page_reads_its_counts_and_rows_together(app, browser, tmp_path):
    operador = browser("operador")
    engine_store = app.extensions["atiende"].store
    addresses = ["/", "/?orden=ticket_desc", "/?pagina=9"]
    with counted(engine_store, tmp_path) as count:
        for _ in range(8):  # as in a running process: psycopg prepares what a connection runs often
            for address in addresses:
                operador.get(address)
        spent, shown = {}, {}
        for address in addresses:
            before = count()
            shown[address] = html(operador.get(address))
            spent[address] = count() - before
    assert len(rows(shown["/"])) == 3 and "<strong>3</strong> tareas" in shown["/"]  # the demo's cases
    assert rows(shown["/?orden=ticket_desc"]) == sorted(rows(shown["/"]), reverse=True)
    assert rows(shown["/?pagina=9"]) == rows(shown["/"])  # past the last page: the last one
    bound = BANDEJA_BOUNDS[engine_store.engine.dialect.name]
    assert spent["/"] <= bound and spent["/?orden=ticket_desc"] <= bound, spent
    assert spent["/?pagina=9"] <= bound + 1, spent
