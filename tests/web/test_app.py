"""The app factory's configuration: cookies, the persisted secret key, response headers."""

import stat

from web import _persisted_secret_key, create_app


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
