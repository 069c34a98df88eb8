"""In a real browser: an analyst changes the legal term in the bpmn-js editor and deploys; a new case
carries the new deadline while an old one keeps its own. Then an auditor sees a case's path on the
diagram of its version."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from lxml import etree
from sqlalchemy import select

from engine.access.accounts import Actor
from engine.db.models import Case, ProcedureVersion
from engine.demo import seed as demo
from engine.facade import PROCESSES_DIR
from engine.procedures import drafts as procedure_drafts
from tests.fixtures import live

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

ARTIFACTS = live.ARTIFACTS
STEP = "Registrar ticket y plazo legal"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def legal_term_step(app) -> tuple[str, str, str]:
    """(file, element id, script) of the script task that sets the legal term, wherever the diagrams put it."""
    with app.extensions["atiende"].store.read() as s:
        draft = procedure_drafts.current(s, "atencion_correo_web", PROCESSES_DIR)
    for filename, xml in draft.bpmn.items():
        for task in etree.fromstring(xml.encode()).iter(f"{BPMN}scriptTask"):
            if task.get("name") == STEP:
                return filename, task.get("id"), task.findtext(f"{BPMN}script")
    raise AssertionError(f"no script task «{STEP}»")


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"editor_{name}.png"), full_page=True)


def test_an_analyst_changes_the_30_day_term_in_the_editor_and_deploys(served, frozen_clock):
    app, base_url = served
    atiende = app.extensions["atiende"]
    with atiende.store.read() as s:
        old_case = s.scalar(select(Case).order_by(Case.id))
    assert old_case.due_at is not None
    filename, element_id, script = legal_term_step(app)
    assert "fecha_limite = " in script and "30" in script
    new_script = re.sub(r"fecha_limite = .*", "fecha_limite = sumar_dias(fecha_inicio, 45, habiles=False)", script)

    with live.browser_page(timeout_ms=20_000) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        live.sign_in(page, base_url, "analista")
        page.click("text=Procedimientos")
        page.click("a[href$='/procedimientos/atencion_correo_web/editor']")  # one of several procedures
        page.goto(f"{page.url}?archivo={filename}")
        page.wait_for_selector("#lienzo[data-listo='1']")

        # Select the script task on the canvas (through the modeler), change its script in the side panel.
        page.evaluate(
            "id => { const m = window.atiendeModeler; m.get('selection').select(m.get('elementRegistry').get(id)); }",
            element_id,
        )
        assert page.input_value("#prop-nombre") == STEP
        page.fill("#prop-script", new_script)
        page.click("#prop-aplicar")
        assert "Cambios aplicados" in page.inner_text("#editor-estado")
        screenshot(page, "1_script_cambiado")

        # The scenarios still say 30 days: the deploy is refused, naming the failing scenario.
        page.fill("#nota", "Plazo legal de 45 días calendario")
        page.click("#desplegar")
        page.wait_for_selector("#problemas")
        problems = page.inner_text("#problemas")
        assert "escenario «Queja respondida a tiempo»" in problems and "se esperaba un plazo de 30 días" in problems
        screenshot(page, "2_despliegue_rechazado")

        # The analyst brings the scenarios up to the new rule and deploys.
        page.wait_for_selector("#lienzo[data-listo='1']")
        scenarios = page.input_value("#escenarios")
        assert '"plazo_dias": 30' in scenarios and '"P29D"' in scenarios
        page.fill("#escenarios", scenarios.replace('"plazo_dias": 30', '"plazo_dias": 45').replace('"P29D"', '"P44D"'))
        page.fill("#nota", "Plazo legal de 45 días calendario")
        page.click("#desplegar")
        page.wait_for_url(re.compile(r"/procedimientos/atencion_correo_web/$"))
        assert "versión 2" in page.inner_text(".avisos")
        screenshot(page, "3_desplegado")
        assert errors == []

    with atiende.store.read() as s:
        version = s.scalar(
            select(ProcedureVersion)
            .where(ProcedureVersion.process_id == "atencion_correo_web")
            .order_by(ProcedureVersion.version.desc())
        )
        assert "sumar_dias(fecha_inicio, 45, habiles=False)" in version.bpmn[filename]
    assert (version.version, version.deployed_by, version.note) == (2, "analista", "Plazo legal de 45 días calendario")
    new_case = atiende.start_case("atencion_correo_web", demo.DEMO_CASES[0], Actor("operador", frozenset({"operador"})))
    with atiende.store.read() as s:
        new, old = s.get(Case, new_case.case_id), s.get(Case, old_case.id)
        assert new.procedure_version_id == version.id and old.procedure_version_id == old_case.procedure_version_id
    assert new.due_at == frozen_clock.now() + timedelta(days=45)
    assert old.due_at == old_case.due_at  # the old case keeps its own deadline


def test_an_auditor_sees_the_path_and_the_current_task_on_the_diagram(served):
    app, base_url = served
    with app.extensions["atiende"].store.read() as s:
        case_id = s.scalar(select(Case.id).order_by(Case.id))
    with live.browser_page() as page:
        live.sign_in(page, base_url, "auditor")
        page.goto(f"{base_url}/auditoria/casos/{case_id}")
        page.wait_for_selector("#visor[data-listo='1']")
        current = page.eval_on_selector_all(".djs-element.actual", "els => els.map(e => e.dataset.elementId)")
        done = page.eval_on_selector_all(".djs-element.recorrido", "els => els.map(e => e.dataset.elementId)")
        assert current and all(c.startswith("Task_plantilla") for c in current)
        assert any(d.startswith("StartEvent") for d in done)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "auditoria_recorrido.png"), full_page=True)
