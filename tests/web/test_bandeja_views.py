"""The bandeja as a work screen (issue 18): sortable columns, saved views, several tasks claimed
or reassigned at once with each row's outcome said, only the buttons a person can use, the
header's search box, and the rows fragment the page refreshes itself with.

The cases each test makes are in a corregimiento the demo cases are not (``AQUI``), so the
rows asserted are the test's own whatever else the demo desk holds.
"""

import re

from sqlalchemy import select

from engine.access.accounts import create_user
from engine.db.models import AuditEvent, Case, HumanTask
from tests.web.conftest import html, start_case, task_id, to_approval

AQUI = "tocumen"
PLANTILLA = "Llenar plantilla de queja o reclamo"


def tickets(page: str) -> list[str]:
    return re.findall(r'<td data-etiqueta="Ticket"><a href="/casos/\d+">([^<]+)</a>', page)


def cells(page: str, column: str) -> list[str]:
    """The text of one column's cells, tags and spaces collapsed, in row order."""
    found = re.findall(rf'<td data-etiqueta="{column}">(.*?)</td>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in found]


def sorted_by(page: str) -> tuple[str, str] | None:
    """(column header text, aria-sort) of the column the table is sorted by."""
    match = re.search(r'<th scope="col" aria-sort="(ascending|descending)"[^>]*>\s*<a[^>]*>([^<]+)<', page)
    return (match.group(2).strip(), match.group(1)) if match else None


def three_cases(operador, frozen_clock) -> list[int]:
    """A queja, a reporte and a sugerencia, an hour apart (their tasks received in that order)."""
    ids = []
    for tipo in ("sugerencia", "queja_reclamo", "reporte"):
        ids.append(start_case(operador, tipo_caso=tipo, corregimiento=AQUI))
        frozen_clock.advance(hours=1)
    return ids


def ticket(store, case_id: int) -> str:
    with store.read() as s:
        return s.get(Case, case_id).ticket


def olga(store):
    with store.unit_of_work() as s:
        create_user(s, "operador2", "Olga Operadora", "otra-clave-2026", ["operador"])


# -- sorting -----------------------------------------------------------------------------------
def test_every_column_sorts_both_ways_and_says_so(store, browser, frozen_clock):
    operador = browser("operador")
    ids = three_cases(operador, frozen_clock)
    base = f"/?corregimiento={AQUI}"
    for orden, header, column in (
        ("ticket", "Ticket", "Ticket"),
        ("tarea", "Tarea", "Tarea"),
        ("caso", "Caso", "Caso"),
        ("recibido", "Recibido", "Recibido"),
    ):
        up, down = html(operador.get(f"{base}&orden={orden}")), html(operador.get(f"{base}&orden={orden}_desc"))
        assert sorted_by(up) == (header, "ascending") and sorted_by(down) == (header, "descending")
        assert tickets(up) == list(reversed(tickets(down))) and len(tickets(up)) == 3
        if column in ("Ticket", "Tarea", "Caso"):
            assert cells(up, column) == sorted(cells(up, column))
    received = html(operador.get(f"{base}&orden=recibido_desc"))
    assert tickets(received) == [ticket(store, i) for i in reversed(ids)]  # newest first
    for orden, header in (("vence", "Vence"), ("asignada", "Asignada a"), ("direccion", "Dirección")):
        page = html(operador.get(f"{base}&orden={orden}_desc"))
        assert sorted_by(page) == (header, "descending") and len(tickets(page)) == 3


def test_a_bad_order_falls_back_to_the_default_never_a_500(browser, frozen_clock):
    operador = browser("operador")
    three_cases(operador, frozen_clock)
    default = html(operador.get(f"/?corregimiento={AQUI}"))
    for bad in ("1;DROP TABLE human_task", "id", "ticket_desc_desc", "__class__", "x" * 300):
        response = operador.get(f"/?corregimiento={AQUI}&orden={bad}")
        assert response.status_code == 200
        page = html(response)
        assert sorted_by(page) == ("Vence", "ascending") and tickets(page) == tickets(default)


def test_the_order_is_kept_across_views_filters_and_pages(browser, frozen_clock):
    operador = browser("operador")
    three_cases(operador, frozen_clock)
    page = html(operador.get(f"/?corregimiento={AQUI}&orden=tarea_desc"))
    tabs = re.search(r'<nav class="pestanas".*?</nav>', page, re.S).group(0)
    assert tabs.count("orden=tarea_desc") == tabs.count("<a ") >= 4
    assert '<option value="tarea_desc" selected>' in page  # the filter form keeps it
    # the header of the sorted column offers the other direction, keeping the filters
    assert f'href="/?corregimiento={AQUI}&amp;orden=tarea"' in page


# -- saved views --------------------------------------------------------------------------------
def test_mis_vencidas_shows_my_overdue_tasks_only(store, browser, frozen_clock):
    operador = browser("operador")
    mine_late, other_late = three_cases(operador, frozen_clock)[:2]
    operador.post(f"/tareas/{task_id(store, mine_late, 'Llenar plantilla de sugerencia')}/tomar", {}, page="/")
    frozen_clock.advance(days=2)  # every template's one-day plazo has passed
    fresh = start_case(operador, corregimiento=AQUI)
    operador.post(f"/tareas/{task_id(store, fresh, PLANTILLA)}/tomar", {}, page="/")
    page = html(operador.get(f"/?alcance=mias&vence=vencidas&corregimiento={AQUI}"))
    assert tickets(page) == [ticket(store, mine_late)]  # not the fresh one, not the unclaimed late one
    assert ticket(store, other_late) in tickets(html(operador.get(f"/?vence=vencidas&corregimiento={AQUI}")))
    assert re.search(r'aria-current="page">Mis vencidas<', page)
    assert re.search(
        r'href="/\?alcance=mias&amp;corregimiento=tocumen&amp;vence=vencidas"',
        html(operador.get(f"/?corregimiento={AQUI}")),
    )


def test_sin_asignar_and_mias_split_the_default_view(store, browser, frozen_clock):
    operador = browser("operador")
    first, *_ = three_cases(operador, frozen_clock)
    operador.post(f"/tareas/{task_id(store, first, 'Llenar plantilla de sugerencia')}/tomar", {}, page="/")
    everything = tickets(html(operador.get(f"/?corregimiento={AQUI}")))
    mine = tickets(html(operador.get(f"/?alcance=mias&corregimiento={AQUI}")))
    free_page = html(operador.get(f"/?alcance=disponibles&corregimiento={AQUI}"))
    assert mine == [ticket(store, first)] and sorted(mine + tickets(free_page)) == sorted(everything)
    assert re.search(r'aria-current="page">Sin asignar<', free_page)


def test_por_aprobar_lists_the_approval_tasks_for_a_coordinator(store, browser, frozen_clock):
    operador, coordinador = browser("operador"), browser("coordinador")
    approving, waiting = three_cases(operador, frozen_clock)[1:]
    to_approval(store, operador, approving)
    page = html(coordinador.get("/?clase=aprobacion"))
    assert re.search(r'aria-current="page">Por aprobar<', page)
    assert tickets(page) == [ticket(store, approving)] and cells(page, "Tarea")[0].startswith("Aprobar hoja de trámite")
    team = tickets(html(coordinador.get("/?alcance=equipo&clase=aprobacion")))
    assert (
        ticket(store, waiting) not in team and ticket(store, approving) in team
    )  # an operador's plantilla is not an approval
    # the views depend on the role: an operador has no «Por aprobar» nor «Todo el equipo»
    tabs = html(operador.get("/"))
    assert "Por aprobar" not in tabs and "Todo el equipo" not in tabs and "Mis vencidas" in tabs
    assert "Por aprobar" in html(coordinador.get("/"))


# -- several at once ---------------------------------------------------------------------------
def test_bulk_claim_reports_each_refused_row_and_claims_the_others(store, browser, frozen_clock):
    olga(store)
    operador = browser("operador")
    ids = three_cases(operador, frozen_clock)
    tasks = [
        task_id(store, ids[0], "Llenar plantilla de sugerencia"),
        task_id(store, ids[1], PLANTILLA),
        task_id(store, ids[2], "Llenar plantilla de reporte"),
    ]
    other = browser()
    other.login("operador2", "otra-clave-2026")
    other.post(f"/tareas/{tasks[1]}/tomar", {}, page="/")
    done = operador.post("/bandeja/lote", {"accion": "tomar", "tarea": tasks, "volver": "/?alcance=mias"}, page="/")
    assert done.status_code == 302 and done.headers["Location"] == "/?alcance=mias"
    page = html(operador.get("/?alcance=mias"))
    assert f"2 tareas tomadas; 1 no: {ticket(store, ids[1])}, ya la tomó Olga Operadora." in page
    assert sorted(tickets(page)) == [ticket(store, ids[0]), ticket(store, ids[2])]
    with store.read() as s:
        assert s.get(HumanTask, tasks[1]).assignee == "operador2"

    one = operador.post("/bandeja/lote", {"accion": "tomar", "tarea": [tasks[0]]}, page="/")
    assert "1 tarea tomada." in html(operador.get(one.headers["Location"]))
    nothing = operador.post("/bandeja/lote", {"accion": "tomar"}, page="/")
    assert "Marque al menos una tarea." in html(operador.get(nothing.headers["Location"]))


def test_bulk_post_needs_its_csrf_token(browser, store, frozen_clock):
    operador = browser("operador")
    [first, *_] = three_cases(operador, frozen_clock)
    tid = task_id(store, first, "Llenar plantilla de sugerencia")
    refused = operador.client.post("/bandeja/lote", data={"accion": "tomar", "tarea": tid})
    assert refused.status_code == 400
    with store.read() as s:
        assert s.get(HumanTask, tid).assignee is None


def test_bulk_reassign_is_for_coordinators_and_reports_who_may_not(store, browser, frozen_clock):
    olga(store)
    operador, coordinador = browser("operador"), browser("coordinador")
    plantilla, approving = three_cases(operador, frozen_clock)[:2]
    to_approval(store, operador, approving)
    tasks = [
        task_id(store, plantilla, "Llenar plantilla de sugerencia"),
        task_id(store, approving, "Aprobar hoja de trámite"),
    ]
    assert (
        operador.post(
            "/bandeja/lote", {"accion": "reasignar", "usuario": "operador2", "tarea": tasks}, page="/"
        ).status_code
        == 403
    )
    moved = coordinador.post(
        "/bandeja/lote",
        {"accion": "reasignar", "usuario": "operador2", "tarea": tasks, "volver": "/?alcance=equipo"},
        page="/",
    )
    page = html(coordinador.get(moved.headers["Location"]))
    assert (
        f"1 tarea reasignada a Olga Operadora; 1 no: {ticket(store, approving)}, "
        "Olga Operadora no puede atender esta tarea" in page
    )
    with store.read() as s:
        assert s.get(HumanTask, tasks[0]).assignee == "operador2" and s.get(HumanTask, tasks[1]).assignee is None
    again = coordinador.post(
        "/bandeja/lote", {"accion": "reasignar", "usuario": "operador2", "tarea": tasks[:1]}, page="/"
    )
    assert f"0 tareas reasignadas; 1 no: {ticket(store, plantilla)}, ya está asignada a Olga Operadora." in html(
        coordinador.get(again.headers["Location"])
    )


# -- reassigning one ------------------------------------------------------------------------------
def test_reassign_offers_anyone_who_may_work_the_task_and_nobody_else(store, browser):
    with store.unit_of_work() as s:  # not operadores by trade, but holding the lane's role
        create_user(s, "defensa_op", "Dora Doble", "otra-clave-2026", ["defensa_usuario", "operador"])
        create_user(
            s, "enlace_pu", "Pablo Enlace", "otra-clave-2026", ["enlace", "inspector"], direccion="planificacion_urbana"
        )
        create_user(s, "ida_baja", "Ida de Baja", "otra-clave-2026", ["operador"]).active = False
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador, corregimiento=AQUI)
    tid = task_id(store, case_id, PLANTILLA)
    page = html(coordinador.get(f"/tareas/{tid}/reasignar"))
    assert '<option value="defensa_op"' in page and '<option value="operador"' in page
    assert '<option value="ida_baja"' not in page  # no longer active
    assert '<option value="defensa"' not in page and '<option value="enlace_pu"' not in page
    to_approval(store, operador, case_id)
    with store.read() as s:
        approval = s.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id))
    coordinador.post(f"/tareas/{approval}", {"decision_hoja": "aprobar"})
    acuse = task_id(store, case_id, "Confirmar acuse de recibo")
    page = html(coordinador.get(f"/tareas/{acuse}/reasignar"))
    assert '<option value="enlace_pu"' in page and '<option value="enlace"' in page
    assert '<option value="enlace_ambiental"' not in page and '<option value="defensa_op"' not in page


