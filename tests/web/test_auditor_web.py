"""Auditors open every case, version and event, and change nothing: every write route of the app
refuses them and leaves the database as it was."""

import csv
import io
import re

import pytest
from sqlalchemy import inspect, select, text
from werkzeug.routing import IntegerConverter

from engine.audit import log as audit_log
from engine.cases import queries
from engine.db.models import Case, CatalogItem, User
from tests.web.conftest import html, start_case

AUDIT_PAGES = ["/auditoria/", "/auditoria/cadena", "/auditoria/sellos", "/auditoria/registro.csv"]
PROCEDURE_PAGES = ["/procedimientos/", "/procedimientos/atencion_correo_web/", "/procedimientos/atencion_correo_web/v1"]
# Signing in and out changes no record of the office; they are the same for every role.
NOT_WRITES = {"auth.ingresar", "auth.salir"}


def snapshot(store) -> dict[str, list]:
    """Every row of every table, to prove a request changed nothing."""
    with store.engine.connect() as conn:
        return {
            t: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{t}"')))) for t in inspect(conn).get_table_names()
        }


@pytest.mark.parametrize("username", ["analista", "operador", "coordinador", "admin"])
def test_only_auditors_open_the_audit_pages(browser, username):
    someone = browser(username)
    assert all(someone.get(url).status_code == 403 for url in AUDIT_PAGES)


def test_the_auditor_opens_cases_versions_and_the_log(browser, app):
    auditor = browser("auditor")
    case_id = _first_case(app)
    for url in (
        AUDIT_PAGES
        + PROCEDURE_PAGES
        + [
            f"/auditoria/casos/{case_id}",
            f"/casos/{case_id}",
            "/procedimientos/atencion_correo_web/v1/atencion_correo_web.bpmn",
        ]
    ):
        response = auditor.get(url)
        assert response.status_code == 200, url
    assert auditor.get("/procedimientos/atencion_correo_web/editor").status_code == 403


def test_a_case_trail_shows_before_and_after_and_the_path_on_the_diagram(browser, app, store):
    operador = browser("operador")
    case_id = start_case(operador)
    page = html(browser("auditor").get(f"/auditoria/casos/{case_id}"))
    assert "Auditoría del caso AC-2026-" in page
    assert (
        '<strong>Nombre completo del ciudadano</strong>: <span class="antes">—</span> → '
        '<span class="despues">Rosa Batista</span>'
    ) in page
    assert re.search(
        r'<strong>Fecha límite</strong>: <span class="antes">—</span> → <span class="despues">\d\d/\d\d/2026', page
    )
    done = re.search(r'data-recorrido="([^"]*)"', page).group(1).split()
    current = re.search(r'data-actual="([^"]*)"', page).group(1).split()
    assert any(d.startswith("StartEvent") for d in done)
    assert current and all(c.startswith("Task_plantilla") for c in current)
    assert "bpmn-navigated-viewer.production.min.js" in page


