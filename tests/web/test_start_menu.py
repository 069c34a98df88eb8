"""Who starts what comes from the diagrams: each demo person's «Nuevo caso» lists exactly the procedures
whose start event sits in a lane of one of their roles, read here from the XML of processes/ itself."""

from __future__ import annotations

import re
from html import unescape

import pytest
from lxml import etree
from sqlalchemy import select

from engine.access.roles import role_of_lane
from engine.db.models import Case, HumanTask
from engine.demo.procedures import STARTS
from engine.demo.seed import DEMO_USERS
from engine.facade import PROCESSES_DIR
from tests.web.conftest import html

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def started_by_hand() -> dict[str, set[str]]:
    """Procedure name → the roles of the lanes its plain start events sit in; called procedures left out."""
    trees = [etree.parse(str(path)) for path in sorted(PROCESSES_DIR.glob("*.bpmn"))]
    called = {node.get("calledElement") for tree in trees for node in tree.iterfind(".//bpmn:callActivity", NS)}
    found = {}
    for tree in trees:
        for process in tree.iterfind("bpmn:process", NS):
            if process.get("id") in called:
                continue
            lanes = {
                ref.text.strip(): lane.get("name")
                for lane in process.iterfind(".//bpmn:lane", NS)
                for ref in lane.iterfind("bpmn:flowNodeRef", NS)
            }
            plain = [
                s
                for s in process.iterfind("bpmn:startEvent", NS)
                if not s.xpath("*[contains(local-name(), 'EventDefinition')]")
            ]
            roles = {role_of_lane(lanes.get(s.get("id"))) for s in plain} - {None}
            if roles:
                found[process.get("name")] = roles
    return found


STARTERS = started_by_hand()


def offered(page: str) -> set[str]:
    """The procedures the new-case page offers: its list when there are several, else its subtitle."""
    listed = re.search(r'<nav class="tarjeta" aria-labelledby="titulo-procedimientos">(.*?)</nav>', page, re.S)
    if listed:
        items = re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)
        return {unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items}
    return {unescape(re.search(r'<p class="subtitulo">(.*?)</p>', page).group(1)).strip()}


def test_the_diagrams_name_a_starter_for_the_lotes_operativo():
    assert STARTERS["Operativo de lotes baldíos"] == {"coordinacion_corregidores"}


@pytest.mark.parametrize("username, roles", [(u[0], set(u[2])) for u in DEMO_USERS], ids=[u[0] for u in DEMO_USERS])
def test_each_demo_person_is_offered_exactly_what_their_lanes_start(browser, username, roles):
    expected = {name for name, starters in STARTERS.items() if starters & roles}
    person = browser(username)
    menu = html(person.get("/"))
    assert ('href="/casos/nuevo"' in menu) == bool(expected), username
    response = person.get("/casos/nuevo")
    if not expected:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert offered(html(response)) == expected


def test_the_lotes_team_starts_an_operativo_from_its_menu(app, browser):
    lotes = browser("lotes")
    menu = html(lotes.get("/"))
    link = re.search(r'<a href="(/casos/nuevo[^"]*)"[^>]*>Nuevo caso</a>', menu)
    assert link, "the menu offers «Nuevo caso»"
    page = html(lotes.get(link.group(1)))
    assert "Operativo de lotes baldíos" in page and "Programación del operativo" in page
    response = lotes.post(link.group(1), {**STARTS["lotes_baldios"], "fecha_visita": "09/03/2026"})
    assert response.status_code == 302, html(response)
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.extensions["atiende"].store.read() as s:
        case = s.get(Case, case_id)
        assert case.ticket.startswith("LB-") and case.created_by == "lotes"
        lanes = set(s.scalars(select(HumanTask.lane).where(HumanTask.case_id == case_id)))
    assert lanes == {"coordinacion_corregidores"}  # its first task is the team's own
    assert "Preparar el informe homologado" in html(lotes.get("/"))