def test_reassigning_to_the_person_already_assigned_is_refused_in_spanish(store, browser):
    olga(store)
    operador, coordinador = browser("operador"), browser("coordinador")
    tid = task_id(store, start_case(operador, corregimiento=AQUI), PLANTILLA)
    coordinador.post(f"/tareas/{tid}/reasignar", {"usuario": "operador2"}, page=f"/tareas/{tid}/reasignar")
    with store.read() as s:
        before = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    same = coordinador.post(f"/tareas/{tid}/reasignar", {"usuario": "operador2"}, page=f"/tareas/{tid}/reasignar")
    assert same.status_code == 422
    assert "La tarea ya está asignada a Olga Operadora." in html(same) and "Tarea reasignada" not in html(same)
    with store.read() as s:
        assert s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == before


# -- no button a person cannot use ----------------------------------------------------------------
def test_no_tomar_for_a_coordinator_on_a_task_not_theirs(store, browser, frozen_clock):
    operador, coordinador = browser("operador"), browser("coordinador")
    plantilla, approving = three_cases(operador, frozen_clock)[:2]
    to_approval(store, operador, approving)
    page = html(coordinador.get(f"/?alcance=equipo&corregimiento={AQUI}"))
    rows = re.findall(r"<tr class=[^>]*>.*?</tr>", page, re.S)
    by_ticket = {tickets(row)[0]: row for row in rows}
    sugerencia, approval = by_ticket[ticket(store, plantilla)], by_ticket[ticket(store, approving)]
    assert "/tomar" not in sugerencia and 'name="tarea"' in sugerencia  # reassign only: a checkbox, no Tomar
    assert f'href="/tareas/{task_id(store, plantilla, "Llenar plantilla de sugerencia")}"' not in sugerencia
    assert "/tomar" in approval and "Reasignar" in approval
    assert "Reasignar" not in html(operador.get(f"/?corregimiento={AQUI}"))  # coordinators only
    refused = coordinador.post(
        "/bandeja/lote",
        {"accion": "tomar", "tarea": [task_id(store, plantilla, "Llenar plantilla de sugerencia")]},
        page="/",
    )
    assert f"0 tareas tomadas; 1 no: {ticket(store, plantilla)}, no tiene permiso para esta tarea." in html(
        coordinador.get(refused.headers["Location"])
    )


