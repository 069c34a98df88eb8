"""The web app on the shared test database, demo users and procedures loaded, CSRF left on.

Forms are posted the way a browser posts them: the CSRF token is read from the rendered
page, so every test also proves the pages carry it.
"""

from __future__ import annotations

import re

import pytest

from engine.cases import queries
from engine.demo import seed as demo
from web import create_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# A valid start form of atencion_correo_web: a queja received by e-mail.
CAPTURA = {
    "canal": "correo_electronico",
    "tipo_caso": "queja_reclamo",
    "ciudadano_nombre": "Rosa Batista",
    "ciudadano_cedula": "8-765-4321",
    "ciudadano_email": "rosa.batista@example.com",
    "lugar_notificaciones": "rosa.batista@example.com",
    "corregimiento": "bella_vista",
    "asunto": "Acera rota",
    "descripcion": "La acera frente a la escuela está rota desde enero.",
    "respuesta_inmediata_enviada": "on",
}
PLANTILLA_QUEJA = {"hechos": "La acera está rota y un peatón cayó.", "pretension": "Que reparen la acera."}
HOJA = {
    "direccion": "planificacion_urbana",
    "resumen": "Acera rota frente a la escuela.",
    "informacion_ciudadano_relevante": "Rosa Batista, rosa.batista@example.com",
    "prioridad": "normal",
}


@pytest.fixture
def app(store, frozen_clock):
    """The application on a database holding the demo data (demo.seed): the store was copied from
    that template (tests/conftest.py, TEMPLATE_OF_FIXTURE)."""
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "clave-de-prueba",
            "DATABASE_URL": store.url,
            "ATIENDE_CLOCK": frozen_clock,
        }
    )
    yield application
    application.extensions["atiende"].store.dispose()


class Browser:
    """A test client that signs in and posts forms with the token its pages carry."""

    def __init__(self, client):
        self.client = client

    def get(self, url):
        return self.client.get(url)

    def token(self, page: str) -> str:
        match = TOKEN.search(self.client.get(page).get_data(as_text=True))
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, url: str, data: dict, page: str | None = None):
        return self.client.post(url, data={**data, "csrf_token": self.token(page or url)})

    def login(self, username: str, password: str = demo.DEMO_PASSWORD):
        return self.post("/ingresar", {"usuario": username, "contrasena": password})

    def logout(self):
        return self.post("/salir", {}, page="/")


@pytest.fixture
def browser(app):
    """Make a new browser, signed in as ``username`` unless it is None."""

    def make(username: str | None = None) -> Browser:
        b = Browser(app.test_client())
        if username is not None:
            assert b.login(username).status_code == 302
        return b

    return make


def html(response) -> str:
    return response.get_data(as_text=True)


def task_id(store, case_id: int, name: str) -> str:
    """The id of the open task called ``name`` of a case."""
    with store.read() as s:
        [found] = [t.id for t in queries.open_tasks(s, case_id) if t.name == name]
    return found


def start_case(operador: Browser, **changes) -> int:
    """Register a case through the new-case page; returns its id."""
    response = operador.post("/casos/nuevo", {**CAPTURA, **changes})
    assert response.status_code == 302, html(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def to_approval(store, operador: Browser, case_id: int) -> None:
    """Fill the template and the hoja de trámite, so the coordinator has the case."""
    for name, data in (
        ("Llenar plantilla de queja o reclamo", PLANTILLA_QUEJA),
        ("Confeccionar hoja de trámite", HOJA),
    ):
        tid = task_id(store, case_id, name)
        assert operador.post(f"/tareas/{tid}", data).status_code == 302
