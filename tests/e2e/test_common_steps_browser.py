"""In a real browser: an analyst changes the legal term in «Tramitación común»'s own editor. The correo
channel's scenarios still expect 30 days, so the deploy is refused naming them; the analyst brings them
to the new term in that channel's editor, deploys the common steps again, and a new case of each of the
three channels carries the new term while a case started before keeps its own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from lxml import etree
from sqlalchemy import select

from engine.db.models import Case
from engine.facade import PROCESSES_DIR
from engine.procedures import drafts as procedure_drafts
from tests.e2e.test_editor_bpmn import BPMN, STEP, screenshot
from tests.fixtures import live
from tests.fixtures.desk import Desk

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

COMMON = "tramitacion_comun"
CHANNELS = ("atencion_correo_web", "atencion_llamadas", "atencion_directa")


def term_step(app) -> tuple[str, str]:
    """(element id, script) of the script task that sets the legal term in the common steps' own diagram."""
    with app.extensions["atiende"].store.read() as s:
        draft = procedure_drafts.current(s, COMMON, PROCESSES_DIR)
    for task in etree.fromstring(draft.bpmn[f"{COMMON}.bpmn"].encode()).iter(f"{BPMN}scriptTask"):
        if task.get("name") == STEP:
            return task.get("id"), task.findtext(f"{BPMN}script")
    raise AssertionError(f"no script task «{STEP}»")


def start(desk: Desk, channel: str) -> int:
    """A new case of a channel, brought into the common steps (a call is reviewed by the back office first)."""
    case_id = desk.start(channel)
    if channel == "atencion_llamadas":
        desk.do(case_id, "Task_revisar_ticket_llamada")
    return case_id


def test_a_change_to_the_common_steps_in_its_own_editor_reaches_a_new_case_of_each_channel(served, frozen_clock):
    app, base_url = served
    atiende = app.extensions["atiende"]
    desk = Desk(atiende, frozen_clock)
    with atiende.store.read() as s:
        old_case = s.scalar(select(Case).order_by(Case.id))
    element_id, script = term_step(app)
    new_script = re.sub(r"fecha_limite = .*", "fecha_limite = sumar_dias(fecha_inicio, 25, habiles=False)", script)

    with live.browser_page(timeout_ms=20_000) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        live.sign_in(page, base_url, "analista")
        page.goto(f"{base_url}/procedimientos/{COMMON}/editor")
        page.wait_for_selector("#lienzo[data-listo='1']")
        page.evaluate(
            "id => { const m = window.atiendeModeler; m.get('selection').select(m.get('elementRegistry').get(id)); }",
            element_id,
        )
        page.fill("#prop-script", new_script)
        page.click("#prop-aplicar")
        page.fill("#nota", "Plazo legal de 25 días")
        page.click("#desplegar")
        page.wait_for_selector("#problemas")
        problems = page.inner_text("#problemas")
        assert "escenario «Queja respondida a tiempo»" in problems and "se esperaba un plazo de 30 días" in problems
        assert "llama a un procedimiento que cambia" in problems
        screenshot(page, "comun_1_rechazado_por_escenarios_del_canal")

        # The channel's scenarios, brought to the new term in its own editor and saved in its draft.
        page.goto(f"{base_url}/procedimientos/atencion_correo_web/editor")
        page.wait_for_selector("#lienzo[data-listo='1']")
        scenarios = page.input_value("#escenarios")
        page.fill("#escenarios", scenarios.replace('"plazo_dias": 30', '"plazo_dias": 25').replace('"P29D"', '"P24D"'))
        page.click("button[value='guardar']")
        assert "Borrador guardado" in page.inner_text(".avisos")

        # The common steps' draft kept the change: deploy it again.
        page.goto(f"{base_url}/procedimientos/{COMMON}/editor")
        page.wait_for_selector("#lienzo[data-listo='1']")
        page.fill("#nota", "Plazo legal de 25 días")
        page.click("#desplegar")
        page.wait_for_url(re.compile(rf"/procedimientos/{COMMON}/$"))
        notice = page.inner_text(".avisos")
        assert "versión 2" in notice and "que la llaman" in notice
        affected = page.inner_text("#version-2 ~ p.llamadas")
        assert "Afecta a los casos nuevos de" in affected
        for name in ("Atención vía correo electrónico", "Atención de llamadas telefónicas", "Atención directa"):
            assert name in affected
        screenshot(page, "comun_2_desplegado_afecta_a_los_canales")

        page.goto(f"{base_url}/procedimientos/atencion_llamadas/")
        assert "Por cambio en Tramitación común de casos (Atención al Ciudadano) v2" in page.inner_text("main")
        assert "Sus casos usan «Tramitación común de casos (Atención al Ciudadano)», versión 2" in page.inner_text(
            "main"
        )
        assert errors == []

    for channel in CHANNELS:
        case = desk.case(start(desk, channel))
        assert case.due_at == frozen_clock.now() + timedelta(days=25), channel
    assert desk.case(old_case.id).due_at == old_case.due_at  # a running case keeps its term
