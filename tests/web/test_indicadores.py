"""Indicadores: who sees them (an enlace only their dirección), the filters (bad input said in Spanish
beside the field, never a 500), the drill-down behind every figure, and the exports, whose text stays
text (a label «=1+1» is never a formula)."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from engine.access.accounts import Actor
from engine.db.models import CatalogItem
from engine.intake import survey
from tests.fixtures.desk import Desk
from tests.web.conftest import html

HOSTILE = "=1+1"
ALLOWED = ("coordinador", "auditor", "admin", "enlace", "enlace_ambiental")
REFUSED = ("operador", "analista", "defensa", "lotes")
AMBIENTAL = Actor("enlace_ambiental", frozenset({"enlace"}), "gestion_ambiental")


@pytest.fixture
def office(app, frozen_clock):
    """At START: four cases to the final answer's wait. Two days on, Planificación Urbana answers one
    (on time); 60 days on, Gestión Ambiental answers one (late); one of Planificación stays open past its
    term; one more arrives today (open within its term). ``period``: the query string of the months."""
    desk = Desk(app.extensions["atiende"], frozen_clock)
    ids = {}
    for name, direccion in (
        ("on_time", "planificacion_urbana"),
        ("late", "gestion_ambiental"),
        ("past", "planificacion_urbana"),
    ):
        ids[name] = desk.start()
        template = next(t for t in desk.ready(ids[name]) if t.startswith("Task_plantilla_"))
        desk.do(ids[name], template)
        desk.do(ids[name], "Task_confeccionar_hoja", direccion=direccion)
        desk.do(ids[name], "Task_aprobar_hoja")
    frozen_clock.advance(days=2)
    for name in ids:
        desk.do(ids[name], "Task_acuse_recibo", AMBIENTAL if name == "late" else None)
    desk.do(ids["on_time"], "Task_respuesta_final")
    frozen_clock.advance(days=58)
    desk.do(ids["late"], "Task_respuesta_final")
    ids["fresh"] = desk.start()
    today = frozen_clock.now().date()
    start = (today - timedelta(days=90)).strftime("%d/%m/%Y")
    tickets = {name: desk.case(case_id).ticket for name, case_id in ids.items()}
    return {"ids": ids, "tickets": tickets, "period": f"desde={start}&hasta={today:%d/%m/%Y}"}


def drilled(person, figura: str, clave: str | None, period: str, **more) -> str:
    query = f"figura={figura}&{period}" + (f"&clave={clave}" if clave else "")
    query += "".join(f"&{key}={value}" for key, value in more.items())
    response = person.get(f"/indicadores/casos?{query}")
    assert response.status_code == 200, (query, response.status_code)
    return html(response)


def test_who_sees_the_indicators(browser):
    for username in ALLOWED:
        person = browser(username)
        page = person.get("/indicadores/")
        assert page.status_code == 200, username
        assert 'href="/indicadores/"' in html(person.get("/"))  # the menu names them
    for username in REFUSED:
        person = browser(username)
        for url in ("/indicadores/", "/indicadores/casos?figura=received", "/indicadores/exportar.csv?tabla=meses"):
            assert person.get(url).status_code == 403, (username, url)
        assert 'href="/indicadores/"' not in html(person.get("/"))
    anonymous = browser(None).get("/indicadores/")
    assert anonymous.status_code == 302 and "/ingresar" in anonymous.headers["Location"]


def test_the_drill_down_lists_the_cases_of_its_figure(browser, office):
    coordinador, period, tickets, ids = browser("coordinador"), office["period"], office["tickets"], office["ids"]
    on_time = drilled(coordinador, "on_time", "dir:planificacion_urbana", period)
    assert tickets["on_time"] in on_time and tickets["past"] not in on_time and tickets["late"] not in on_time
    assert f'href="/casos/{ids["on_time"]}"' in on_time  # to the case's page
    late = drilled(coordinador, "late", "dir:gestion_ambiental", period)
    assert tickets["late"] in late and tickets["on_time"] not in late
    past = drilled(coordinador, "open_past", None, period)
    assert tickets["past"] in past and tickets["on_time"] not in past and tickets["fresh"] not in past
    within = drilled(coordinador, "open_within", None, period)
    assert tickets["fresh"] in within and tickets["past"] not in within
    other = drilled(coordinador, "on_time", None, period, direccion="gestion_ambiental")  # a filter narrows
    assert tickets["on_time"] not in other
    admin = drilled(browser("admin"), "on_time", None, period)  # the admin reads no case: the ticket, no link
    assert tickets["on_time"] in admin and f'href="/casos/{ids["on_time"]}"' not in admin


def test_an_enlace_sees_only_their_direccion(browser, office):
    period, tickets = office["period"], office["tickets"]
    enlace = browser("enlace")  # Planificación Urbana
    page = html(enlace.get(f"/indicadores/?{period}"))
    assert "Gestión Ambiental" not in page and "Planificación Urbana" in page
    asked_other = drilled(enlace, "received", None, period, direccion="gestion_ambiental")
    received = drilled(enlace, "received", None, period)
    assert tickets["late"] not in received + asked_other and tickets["on_time"] in received
    assert tickets["late"] not in drilled(enlace, "late", "dir:gestion_ambiental", period)
    ambiental = browser("enlace_ambiental")
    assert tickets["late"] in drilled(ambiental, "late", None, period)
    assert tickets["on_time"] not in drilled(ambiental, "on_time", "dir:planificacion_urbana", period)
    export = enlace.get(f"/indicadores/exportar.csv?tabla=casos&figura=received&{period}").get_data(as_text=True)
    assert tickets["on_time"] in export and tickets["late"] not in export


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("desde=31/02/2026", "desde"),
        ("desde=ayer", "desde"),
        ("hasta=01/01/2026&desde=01/03/2026", "hasta"),
        ("direccion=no_existe", "direccion"),
        ("canal=fax", "canal"),
    ],
)
def test_bad_filters_are_said_in_spanish_beside_the_field(browser, query, field):
    coordinador = browser("coordinador")
    response = coordinador.get(f"/indicadores/?{query}")
    assert response.status_code == 400
    page = html(response)
    message = re.search(rf'id="filtro-{field}-error"><span class="sr">Error:</span>([^<]+)</p>', page)
    assert message and message.group(1).strip(), page
    assert 'aria-invalid="true"' in page and "Traceback" not in page
    for url in (f"/indicadores/casos?figura=received&{query}", f"/indicadores/exportar.csv?tabla=meses&{query}"):
        assert coordinador.get(url).status_code == 400, url


def test_an_unknown_figure_or_table_is_a_clear_400(browser):
    coordinador = browser("coordinador")
    for url in (
        "/indicadores/casos?figura=todo",
        "/indicadores/casos",
        "/indicadores/exportar.xlsx?tabla=secreta",
        "/indicadores/exportar.csv",
        "/indicadores/exportar.xlsx?tabla=casos&figura=nada",
        "/indicadores/casos?figura=received&despues=abc&clave=%FF",
    ):
        response = coordinador.get(url)
        assert response.status_code in (200, 400), (url, response.status_code)
    assert coordinador.get("/indicadores/exportar.pdf?tabla=meses").status_code == 404


def test_every_figure_links_to_its_drill_down(browser, office):
    coordinador = browser("coordinador")
    page = html(coordinador.get(f"/indicadores/?{office['period']}"))
    figures = re.findall(r"<td[^>]*>(.*?)</td>", page, re.S) + re.findall(r"<dd>(.*?)</dd>", page, re.S)
    numeric = [cell for cell in figures if re.search(r"\d", re.sub(r"<[^>]+>", "", cell))]
    assert len(numeric) >= 10
    unlinked = [cell for cell in numeric if 'href="/indicadores/casos?' not in cell]
    assert unlinked == []
    links = {htmllib.unescape(href) for href in re.findall(r'href="(/indicadores/casos\?[^"]+)"', page)}
    for link in sorted(links):
        assert coordinador.get(link).status_code == 200, link
    for table in (
        "direcciones",
        "meses",
        "tiempos",
        "antiguedad_direccion",
        "antiguedad_enlace",
        "tendencia",
        "encuestas",
    ):
        assert f"tabla={table}" in page  # every table exports
    assert page.count('role="img"') >= 4 and page.count("<title id=") >= 4


def test_exports_keep_text_as_text(browser, office, store):
    with store.unit_of_work() as s:  # a label an administrator typed, as a formula would start
        s.execute(
            update(CatalogItem)
            .where(CatalogItem.catalog == "direcciones", CatalogItem.code == "gestion_ambiental")
            .values(label=HOSTILE)
        )
    coordinador, period = browser("coordinador"), office["period"]
    export = coordinador.get(f"/indicadores/exportar.csv?tabla=direcciones&{period}")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    [hostile] = [row for row in rows if row[0].endswith(HOSTILE)]
    assert hostile[0] == "'" + HOSTILE and hostile[3] == "1"  # one answered late; numbers unquoted

    sheet = load_workbook(
        io.BytesIO(coordinador.get(f"/indicadores/exportar.xlsx?tabla=direcciones&{period}").get_data())
    ).active
    cells = [row for row in sheet.iter_rows(min_row=4) if row[0].value == HOSTILE]
    assert len(cells) == 1 and cells[0][0].data_type == "s" and cells[0][3].value == 1
    drill = load_workbook(
        io.BytesIO(coordinador.get(f"/indicadores/exportar.xlsx?tabla=casos&figura=late&{period}").get_data())
    ).active
    values = [[cell.value for cell in row] for row in drill.iter_rows(min_row=4)]
    assert [row[0] for row in values] == [office["tickets"]["late"]] and values[0][2] == HOSTILE
    assert all(cell.data_type == "s" for row in drill.iter_rows(min_row=4) for cell in row if cell.value)


def test_the_citizens_verdict_shows_per_direccion_and_links_to_its_cases(app, browser, office):
    engine = app.extensions["atiende"]
    with engine.unit_of_work() as s:
        address = survey.invite(s, office["ids"]["on_time"], engine.now(), engine.settings)
    assert (
        survey.answer(engine, address.rsplit("/", 1)[1], {"satisfaccion": "4", "a_tiempo": "si"}, "ip") == survey.OPEN
    )
    coordinador = browser("coordinador")
    page = html(coordinador.get(f"/indicadores/?{office['period']}"))
    table = re.search(r'<table class="tabla" id="tabla-encuestas">.*?</table>', page, re.S).group(0)
    [row] = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", table, re.S)
    assert "Planificación Urbana" in row and "Queja o reclamo" in row and ">4.0<" in row and ">100.0<" in row
    [link] = {htmllib.unescape(href) for href in re.findall(r'href="([^"]+)"', row)}
    assert "direccion=planificacion_urbana" in link and "tipo_caso=queja_reclamo" in link
    cases = html(coordinador.get(link))
    assert office["tickets"]["on_time"] in cases and office["tickets"]["late"] not in cases
