"""The search page, the administration pages and the sign-in ceiling, through the web."""

import re

from sqlalchemy import select

from engine.access import signin
from engine.db.models import CatalogItem, User
from tests.web.conftest import html, start_case


def test_search_finds_by_name_ticket_and_words_and_walks_back_in_time(browser):
    operador = browser("operador")
    start_case(operador)  # Rosa Batista, «Acera rota»
    page = html(operador.get("/buscar/?q=batista"))
    assert "AC-2026-000004" in page and "Rosa Batista" in page and "8-765-4321" in page
    link = re.search(r'<a href="(/casos/[1-9]\d*)">AC-2026-000004</a>', page).group(1)  # each result to its case
    assert "AC-2026-000004" in html(operador.get(link))
    assert "AC-2026-000001" in html(operador.get("/buscar/?q=AC-2026-000001"))
    assert "No se encontraron casos para «nadie»." in html(operador.get("/buscar/?q=nadie"))
    for _ in range(25):
        start_case(operador)
    first = html(operador.get("/buscar/?q=acera"))
    more = re.search(r'href="(/buscar/\?q=acera&amp;antes=\d+)">Más resultados', first).group(1).replace("&amp;", "&")
    second = html(operador.get(more))
    found = lambda page: re.findall(r">(AC-2026-\d{6})</a>", page)  # noqa: E731
    assert len(found(first)) == 25 and len(found(second)) == 1 and not set(found(first)) & set(found(second))


def test_search_is_a_menu_entry_for_case_readers_only(browser):
    assert 'href="/buscar/"' in html(browser("auditor").get("/"))
    assert 'href="/buscar/"' not in html(browser("analista").get("/"))
    assert 'href="/admin/usuarios"' in html(browser("admin").get("/"))


def test_the_header_menu_lists_what_each_role_may_open_and_marks_the_page_shown(browser):
    menu = {
        "analista": ["/", "/procedimientos/", "/incidencias/"],
        "auditor": [
            "/",
            "/buscar/",
            "/procedimientos/",
            "/incidencias/",
            "/auditoria/",
            "/indicadores/",
            "/documentos/archivo",
        ],
        "coordinador": [
            "/",
            "/buscar/",
            "/incidencias/",
            "/indicadores/",
            "/documentos/aprobaciones",
            "/documentos/archivo",
        ],
        "admin": ["/", "/admin/usuarios", "/indicadores/"],
    }
    for username, expected in menu.items():
        page = html(browser(username).get("/"))
        header = page[page.index('aria-label="Principal"') : page.index("</ul>")]
        assert re.findall(r'<li><a href="([^"]+)"', header) == expected, username
        assert '<li><a href="/" aria-current="page">Bandeja</a></li>' in header
        assert ('action="/buscar/"' in page) == ("/buscar/" in expected), username


def test_the_headers_links_follow_the_root_each_request_comes_under(app, browser):
    """A proxy may serve Atiende below a path of its own (``SCRIPT_NAME``): the links the header keeps made
    (``ruta_fija``) take each request's root, and what is kept does not grow with the roots asked for."""
    auditor = browser("auditor")
    plain = html(auditor.get("/"))
    kept = len(app.extensions["fixed_paths"])
    for root in ("/atiende", "/otra/raiz"):
        below = html(auditor.client.get("/", base_url=f"http://localhost{root}"))
        assert f'href="{root}/static/app.css"' in below and f'action="{root}/buscar/"' in below
        assert f'<li><a href="{root}/auditoria/">' in below and f'action="{root}/salir"' in below
    assert len(app.extensions["fixed_paths"]) == kept
    assert 'href="/static/app.css"' in plain and 'action="/buscar/"' in plain


def test_the_administrator_creates_a_person_who_can_then_sign_in(store, browser):
    admin = browser("admin")
    invalid = admin.post(
        "/admin/usuarios/nuevo", {"usuario": "Ol", "nombre": "", "roles": ["enlace"], "contrasena": "corta"}
    )
    assert invalid.status_code == 422
    page = html(invalid)
    for message in (
        "De 3 a 50 letras minúsculas",
        "Este campo es obligatorio.",
        "Un enlace debe pertenecer a una dirección.",
        "al menos 10 caracteres",
    ):
        assert message in page, message
    created = admin.post(
        "/admin/usuarios/nuevo",
        {
            "usuario": "olga",
            "nombre": "Olga Enlace",
            "roles": ["enlace"],
            "direccion": "gestion_ambiental",
            "contrasena": "una-clave-larga",
        },
    )
    assert created.status_code == 302
    assert "Usuario creado." in html(admin.get(created.headers["Location"]))
    olga = browser()
    assert olga.login("olga", "una-clave-larga").status_code == 302
    assert "Enlace de dirección" in html(olga.get("/"))

    user_id = created.headers["Location"].rsplit("/", 1)[1]
    admin.post(f"/admin/usuarios/{user_id}/activo", {"activo": "0"}, page=f"/admin/usuarios/{user_id}")
    assert olga.get("/").status_code == 302  # a deactivated person's session ends at the next request
    with store.read() as s:
        assert s.scalar(select(User.active).where(User.username == "olga")) is False


def test_the_administrator_edits_catalogues(store, browser):
    admin = browser("admin")
    assert "Corregimientos" in html(admin.get("/admin/catalogos"))
    added = admin.post("/admin/catalogos/direcciones", {"codigo": "aseo_urbano", "etiqueta": "Autoridad de Aseo"})
    assert added.status_code == 302
    with store.read() as s:
        item = s.scalar(select(CatalogItem).where(CatalogItem.code == "aseo_urbano"))
    admin.post(
        f"/admin/catalogos/direcciones/{item.id}",
        {"etiqueta": "Autoridad de Aseo Urbano"},
        page="/admin/catalogos/direcciones",
    )
    admin.post(f"/admin/catalogos/direcciones/{item.id}", {"activo": "0"}, page="/admin/catalogos/direcciones")
    page = html(admin.get("/admin/catalogos/direcciones"))
    assert 'value="Autoridad de Aseo Urbano"' in page and "Retirada" in page
    assert "Autoridad de Aseo Urbano" not in html(browser("operador").get("/"))  # no longer offered as a filter


def test_sign_in_is_refused_for_a_while_after_repeated_failures(browser):
    visitor = browser()
    for _ in range(signin.PER_ACCOUNT_AT_ADDRESS[0].hits):
        assert visitor.login("operador", "no-es-la-clave").status_code == 200
    refused = visitor.login("operador", "atiende2026")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(signin.PER_ACCOUNT_AT_ADDRESS[0].window.total_seconds()))
    assert "Demasiados intentos fallidos de ingreso" in html(refused) and "15 minuto(s)" in html(refused)
    assert browser().login("coordinador").status_code == 302  # others are not locked out
