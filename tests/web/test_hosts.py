"""The Host header: links that leave the application come from ATIENDE_BASE_URL, unknown hosts are refused.

A client chooses the Host header; were links built from it, anyone could make the office e-mail
a citizen a link to a site of their own.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.db.models import Case, OutboxMessage
from engine.intake import open311
from engine.settings import Settings
from tests.web.conftest import TOKEN, html
from tests.web.test_open311 import REQUEST
from tests.web.test_publico import REPORTE
from web import HOST_REFUSED, create_app

BASE_URL = "https://atiende.municipio-pma.gob.pa"
EVIL = {"base_url": "http://evil.example"}  # the test client's way of sending Host: evil.example


@pytest.fixture
def app(store, frozen_clock):
    """The demo application (the name picks the demo template) with its address configured; the test
    client's own host, localhost, is trusted too."""
    settings = Settings.from_environ({"ATIENDE_BASE_URL": BASE_URL, "ATIENDE_TRUSTED_HOSTS": "localhost"})
    application = create_app(
        {"TESTING": True, "SECRET_KEY": "clave-de-prueba", "DATABASE_URL": store.url, "ATIENDE_CLOCK": frozen_clock},
        settings=settings,
    )
    yield application
    application.extensions["atiende"].store.dispose()


def mail_bodies(app) -> list[str]:
    with app.extensions["atiende"].store.read() as s:
        return list(s.scalars(select(OutboxMessage.body)))


def case_count(app) -> int:
    with app.extensions["atiende"].store.read() as s:
        return s.scalar(select(func.count()).select_from(Case))


def test_a_report_sent_to_an_unknown_host_is_refused_and_mails_nothing(app):
    client, before = app.test_client(), case_count(app)
    page = client.get("/reporte", **EVIL)  # an attacker takes the form and its session from the same host
    token = TOKEN.search(html(page))
    response = client.post("/reporte", data={**REPORTE, "csrf_token": token.group(1) if token else ""}, **EVIL)
    assert [body for body in mail_bodies(app) if "evil.example" in body] == []
    assert (page.status_code, response.status_code, case_count(app)) == (400, 400, before)
    assert HOST_REFUSED in html(response) and "evil.example" not in html(response)


def test_an_open311_request_sent_to_an_unknown_host_is_refused_and_mails_nothing(app):
    engine = app.extensions["atiende"]
    key = open311.create_key(engine.store, "App de prueba", "admin", engine.now())
    before = case_count(app)
    response = app.test_client().post("/open311/v2/requests.json", data={**REQUEST, "api_key": key}, **EVIL)
    assert [body for body in mail_bodies(app) if "evil.example" in body] == []
    assert (response.status_code, case_count(app)) == (400, before)


def test_the_citizens_mail_links_to_the_configured_address(app, browser):
    citizen = browser(None)
    assert citizen.post("/reporte", REPORTE).status_code == 302
    [body] = [body for body in mail_bodies(app) if "Puede consultar su estado" in body]
    assert f"{BASE_URL}/consulta" in body and "localhost" not in body


def test_open311_discovery_gives_the_configured_address(app):
    for path in ("/open311/discovery.json", "/open311/v2/discovery.json"):
        [endpoint] = app.test_client().get(path).get_json()["endpoints"]
        assert endpoint["url"] == f"{BASE_URL}/open311/v2/"
    assert app.test_client().get("/open311/discovery.json", **EVIL).status_code == 400


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "atiende.municipio-pma.gob.pa"])
def test_the_configured_hosts_are_served_on_any_port(app, host):
    assert app.test_client().get("/ingresar", base_url=f"http://{host}").status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "atiende.municipio-pma.gob.pa.evil.example", "local host"])
def test_an_unknown_host_gets_a_spanish_400_without_a_page_that_needs_it(app, host):
    response = app.test_client().get("/ingresar", headers={"Host": host})
    assert response.status_code == 400 and HOST_REFUSED in html(response)
    assert response.headers["Cache-Control"] == "no-store"
