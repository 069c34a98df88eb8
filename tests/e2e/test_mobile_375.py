"""The public form and the capture screens on a phone (375 x 667, an iPhone SE): nothing wider
than the screen, and the header leaves the form most of it (issue 18: it took 42 %)."""

from __future__ import annotations

import pytest

from tests.fixtures import live

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

PHONE = {"width": 375, "height": 667}
HEADER_SHARE = 0.20  # of the viewport's height, at most
PUBLIC = ["/reporte", "/consulta"]
CAPTURE = ["/captura/", "/captura/llamada", "/captura/presencial"]


def measure(page) -> dict:
    return page.evaluate(
        """() => {
            const root = document.documentElement;
            const header = document.querySelector('body > header');
            const wide = [...document.querySelectorAll('body *')]
                .filter(e => !e.closest('header') && e.getBoundingClientRect().right > root.clientWidth + 1)
                .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
            return {scroll: root.scrollWidth, client: root.clientWidth,
                    header: header ? header.getBoundingClientRect().height : 0, wide: wide};
        }"""
    )


def check(page, url: str) -> None:
    found = measure(page)
    assert found["scroll"] <= found["client"], f"{url} overflows at 375 px: {found}"
    assert found["header"] < HEADER_SHARE * PHONE["height"], f"{url}: the header takes {found['header']} px"


def test_the_public_pages_fit_a_phone(served):
    _app, base_url = served
    with live.browser_page(viewport=PHONE) as page:
        for url in PUBLIC:
            page.goto(f"{base_url}{url}")
            check(page, url)
        page.goto(f"{base_url}/reporte")
        page.click("button[type=submit]")  # every field's error shown: still no overflow
        page.wait_for_selector(".resumen-errores")
        check(page, "/reporte (con errores)")


def test_the_capture_screens_fit_a_phone(served):
    _app, base_url = served
    with live.browser_page(viewport=PHONE) as page:
        live.sign_in(page, base_url, "operador")
        for url in CAPTURE:
            page.goto(f"{base_url}{url}")
            check(page, url)
