"""The signed-in person is kept in each web process, and every change to who they are reaches the next
request: in the process that made it and in any other process on the same database.

Each test has two application instances on one database, as two gunicorn workers are: the
administrator works in one, the person in either.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from engine.access import administration
from engine.access.accounts import Actor
from engine.db.models import User
from engine.facade import FORMS_DIR, PROCESSES_DIR, Atiende
from engine.procedures import versions as procedures
from tests.web.conftest import Browser
from web import auth, create_app

ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture
def other_app(store, frozen_clock):
    """A second application on the same database: another web process."""
    application = create_app(
        {"TESTING": True, "SECRET_KEY": "clave-de-prueba", "DATABASE_URL": store.url, "ATIENDE_CLOCK": frozen_clock}
    )
    yield application
    application.extensions["atiende"].store.dispose()


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """How many times a process read a signed-in person from the database, as a one-item list that grows."""
    counted = [0]
    original = auth.queries.active_actor

    def counting(*args):
        counted[0] += 1
        return original(*args)

    monkeypatch.setattr(auth.queries, "active_actor", counting)
    return counted


def signed_in(app, username: str) -> Browser:
    b = Browser(app.test_client())
    assert b.login(username).status_code == 302
    return b


def user_id(store, username: str) -> int:
    with store.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def signed_out(b: Browser) -> bool:
    response = b.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/ingresar")


def test_a_person_is_read_once_while_nothing_changes(app, reads):
    analista = signed_in(app, "analista")
    analista.get("/procedimientos/")
    before = reads[0]
    for _ in range(3):
        assert analista.get("/procedimientos/").status_code == 200
    assert reads[0] == before


@pytest.mark.parametrize("where", ["same", "other"])
def test_a_role_taken_away_refuses_the_very_next_request(store, app, other_app, where):
    analista = signed_in(app, "analista")
    assert analista.get("/procedimientos/").status_code == 200
    admin = signed_in(app if where == "same" else other_app, "admin")
    page = f"/admin/usuarios/{user_id(store, 'analista')}"
    changed = admin.post(page, {"nombre": "Alicia Analista", "roles": ["operador"]})
    assert changed.status_code == 302
    assert analista.get("/procedimientos/").status_code == 403
    assert "Operador" in analista.get("/").get_data(as_text=True)


@pytest.mark.parametrize("where", ["same", "other"])
def test_a_deactivated_person_is_signed_out_at_the_very_next_request(store, app, other_app, where):
    operador = signed_in(app, "operador")
    assert operador.get("/").status_code == 200
    admin = signed_in(app if where == "same" else other_app, "admin")
    page = f"/admin/usuarios/{user_id(store, 'operador')}"
    assert admin.post(f"{page}/activo", {"activo": "0"}, page=page).status_code == 302
    assert signed_out(operador)


@pytest.mark.parametrize("where", ["same", "other"])
def test_a_sign_out_elsewhere_ends_this_session_at_the_very_next_request(app, other_app, where):
    office = signed_in(app, "operador")
    assert office.get("/").status_code == 200
    home = signed_in(app if where == "same" else other_app, "operador")
    home.logout()
    assert signed_out(office)


def test_a_change_made_by_another_program_on_the_database_reaches_the_next_request(store, app, frozen_clock):
    """The ``atiende`` command or a worker: an engine of its own, no web application at all."""
    analista = signed_in(app, "analista")
    assert analista.get("/procedimientos/").status_code == 200
    elsewhere = Atiende(type(app.extensions["atiende"].store)(store.url), frozen_clock)
    values = {"nombre": "Alicia Analista", "roles": ["auditor", "analista"]}
    administration.update_user(elsewhere, user_id(store, "analista"), values, ADMIN)
    assert "Auditor" in analista.get("/").get_data(as_text=True)
    administration.set_active(elsewhere, user_id(store, "analista"), False, ADMIN)
    elsewhere.store.dispose()
    assert signed_out(analista)


def test_what_a_person_may_start_is_worked_out_once_while_nothing_changes(app):
    """The menu's «Nuevo caso» on every page asks what the person may start: the procedures in force
    are read for the first page only."""
    operador = signed_in(app, "operador")
    assert "Nuevo caso" in operador.get("/").get_data(as_text=True)
    read: list[str] = []
    listener = lambda _c, _cur, sql, *_: "FROM procedure_version" in sql and read.append(sql)  # noqa: E731
    engine = app.extensions["atiende"].store.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(3):
            assert "Nuevo caso" in operador.get("/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert read == []


@pytest.mark.parametrize("where", ["same", "other"])
def test_a_deploy_changes_what_a_signed_in_person_may_start_at_the_next_request(app, other_app, where):
    """A new version of the operativo whose start lane is the operadores' own: the operador, signed in
    before it, finds it in the new-case page at the next request, in every process."""
    operador = signed_in(app, "operador")
    assert "Operativo de lotes baldíos" not in operador.get("/casos/nuevo").get_data(as_text=True)
    files, forms = procedures.read_directory(PROCESSES_DIR, FORMS_DIR)
    moved = files["lotes_baldios.bpmn"].replace('name="Coordinación de Corregidores"', 'name="Operador"', 1)
    assert moved != files["lotes_baldios.bpmn"]
    deploying = (app if where == "same" else other_app).extensions["atiende"]
    deploying.deploy({"lotes_baldios.bpmn": moved}, forms, "analista")
    assert "Operativo de lotes baldíos" in operador.get("/casos/nuevo").get_data(as_text=True)