# -- the header's search box -------------------------------------------------------------------------
def test_the_header_search_box_is_on_every_signed_in_page_of_a_case_reader(store, browser):
    operador = browser("operador")
    case_id = start_case(operador, corregimiento=AQUI)
    header = re.compile(
        r'<form(?=[^>]*role="search")(?=[^>]*action="/buscar/")[^>]*>\s*<label for="buscar-cabecera"[^>]*>[^<]+</label>'
        r'.*?<input type="search" id="buscar-cabecera" name="q"',
        re.S,
    )
    for path in (
        "/",
        "/buscar/?q=rosa",
        f"/casos/{case_id}",
        f"/tareas/{task_id(store, case_id, PLANTILLA)}",
        "/documentos/archivo",
        "/entrada/",
    ):
        response = operador.get(path)
        assert response.status_code == 200, path
        assert header.search(html(response)), path
    assert ticket(store, case_id) in html(operador.get(f"/buscar/?q={ticket(store, case_id)}"))
    assert not header.search(html(browser("admin").get("/")))  # the administrator reads no case: no box
    assert not header.search(html(browser().get("/ingresar")))


# -- the rows fragment ---------------------------------------------------------------------------------
def test_the_rows_fragment_follows_the_filters_and_is_for_signed_in_people(store, browser, frozen_clock):
    operador = browser("operador")
    ids = three_cases(operador, frozen_clock)
    fragment = operador.get(f"/bandeja/filas?corregimiento={AQUI}&orden=ticket_desc")
    assert fragment.status_code == 200 and "<html" not in html(fragment) and "<tbody" in html(fragment)
    assert tickets(html(fragment)) == sorted((ticket(store, i) for i in ids), reverse=True)
    assert fragment.headers["Cache-Control"] == "no-store"
    assert browser().get("/bandeja/filas").status_code in (302, 401)
    page = html(operador.get("/"))
    assert 'aria-live="polite"' in page and 'src="/static/bandeja.js"' in page
    assert 'data-filas="/bandeja/filas"' in page
