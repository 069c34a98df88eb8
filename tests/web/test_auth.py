"""Signing in and out, login required everywhere, and CSRF refusal."""

import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from engine.db.models import User
from engine.demo import seed as demo
from tests.unit.test_accounts import scrypt_hash
from tests.web.conftest import CAPTURA, html

BAD = "Usuario o contraseña incorrectos."


def test_sign_in_takes_the_operator_to_the_bandeja(browser):
    b = browser()
    response = b.login("operador")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = html(b.get("/"))
    assert "Ana Operadora" in page and "Bandeja de tareas" in page


def test_a_wrong_password_and_an_unknown_user_get_the_same_spanish_error(browser):
    b = browser()
    wrong = b.login("operador", "no-es-la-clave")
    unknown = b.login("nadie", "no-es-la-clave")
    assert wrong.status_code == unknown.status_code == 200
    assert BAD in html(wrong) and BAD in html(unknown)
    for page in (html(wrong), html(unknown)):
        assert "no existe" not in page and "Bandeja de tareas" not in page
    assert b.get("/").status_code == 302


def test_sign_out_ends_the_session(browser):
    b = browser("operador")
    response = b.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/ingresar"
    assert _signed_out(b)


@pytest.mark.parametrize(
    "url", ["/", "/casos/nuevo", "/casos/1", "/tareas/00000000-0000-0000-0000-000000000000", "/no-existe"]
)
def test_every_page_sends_anonymous_visitors_to_sign_in(browser, url):
    response = browser().get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/ingresar?next=")


@pytest.mark.parametrize(
    "url,data",
    [("/salir", {}), ("/casos/nuevo", CAPTURA), ("/tareas/00000000-0000-0000-0000-000000000000", {"hechos": "x"})],
)
def test_anonymous_posts_with_a_valid_token_are_sent_to_sign_in_too(browser, url, data):
    response = browser().post(url, data, page="/ingresar")
    assert response.status_code == 302 and response.headers["Location"].startswith("/ingresar")


def test_static_files_need_no_sign_in(browser):
    response = browser().get("/static/app.css")
    response.close()  # a static file is streamed from an open file
    assert response.status_code == 200


@pytest.mark.parametrize(
    "target,landing",
    [("/casos/1", "/casos/1"), ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/")],
)
def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(browser, target, landing):
    b = browser()
    credentials = {"usuario": "operador", "contrasena": "atiende2026", "csrf_token": b.token("/ingresar")}
    response = b.client.post("/ingresar", query_string={"next": target}, data=credentials)
    assert response.headers["Location"] == landing


def test_a_post_without_csrf_token_is_refused(browser):
    anonymous = browser()
    response = anonymous.client.post("/ingresar", data={"usuario": "operador", "contrasena": "atiende2026"})
    assert response.status_code == 400
    assert "El formulario caducó o no es válido" in html(response)
    assert anonymous.get("/").status_code == 302  # not signed in

    operador = browser("operador")
    assert operador.client.post("/salir").status_code == 400
    assert operador.get("/").status_code == 200  # still signed in


def test_a_sessions_pages_carry_the_token_it_was_signed_once_and_posts_are_checked_against_it(browser, monkeypatch):
    """web.ui.tokens: a session's forms carry one token however many pages apart (each page of Flask-WTF's
    own is signed at its second); another session's token is refused, and signing in again signs anew."""
    seconds = iter(range(1_800_000_000, 1_900_000_000))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: next(seconds))
    operador, other = browser("operador"), browser("operador")
    first = operador.token("/")
    assert operador.token("/buscar/?q=agua") == first and operador.token("/casos/nuevo") == first
    assert other.token("/") != first
    assert operador.client.post("/salir", data={"csrf_token": other.token("/")}).status_code == 400
    assert operador.client.post("/salir", data={"csrf_token": first}).status_code == 302
    operador.login("operador")
    assert operador.token("/") != first


def test_with_a_time_limit_each_page_signs_its_own_token(app, browser, monkeypatch):
    """A token that expires is signed when its page is made, as Flask-WTF does (web.ui.tokens keeps none)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    seconds = iter(range(int(time.time()), int(time.time()) + 1_000))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: next(seconds))
    operador = browser("operador")
    first = operador.token("/")
    assert operador.token("/") != first
    assert operador.client.post("/salir", data={"csrf_token": first}).status_code == 302


def test_the_session_cookie_is_httponly_and_samesite_lax(browser):
    b = browser()
    b.login("operador")
    cookie = b.client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def _signed_out(b) -> bool:
    response = b.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/ingresar")


def _user_id(store, username: str) -> int:
    with store.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_a_session_cookie_replayed_after_sign_out_no_longer_signs_in(browser):
    """The session lives in a signed cookie the server cannot take back, so a copy kept by
    anyone (a shared computer, a proxy log) would outlive the sign-out; the cookie names a
    session generation that sign-out retires."""
    b = browser("operador")
    copied = b.client.get_cookie("session").value
    b.logout()
    b.client.set_cookie("session", copied)
    assert _signed_out(b)


def test_signing_out_in_one_browser_ends_the_sessions_of_every_other_browser(browser):
    """Sign-out ends every session of that user, not just this browser's: someone who signs
    out because they fear a session was left open elsewhere must be able to end it."""
    office, home = browser("operador"), browser("operador")
    home.logout()
    assert _signed_out(office)
    assert browser("operador").get("/").status_code == 200  # signing in again works


def test_a_password_reset_by_the_administrator_ends_the_sessions_the_person_had_open(store, browser):
    """A reset is what an administrator does when a password may be known to someone else:
    the sessions opened with the old one must not survive it."""
    operador, admin = browser("operador"), browser("admin")
    user_id = _user_id(store, "operador")
    page = f"/admin/usuarios/{user_id}"
    assert admin.post(f"{page}/contrasena", {"contrasena": "otra-clave-larga"}, page=page).status_code == 302
    assert _signed_out(operador)
    assert admin.get("/").status_code == 200  # the administrator's own session goes on
    assert browser().login("operador", "otra-clave-larga").status_code == 302


def test_deactivating_a_person_ends_their_sessions_for_good_even_once_reactivated(store, browser):
    operador, admin = browser("operador"), browser("admin")
    user_id = _user_id(store, "operador")
    page = f"/admin/usuarios/{user_id}"
    for active in ("0", "1"):
        assert admin.post(f"{page}/activo", {"activo": active}, page=page).status_code == 302
    assert _signed_out(operador)
    assert browser("operador").get("/").status_code == 200


def test_a_cookie_from_before_session_generations_is_treated_as_signed_out(app, store, browser):
    """A session that names the user id alone (as cookies did before generations) is not honoured."""
    b = browser()
    with b.client.session_transaction() as cookie:
        cookie["_user_id"] = str(_user_id(store, "operador"))
        cookie["_fresh"] = True
    assert _signed_out(b)


def test_signing_in_through_the_form_turns_a_legacy_scrypt_hash_into_argon2id(store, browser):
    with store.unit_of_work() as s:
        s.scalar(select(User).where(User.username == "operador")).password_hash = scrypt_hash(demo.DEMO_PASSWORD)
    assert browser("operador").get("/").status_code == 200
    with store.read() as s:
        assert s.scalar(select(User.password_hash).where(User.username == "operador")).startswith("$argon2id$")
