"""The bandeja in a real browser (issue 18): it brings new work in without a page load and says so
to screen readers, keeps the tasks marked, claims several at once, and the header searches."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.access.accounts import Actor
from tests.fixtures import live
from tests.fixtures.diagrams import one_task

ARTIFACTS = live.ARTIFACTS
pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

OPERADOR = Actor("operador", frozenset({"operador"}))
FORM = {"type": "object", "title": "Revisión", "properties": {"nota": {"type": "string", "title": "Nota"}}}


def test_the_bandeja_refreshes_itself_and_claims_several_at_once(served):
    app, url = served
    engine = app.extensions["atiende"]
    engine.deploy({"prueba.bpmn": one_task(form="nota", condition="marcado")}, {"nota": FORM}, "analista")
    first = engine.start_case("prueba", {}, OPERADOR).ticket
    with live.browser_page() as page:
        live.sign_in(page, url, "operador")
        page.evaluate("window.mismaPagina = true")  # gone if the page were loaded again
        page.check(f"tr:has-text('{first}') input[name='tarea']")

        second = engine.start_case("prueba", {}, OPERADOR).ticket  # new work arrives while the page is open
        page.get_by_role("link", name="Actualizar").click()
        row = page.locator("tr", has_text=second)
        row.wait_for()
        assert page.evaluate("window.mismaPagina === true")
        expect(page.locator("#bandeja-aviso")).to_have_text(re.compile(r"^Bandeja actualizada: \d+ tareas"))
        assert page.is_checked(f"tr:has-text('{first}') input[name='tarea']")  # still marked

        row.locator("input[name='tarea']").check()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "bandeja_marcadas.png"), full_page=True)
        page.get_by_role("button", name="Tomar las seleccionadas").click()
        page.wait_for_selector("text=2 tareas tomadas.")

        page.get_by_role("searchbox", name="Buscar casos por ticket, cédula, nombre o palabras").fill(second)
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:has-text('Buscar casos')")
        assert second in page.inner_text("table")


def test_the_header_search_and_the_action_bar_fit_a_phone(served):
    _app, url = served
    for username in ("operador", "coordinador"):
        with live.browser_page(viewport={"width": 375, "height": 812}) as phone:
            live.sign_in(phone, url, username)
            assert phone.get_by_role("searchbox").is_visible()
            phone.screenshot(path=str(ARTIFACTS / f"bandeja_telefono_{username}.png"), full_page=True)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"the bandeja of {username} scrolls sideways on a phone ({width}px)"
