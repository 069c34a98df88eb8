"""In a real browser: an analyst creates a new procedure from an empty diagram, draws a user task
(the canvas flags it with Atiende's lint rule until it names its form), deploys it, and an operator
starts a case on it and works it to the end."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db.models import Case, ProcedureVersion
from engine.procedures import drafts as procedure_drafts
from tests.fixtures import live

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

ARTIFACTS = live.ARTIFACTS
TASK = "Registrar la sugerencia"

# Draw a user task between the start event and the closing script, as the palette would: the new task
# lands in the operator's lane (bpmn-js keeps the lane's members), then the old flow goes.
DRAW_TASK = """() => {
  const m = window.atiendeModeler, registry = m.get('elementRegistry'), modeling = m.get('modeling');
  const start = registry.get('StartEvent_inicio'), close = registry.get('Script_cerrar');
  const old = registry.get('Flow_inicio_cerrar');
  const task = modeling.appendShape(start, { type: 'bpmn:UserTask' }, { x: 400, y: 180 });
  modeling.connect(task, close);
  modeling.removeElements([old]);
  return task.id;
}"""


def overlay(task_id: str) -> str:
    return f".djs-overlays[data-container-id='{task_id}'] .bjsl-overlay"


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"procedimiento_nuevo_{name}.png"), full_page=True)


def test_a_new_procedure_is_drawn_linted_deployed_and_a_case_runs_on_it(served):
    app, base_url = served
    with live.browser_page(timeout_ms=20_000) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        live.sign_in(page, base_url, "analista")
        page.click("text=Procedimientos")
        page.click("text=Nuevo procedimiento")
        page.fill("#nombre", "Sugerencias del vecindario")
        page.select_option("#rol", "operador")
        page.click("button:has-text('Crear el borrador')")
        page.wait_for_url(re.compile(r"/procedimientos/sugerencias_del_vecindario/editor$"))
        page.wait_for_selector("#lienzo[data-listo='1']")
        page.wait_for_selector(".bjsl-button-success")  # the empty diagram passes the lint
        assert "Sin problemas" in page.inner_text(".bjsl-button")

        task_id = page.evaluate(DRAW_TASK)
        icon = overlay(task_id) + " .bjsl-icon-error"
        page.wait_for_selector(icon)
        assert page.eval_on_selector(icon, "e => getComputedStyle(e).backgroundColor") == "rgb(204, 0, 0)"  # drawn red
        page.hover(icon)  # the analyst points at the mark: the rule's message shows beside the element
        message = page.inner_text(overlay(task_id) + " .bjsl-dropdown")
        assert "la tarea no indica su formulario (propiedad «formulario»)" in message
        assert "Errores: 1" in page.inner_text(".bjsl-button")
        screenshot(page, "1_lint_en_el_lienzo")

        page.evaluate(
            "id => { const m = window.atiendeModeler; m.get('selection').select(m.get('elementRegistry').get(id)); }",
            task_id,
        )
        page.fill("#prop-nombre", TASK)
        page.fill("#prop-formulario", "plantilla_sugerencia")
        page.click("#prop-aplicar")
        page.wait_for_selector(overlay(task_id), state="detached")
        page.wait_for_selector(".bjsl-button-success")

        page.fill("#nota", "Primera versión")
        page.click("#desplegar")
        page.wait_for_url(re.compile(r"/procedimientos/sugerencias_del_vecindario/$"))
        assert "versión 1" in page.inner_text(".avisos")
        screenshot(page, "2_desplegado")
        page.click("button:has-text('Salir')")

        live.sign_in(page, base_url, "operador")
        page.goto(f"{base_url}/casos/nuevo?procedimiento=sugerencias_del_vecindario")
        page.click("button:has-text('Registrar caso')")
        page.wait_for_selector("h1:has-text('Caso ')")
        page.click(f"a:has-text('{TASK}')")
        page.wait_for_selector(f"h1:has-text('{TASK}')")
        page.fill("#campo-sugerencia", "Poner bancas en el parque.")
        page.fill("#campo-area_mejora", "Parques")
        page.click("button:has-text('Completar tarea') >> nth=-1")
        page.wait_for_selector("text=Tarea completada")
        screenshot(page, "3_caso_cerrado")
        assert errors == []

    with app.extensions["atiende"].store.read() as s:
        case = s.scalar(select(Case).order_by(Case.id.desc()))
        assert case.version.process_id == "sugerencias_del_vecindario"
        assert case.status == "cerrado" and case.data["sugerencia"] == "Poner bancas en el parque."


def test_the_canvas_lint_finds_nothing_in_the_diagrams_the_engine_deployed(served):
    """Atiende's lint rules mirror the engine's refusals: no deployed diagram is flagged (each file of each
    procedure, the called common steps included)."""
    app, base_url = served
    with app.extensions["atiende"].store.read() as s:
        files = {
            (pid, name)
            for pid in s.scalars(select(ProcedureVersion.process_id).distinct())
            for name in procedure_drafts.current(s, pid).bpmn
        }
    with live.browser_page(timeout_ms=20_000) as page:
        live.sign_in(page, base_url, "analista")
        flagged = {}
        for pid, name in sorted(files):
            page.goto(f"{base_url}/procedimientos/{pid}/editor?archivo={name}")
            page.wait_for_selector("#lienzo[data-listo='1']")
            page.wait_for_selector(".bjsl-button:not(.bjsl-button-inactive)")
            if page.query_selector(".bjsl-button-success") is None:
                flagged[(pid, name)] = page.eval_on_selector_all(".bjsl-dropdown", "els => els.map(e => e.textContent)")
    assert len(files) >= 8 and flagged == {}
