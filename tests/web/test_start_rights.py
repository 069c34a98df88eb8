"""Who may start a procedure: the role of the lane its start event sits in, on every path that starts a case."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.access.accounts import Actor
from engine.bpm.state.serializer import InstanceSerializer
from engine.db.models import Case
from engine.demo.procedures import STARTS
from engine.errors import DiagramError, Forbidden
from engine.facade import FORMS_DIR, PROCESSES_DIR
from engine.intake import items, web_report
from engine.procedures import versions as procedures
from tests.fixtures.diagrams import NOTE_FORM, one_task
from tests.web.conftest import html
from tests.web.test_entrada import REST, arrive, item

OPERATIVO = {**STARTS["lotes_baldios"], "fecha_visita": "2026-03-09"}


def cases(app) -> int:
    with app.extensions["atiende"].store.read() as s:
        return s.scalar(select(func.count()).select_from(Case))


def test_an_operador_refused_on_the_311_capture_cannot_start_defensa_del_usuario_from_the_new_case_page(app, browser):
    operador = browser("operador")
    before = cases(app)
    url = "/casos/nuevo?procedimiento=defensa_usuario_311"
    response = operador.post(url, STARTS["defensa_usuario_311"], page="/casos/nuevo")
    assert response.status_code == 403
    assert "no permite iniciar" in html(response) and "Defensa del Usuario" in html(response)
    assert cases(app) == before
    assert operador.get(url).status_code == 403


def test_the_lotes_baldios_team_starts_an_operativo(app, browser):
    lotes = browser("lotes")
    url = "/casos/nuevo?procedimiento=lotes_baldios"
    assert "Programación del operativo" in html(lotes.get(url))
    response = lotes.post(url, OPERATIVO)
    assert response.status_code == 302, html(response)
    with app.extensions["atiende"].store.read() as s:
        case = s.get(Case, int(response.headers["Location"].rsplit("/", 1)[1]))
        assert case.version.process_id == "lotes_baldios" and case.created_by == "lotes"


def test_the_new_case_page_lists_only_what_the_person_may_start(browser):
    page = html(browser("operador").get("/casos/nuevo"))
    for name in ("Atención vía correo", "Atención de llamadas", "Atención directa"):
        assert name in page
    for name in (
        "Defensa del Usuario – 311",
        "Operativo de lotes baldíos",
        "Tramitación común",
        "Seguimiento de casos",
    ):
        assert name not in page
    lotes = html(browser("lotes").get("/casos/nuevo"))
    assert "Operativo de lotes baldíos" in lotes and "Atención vía correo" not in lotes
    assert browser("coordinador").get("/casos/nuevo").status_code == 403
    assert "Nuevo caso" not in html(browser("coordinador").get("/"))
    assert "Nuevo caso" in html(browser("lotes").get("/"))


@pytest.mark.parametrize("process_id", ["tramitacion_comun", "seguimiento_consolidado", "reunion_sugerencias"])
def test_called_and_scheduled_procedures_are_not_started_by_hand(app, browser, process_id):
    operador, before = browser("operador"), cases(app)
    url = f"/casos/nuevo?procedimiento={process_id}"
    assert operador.get(url).status_code == 403
    assert operador.post(url, {}, page="/casos/nuevo").status_code == 403
    assert cases(app) == before


def test_the_engine_refuses_whoever_the_start_lane_does_not_name(app):
    atiende = app.extensions["atiende"]
    with pytest.raises(Forbidden, match="no permite iniciar"):
        atiende.start_case("lotes_baldios", OPERATIVO, Actor("operador", frozenset({"operador"})))
    started = atiende.start_case("lotes_baldios", OPERATIVO, Actor("cc", frozenset({"coordinacion_corregidores"})))
    assert started.ticket.startswith("LB-")


def test_moving_the_start_event_to_another_lane_changes_who_may_start(app, browser):
    """A modified copy of the operativo, its start event in the Call Center's lane, deployed as a new version."""
    atiende = app.extensions["atiende"]
    files, forms = procedures.read_directory(PROCESSES_DIR, FORMS_DIR)
    original = files["lotes_baldios.bpmn"]
    moved = original.replace("        <bpmn:flowNodeRef>StartEvent_operativo</bpmn:flowNodeRef>\n", "", 1).replace(
        "<bpmn:flowNodeRef>Task_registrar_resultados</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>Task_registrar_resultados</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>StartEvent_operativo</bpmn:flowNodeRef>",
        1,
    )
    assert moved != original
    atiende.deploy({"lotes_baldios.bpmn": moved}, forms, "analista")
    with pytest.raises(Forbidden):
        atiende.start_case("lotes_baldios", OPERATIVO, Actor("cc", frozenset({"coordinacion_corregidores"})))
    assert atiende.start_case("lotes_baldios", OPERATIVO, Actor("cc", frozenset({"call_center"}))).ticket
    # The lotes user holds both roles; a defensa user holds neither.
    assert browser("lotes").post("/casos/nuevo?procedimiento=lotes_baldios", OPERATIVO).status_code == 302
    assert browser("defensa").get("/casos/nuevo?procedimiento=lotes_baldios").status_code == 403


def test_the_capture_screens_follow_the_diagrams(app, browser):
    """The 311 screen is for whoever the diagram's start lane names (Defensa del Usuario), the menu too."""
    assert "Llamadas y ventanilla" not in html(browser("coordinador").get("/"))
    assert "Llamadas y ventanilla" in html(browser("defensa").get("/"))
    assert browser("lotes").get("/captura/311").status_code == 403


def test_the_mailbox_registers_a_case_only_for_whoever_starts_the_e_mail_procedure(app):
    """The Buzón's «registrar como caso» goes through the same rule; the item stays pending when refused."""
    item_id = arrive(app)
    form = {**items.start_form_values(item(app, item_id)), **REST}
    atiende = app.extensions["atiende"]
    with pytest.raises(Forbidden, match="no permite iniciar"):
        items.convert(atiende, item_id, form, Actor("front", frozenset({"operador_front"})))
    assert item(app, item_id).case_id is None
    started = items.convert(atiende, item_id, form, Actor("op", frozenset({"operador"})))
    assert item(app, item_id).case_id == started.case_id


def test_a_public_report_starts_as_the_office(app):
    """/reporte and Open311 start the e-mail/web procedure as the system, on purpose: no role needed."""
    assert web_report.ACTOR.system and not web_report.ACTOR.roles


@pytest.mark.parametrize(
    "lanes, expected",
    [
        ("", "no está en ningún carril"),
        (
            '<bpmn:laneSet id="ls"><bpmn:lane id="l" name="Vecinos"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
            "</bpmn:lane></bpmn:laneSet>",
            "carril «Vecinos», que no es un rol conocido",
        ),
    ],
)
def test_a_start_event_must_sit_in_the_lane_of_a_known_role(lanes, expected):
    xml = one_task(lane=None).replace('isExecutable="true">', f'isExecutable="true">{lanes}', 1)
    with pytest.raises(DiagramError) as exc:
        procedures.check({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, InstanceSerializer())
    [problem] = [p for p in exc.value.problems if p.element_id == "start"]
    assert expected in problem.message and problem.file == "prueba.bpmn"
