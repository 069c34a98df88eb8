"""The task list in a real browser: an operator takes a case from capture to the hoja de trámite,
a coordinator approves it, the enlace acknowledges it. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.access.accounts import Actor
from engine.db.models import Case
from tests.fixtures import live
from tests.fixtures.diagrams import one_task

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

ARTIFACTS = live.ARTIFACTS
PHONE = {"width": 390, "height": 844}
TICKET = "AC-2026-000004"  # the case the operator registers (the demo has three before it)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"bandeja_{name}.png"), full_page=True)


def sign_out(page, url: str) -> None:
    page.click("button:has-text('Salir')")
    page.wait_for_url(f"{url}/ingresar")


def open_task(page, name: str, ticket: str = "") -> None:
    """Open the task called ``name`` from the bandeja (of the case ``ticket``, when given)."""
    page.click(f"tr:has-text('{ticket}') td[data-etiqueta='Tarea'] a:has-text('{name}')")
    page.wait_for_selector(f"h1:has-text('{name}')")


def test_a_case_goes_from_capture_to_the_acknowledged_hoja_de_tramite(served, tmp_path):
    _app, url = served
    evidence = tmp_path / "foto de la acera.pdf"
    evidence.write_bytes(PDF)
    with live.browser_page() as page:
        live.sign_in(page, url, "operador")
        # the focus is visible: the first Tab lands on the skip link, outlined
        page.keyboard.press("Tab")
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        shot(page, "01_operador")

        page.click("nav.navegacion a:has-text('Nuevo caso')")
        page.check("label:has-text('Correo electrónico') >> xpath=preceding-sibling::input")
        page.check("label:has-text('Queja o reclamo') >> xpath=preceding-sibling::input")
        page.fill("#campo-ciudadano_nombre", "Rosa Batista")
        page.fill("#campo-ciudadano_cedula", "8-765-4321")
        page.fill("#campo-ciudadano_email", "rosa.batista@example.com")
        page.fill("#campo-lugar_notificaciones", "rosa.batista@example.com")
        page.select_option("#campo-corregimiento", label="Bella Vista")
        page.fill("#campo-asunto", "Acera rota frente a la escuela")
        page.fill("#campo-descripcion", "La acera frente a la escuela está rota desde enero; un niño se cayó.")
        page.check("#campo-respuesta_inmediata_enviada")
        page.set_input_files("#campo-adjuntos-nuevos", str(evidence))
        shot(page, "02_captura")
        page.click("button:has-text('Registrar caso')")
        page.wait_for_selector("h1:has-text('Caso AC-2026-000004')")
        assert "Quedan 30 días" in page.inner_text(".estado-caso")
        assert "foto de la acera.pdf" in page.inner_text("section[aria-labelledby='titulo-documentos']")

        page.click("nav.navegacion a:has-text('Bandeja')")
        page.click("tr:has-text('AC-2026-000004') button:has-text('Tomar')")
        page.wait_for_selector("text=Tarea tomada.")
        open_task(page, "Llenar plantilla de queja o reclamo", TICKET)
        page.fill("#campo-hechos", "La acera está rota y un niño se cayó.")
        page.click("button:has-text('Guardar borrador')")
        page.wait_for_selector("text=Borrador guardado el 02/03/2026 09:00.")
        assert page.input_value("#campo-hechos") == "La acera está rota y un niño se cayó."
        page.click("button:has-text('Completar tarea') >> nth=-1")
        page.wait_for_selector("#campo-pretension-error")  # the server's Spanish message beside the field
        assert page.inner_text("#campo-pretension-error").split() == ["Error:", "Este", "campo", "es", "obligatorio."]
        shot(page, "03_error_junto_al_campo")
        page.fill("#campo-pretension", "Que reparen la acera.")
        page.fill("#campo-fecha_hechos", "20/02/2026")
        page.click("button:has-text('Completar tarea') >> nth=-1")
        page.wait_for_selector("h1:has-text('Confeccionar hoja de trámite')")  # straight to my next task
        assert TICKET in page.inner_text(".subtitulo")  # of the same case
        page.select_option("#campo-direccion", label="Dirección de Planificación Urbana")
        page.fill("#campo-resumen", "Acera rota frente a la escuela de Bella Vista.")
        page.fill("#campo-informacion_ciudadano_relevante", "Rosa Batista, rosa.batista@example.com")
        shot(page, "04_hoja_de_tramite")
        page.click("button:has-text('Completar tarea') >> nth=-1")
        page.wait_for_selector("h1:has-text('Bandeja de tareas')")  # the approval is the coordinator's
        sign_out(page, url)

        live.sign_in(page, url, "coordinador")
        assert "Aprobar hoja de trámite" in page.inner_text("tr:has-text('AC-2026-000004')")
        open_task(page, "Aprobar hoja de trámite", TICKET)
        shot(page, "05_aprobacion")
        page.click("button[name='decision_hoja'][value='aprobar']")  # the decision is the button (x-widget botones)
        page.wait_for_selector("h1:has-text('Bandeja de tareas')")
        sign_out(page, url)

        live.sign_in(page, url, "enlace")
        open_task(page, "Confirmar acuse de recibo", TICKET)
        page.fill("#campo-recibido_por", "Elena Enlace")
        page.fill("#campo-fecha_recibo", "02/03/2026")
        page.click("button:has-text('Completar tarea') >> nth=-1")
        page.wait_for_selector("h1:has-text('Bandeja de tareas')")
        page.goto(f"{url}/buscar/?q=batista")
        page.click("a:has-text('AC-2026-000004')")
        page.wait_for_selector("h1:has-text('Caso AC-2026-000004')")
        timeline = page.inner_text(".linea-tiempo")
        for step in (
            "Caso creado",
            "Tarea tomada",
            "Borrador guardado",
            "Llenar plantilla de queja o reclamo",
            "Confeccionar hoja de trámite",
            "Hoja de trámite aprobada",
            "Confirmar acuse de recibo",
        ):
            assert step in timeline, step
        page.fill("#nota-texto", "Recibida en la dirección; se programa inspección.")
        page.click("button:has-text('Agregar nota')")
        page.wait_for_selector("text=Nota interna agregada.")
        shot(page, "06_caso_enlace")

    with live.browser_page(viewport=PHONE) as phone:
        live.sign_in(phone, url, "operador")
        shot(phone, "07_telefono_bandeja")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the bandeja scrolls sideways on a phone ({width}px)"


ROWS = {
    "type": "object",
    "title": "Gestiones realizadas",
    "required": ["gestiones"],
    "properties": {
        "gestiones": {
            "type": "array",
            "title": "Gestiones",
            "items": {
                "type": "object",
                "required": ["accion"],
                "properties": {
                    "fecha": {"type": "string", "format": "date", "title": "Fecha"},
                    "accion": {"type": "string", "title": "Acción"},
                },
            },
        }
    },
}


def test_repeating_rows_work_with_javascript_turned_off(served):
    app, url = served
    engine = app.extensions["atiende"]
    engine.deploy({"prueba.bpmn": one_task(form="gestiones", condition="marcado")}, {"gestiones": ROWS}, "analista")
    engine.start_case("prueba", {}, Actor("operador", frozenset({"operador"})))
    with live.browser_page(java_script_enabled=False) as page:
        live.sign_in(page, url, "operador")
        open_task(page, "Revisar")
        page.fill("#campo-gestiones-0-accion", "Visita al sitio")
        page.click("button:has-text('Agregar fila')")
        page.fill("#campo-gestiones-1-accion", "Llamada al ciudadano")
        page.press("#campo-gestiones-1-accion", "Enter")  # Enter completes; it does not remove a row
        page.wait_for_selector("h1:has-text('Bandeja de tareas')")
    with engine.store.read() as s:
        [case] = [c for c in s.scalars(select(Case)) if "gestiones" in c.data]
        assert [row["accion"] for row in case.data["gestiones"]] == ["Visita al sitio", "Llamada al ciudadano"]