def test_the_log_filters_and_exports_csv(browser, app):
    auditor = browser("auditor")
    page = html(auditor.get("/auditoria/?tipo=caso_creado"))
    assert (
        page.count('data-etiqueta="Evento">Caso creado<') == 3
        and "Procedimiento desplegado" not in page.split("<tbody>")[1]
    )
    bad = auditor.get("/auditoria/?desde=31/02/2026")
    assert "Fecha inválida; escríbala como dd/mm/aaaa, con un año de 1900 a 2999." in html(bad)
    export = auditor.get("/auditoria/registro.csv?tipo=caso_creado&usuario=operador")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["evento", "fecha_hora", "usuario", "tipo"]
    assert len(rows) == 4 and {r[3] for r in rows[1:]} == {"caso_creado"} and {r[2] for r in rows[1:]} == {"operador"}
    assert all(re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d$", r[1]) and len(r[8]) == 64 for r in rows[1:])
    whole = auditor.get("/auditoria/registro.csv").get_data(as_text=True).lstrip("\ufeff")
    hashes = {int(r[0]): r[8] for r in list(csv.reader(io.StringIO(whole)))[1:]}
    assert rows[0][9] == "huella_anterior" and len(hashes) > len(rows) - 1
    for row in rows[1:]:  # the hash each event is chained to: the one before it in the whole log, not in the filter
        assert row[9] == hashes[max(i for i in hashes if i < int(row[0]))]
    assert list(csv.reader(io.StringIO(whole)))[1][9] == "0" * 64  # the first event's: the genesis


@pytest.mark.parametrize("query", ["hasta=31/12/9999", "desde=01/01/0001", "hasta=9999-12-31", "antes=" + "9" * 25])
def test_extreme_filters_are_refused_not_crashed(browser, app, query):
    """A year at datetime's ends would overflow the day after «hasta»: 400 with the reason, never a cut download."""
    auditor = browser("auditor")
    for url in (f"/auditoria/?{query}", f"/auditoria/registro.csv?{query}"):
        response = auditor.get(url)
        body = response.get_data(as_text=True)  # a streamed CSV runs its query here
        if "antes" in query:  # an id no event has: the first page
            assert response.status_code == 200, url
        else:  # the page shows the filter form again with the reason; the CSV is not started
            assert response.status_code == 400 and "con un año de 1900 a 2999" in body, url


def test_a_csv_whose_query_fails_is_an_error_page_not_a_cut_download(browser, app, monkeypatch):
    """The query runs before the first byte is sent: a failure is a 500 page, never a 200 CSV cut short."""

    def failing(session, filters):
        raise RuntimeError("la base de datos no responde")
        yield  # a generator, as the real export is

    auditor = browser("auditor")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the production path: the error page
    monkeypatch.setattr(audit_log, "export", failing)
    response = auditor.get("/auditoria/registro.csv")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Ocurrió un error inesperado" in html(response)


def test_the_chain_page_names_the_first_broken_link(browser, app, store):
    auditor = browser("auditor")
    assert "Cadena íntegra" in html(auditor.get("/auditoria/cadena"))
    with store.read() as s:
        victim = s.scalar(text("SELECT id FROM audit_event ORDER BY id LIMIT 1 OFFSET 2"))
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text("UPDATE audit_event SET actor = 'intruso' WHERE id = :id"), {"id": victim})
    page = html(auditor.get("/auditoria/cadena"))
    assert f"Cadena rota en el evento #{victim}" in page and "fue modificado" in page


def test_every_write_route_refuses_the_auditor_and_changes_nothing(browser, app, store):
    auditor = browser("auditor")
    values = _route_values(app, browser)
    token = auditor.token("/")
    writes = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.methods - {"GET", "HEAD", "OPTIONS"}
        and rule.endpoint not in NOT_WRITES
        and not getattr(app.view_functions[rule.endpoint], "atiende_public", False)
    ]
    assert any(r.endpoint.startswith("procedimientos.") for r in writes) and len(writes) >= 8
    before = snapshot(store)
    for rule in writes:
        url = rule.build({arg: _value(rule, arg, values) for arg in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            response = auditor.client.open(url, method=method, data={"csrf_token": token, "accion": "todos"})
            mine = rule.endpoint.startswith(("procedimientos.", "auditoria."))
            assert response.status_code == 403 if mine else 400 <= response.status_code < 500, (
                method,
                url,
                response.status_code,
            )
    assert snapshot(store) == before


def _first_case(app) -> int:
    with app.extensions["atiende"].store.read() as s:
        return s.scalar(select(Case.id).order_by(Case.id))


def _route_values(app, browser) -> dict:
    """Real ids for the route arguments the app uses, so a refusal is not just «not found»."""
    start_case(browser("operador"))
    with app.extensions["atiende"].store.read() as s:
        case_id = _first_case(app)
        tasks = queries.open_tasks(s, case_id)
        return {
            "case_id": case_id,
            "task_id": tasks[0].id,
            "process_id": "atencion_correo_web",
            "number": 1,
            "filename": "atencion_correo_web.bpmn",
            "user_id": s.scalar(select(User.id).where(User.username == "operador")),
            "catalog": "direcciones",
            "item_id": s.scalar(select(CatalogItem.id).where(CatalogItem.catalog == "direcciones")),
            "ticket": s.get(Case, case_id).ticket,
        }


def _value(rule, arg, values):
    if arg in values:
        return values[arg]
    return 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
