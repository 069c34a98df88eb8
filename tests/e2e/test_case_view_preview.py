"""The case page in a real browser: typing the final answer updates the preview of the e-mail the
citizen will receive (the page's script asks the server, a moment after the last key)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures import live
from tests.fixtures.desk import Desk

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)


def test_the_answer_preview_follows_the_typing(served, frozen_clock, tmp_path):
    app, base_url = served
    desk = Desk(app.extensions["atiende"], frozen_clock)
    case_id = desk.start()
    desk.to_follow_up(case_id)
    with live.browser_page() as page:
        live.sign_in(page, base_url, "operador")
        page.goto(f"{base_url}/casos/{case_id}")
        body = page.locator("[data-campo='cuerpo']")
        assert "Se reparó la luminaria" not in body.inner_text()
        page.fill("#campo-respuesta_final", "Se reparó la luminaria el 10/03/2026.")
        expect(body).to_contain_text("Se reparó la luminaria el 10/03/2026.")
        assert page.url.endswith(f"/casos/{case_id}")  # no page load: the preview came by fetch
        page.screenshot(path=str(tmp_path / "vista_previa.png"), full_page=True)
