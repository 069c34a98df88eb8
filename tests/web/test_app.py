"""The app factory's configuration: cookies, the persisted secret key, response headers."""

import stat

import pytest
from alembic import command
from sqlalchemy import inspect

from engine.db.store import Store
from engine.errors import SchemaOutdated
from engine.settings import Settings
from web import HSTS, _persisted_secret_key, create_app


def test_cookies_are_secure_when_asked(store, monkeypatch):
    monkeypatch.setenv("ATIENDE_SECURE_COOKIES", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": store.url})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    finally:
        app.extensions["atiende"].store.dispose()


def test_the_generated_secret_key_is_kept_private_and_reused(tmp_path):
    path = tmp_path / "secret_key"
    first = _persisted_secret_key(path)
    assert len(first) == 64 and _persisted_secret_key(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_pages_forbid_framing_and_caching(browser):
    response = browser().get("/ingresar")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("secure", "hsts"), [("1", HSTS), ("", None)], ids=["HTTPS", "HTTP"])
def test_https_is_demanded_when_the_cookies_are_secure(store, monkeypatch, secure, hsts):
    monkeypatch.setenv("ATIENDE_SECURE_COOKIES", secure)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": store.url})
    try:
        assert app.test_client().get("/ingresar").headers.get("Strict-Transport-Security") == hsts
    finally:
        app.extensions["atiende"].store.dispose()


def test_nothing_with_citizens_data_is_kept_by_a_browser_or_a_proxy(browser):
    """Not only pages: the audit CSV, the consolidado, Open311's answers; the static assets may be."""
    answers = {
        "/auditoria/registro.csv": browser("auditor"),
        "/documentos/consolidado/planificacion_urbana.xlsx": browser("operador"),
        "/open311/v2/requests.json": browser(None),
    }
    for url, who in answers.items():
        response = who.get(url)
        assert (url, response.status_code, response.headers.get("Cache-Control")) == (url, 200, "no-store")
    asset = browser(None).get("/static/app.css")
    asset.close()  # a file sent as it is read
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")


def test_the_app_factory_refuses_a_database_never_migrated_and_creates_no_table(bare_url):
    """Web processes starting at once would race on the schema: `atiende migrate` runs first, alone."""
    with pytest.raises(SchemaOutdated, match="Ejecute «atiende migrate»"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": bare_url}, settings=Settings())
    store = Store(bare_url)
    try:
        assert inspect(store.engine).get_table_names() == []
    finally:
        store.dispose()


def test_the_app_factory_never_migrates(store, monkeypatch):
    def upgrade(*_args, **_kwargs):
        raise AssertionError("create_app ran the migrations")

    monkeypatch.setattr(command, "upgrade", upgrade)
    for _ in range(2):
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": store.url}, settings=Settings())
        assert app.test_client().get("/ingresar").status_code == 200
        app.extensions["atiende"].store.dispose()
