"""Signing in and out, login required everywhere, and CSRF refusal."""

import pytest

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
    assert b.get("/").headers["Location"].startswith("/ingresar")


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


def test_the_session_cookie_is_httponly_and_samesite_lax(browser):
    b = browser()
    b.login("operador")
    cookie = b.client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
