"""The phone's quick capture in a real browser, by keyboard alone: the first field has the focus,
Tab goes field by field in order, Enter (or Ctrl+Enter in the description) registers."""

from __future__ import annotations

import pytest

from tests.fixtures import live

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)


def test_a_call_is_captured_with_the_keyboard_alone(served, tmp_path):
    _app, base_url = served
    with live.browser_page() as page:
        live.sign_in(page, base_url, "operador")
        page.goto(f"{base_url}/captura/llamada")
        assert page.evaluate("document.activeElement.name") == "tipo_caso"  # the first field has the focus

        keyboard = page.keyboard
        for _ in range(3):
            keyboard.press("ArrowDown")  # queja → solicitud → sugerencia → reporte
        order = []
        for text in ("Pedro Castillo", "6123-4567", "Llamar al 6123-4567"):
            keyboard.press("Tab")
            order.append(page.evaluate("document.activeElement.name"))
            keyboard.type(text)
        keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.name"))
        keyboard.type("Pueblo Nuevo")  # a list answers to typing its first letters
        for text in ("Fuga de agua", "Fuga de agua en la vía principal."):
            keyboard.press("Tab")
            order.append(page.evaluate("document.activeElement.name"))
            keyboard.type(text)
        assert order == [
            "ciudadano_nombre",
            "ciudadano_telefono",
            "lugar_notificaciones",
            "corregimiento",
            "asunto",
            "descripcion",
        ]
        with page.expect_navigation():
            keyboard.press("Control+Enter")
        first_ticket = page.inner_text(".ticket")
        assert first_ticket.startswith("AC-")
        page.screenshot(path=str(tmp_path / "captura_llamada.png"))

        # The next call: the form is empty, the focus back on the first field; Enter in a line registers.
        assert page.evaluate("document.activeElement.name") == "tipo_caso"
        assert page.input_value("#campo-ciudadano_nombre") == ""
        keyboard.press("Space")  # queja o reclamo
        for text in ("Ana Ruiz", "6999-0000", "Llamar al 6999-0000"):
            keyboard.press("Tab")
            keyboard.type(text)
        keyboard.press("Tab")
        keyboard.press("Tab")  # no corregimiento: a queja does not need one
        keyboard.type("Trato descortés")
        keyboard.press("Tab")
        keyboard.type("La atendieron mal en la ventanilla.")
        keyboard.press("Shift+Tab")  # back to the one-line subject
        with page.expect_navigation():
            keyboard.press("Enter")
        second_ticket = page.inner_text(".ticket")
        assert second_ticket.startswith("AC-") and second_ticket != first_ticket
