"""An enlace's dirección limits every case they reach, whatever other role they hold, unless a role that
sees every dirección (coordinador, auditor) was granted on purpose."""

from __future__ import annotations

from io import BytesIO

import pytest
from sqlalchemy import select

from engine.access.accounts import create_user
from engine.db.models import Attachment, Case, Document, User
from engine.demo import seed as demo
from tests.web.conftest import CAPTURA, HOJA, html, start_case, task_id, to_approval

# Enlaces of Gestión Ambiental with one more role each; the cases below went to Planificación Urbana.
LIMITED = {"amb_operador": "operador", "amb_analista": "analista", "amb_defensa": "defensa_usuario"}
SEE_ALL = {"amb_coordinador": "coordinador", "amb_auditor": "auditor"}


@pytest.fixture
def office(store, browser):
    """A case remitted to Planificación Urbana (hoja, attachment, acuse pending), one to Gestión
    Ambiental, one fresh (no dirección yet), and the enlaces with combined roles."""
    with store.unit_of_work() as s:
        for username, role in {**LIMITED, **SEE_ALL}.items():
            create_user(s, username, username, demo.DEMO_PASSWORD, ["enlace", role], direccion="gestion_ambiental")
    operador, coordinador = browser("operador"), browser("coordinador")
    response = operador.post("/casos/nuevo", {**CAPTURA, "adjuntos": (BytesIO(b"%PDF-1.4 acta"), "acta.pdf")})
    other = int(response.headers["Location"].rsplit("/", 1)[1])
    to_approval(store, operador, other)
    own = start_case(operador, asunto="Quema de basura en el lote")
    for name, data in (
        ("Llenar plantilla de queja o reclamo", {"hechos": "Humo.", "pretension": "Que paren."}),
        ("Confeccionar hoja de trámite", {**HOJA, "direccion": "gestion_ambiental"}),
    ):
        assert operador.post(f"/tareas/{task_id(store, own, name)}", data).status_code == 302
    chosen = [task_id(store, c, "Aprobar hoja de trámite") for c in (other, own)]
    assert coordinador.post("/documentos/aprobaciones", {"tarea": chosen}).status_code == 200
    fresh = start_case(operador, asunto="Semáforo dañado")
    with store.read() as s:
        attachment = s.scalar(select(Attachment.id).where(Attachment.case_id == other))
        document = s.scalar(select(Document.id).where(Document.case_id == other))
        tickets = {c: s.get(Case, c).ticket for c in (other, own, fresh)}
    return {
        "other": other,
        "own": own,
        "fresh": fresh,
        "attachment": attachment,
        "document": document,
        "tickets": tickets,
        "template": task_id(store, fresh, "Llenar plantilla de queja o reclamo"),
    }


def reads(person, office) -> dict[str, int]:
    """The status of each kind of resource of the Planificación Urbana case for ``person``."""
    return {
        "caso": person.get(f"/casos/{office['other']}").status_code,
        "adjunto": person.get(f"/casos/adjuntos/{office['attachment']}").status_code,
        "documento": person.get(f"/documentos/{office['document']}").status_code,
        "consolidado": person.get("/documentos/consolidado/planificacion_urbana.xlsx").status_code,
        "acuse": person.get(f"/acuse/{office['tickets'][office['other']]}").status_code,
    }


@pytest.mark.parametrize("username", sorted(LIMITED))
def test_an_enlace_with_another_role_stays_in_their_direccion(browser, office, username):
    person = browser(username)
    assert set(reads(person, office).values()) == {403}, reads(person, office)
    other, own, fresh = (office["tickets"][office[k]] for k in ("other", "own", "fresh"))
    found = html(person.get(f"/buscar/?q={other}")) + html(person.get("/buscar/?q=acera"))
    assert f'href="/casos/{office["other"]}"' not in found and f'href="/casos/{office["own"]}"' in found
    consolidado = html(person.get("/documentos/consolidado?direccion=planificacion_urbana"))
    assert other not in consolidado and own in consolidado  # their own dirección's, whatever was asked
    bandeja = html(person.get("/?alcance=todas"))
    assert other not in bandeja and fresh not in bandeja and own in bandeja  # the acuse of their dirección
    assert person.get(f"/tareas/{office['template']}").status_code == 403
    assert person.get(f"/casos/{office['own']}").status_code == 200


@pytest.mark.parametrize("username", sorted(LIMITED))
def test_a_limited_enlace_does_not_read_the_outbox_of_every_direccion(browser, office, username):
    response = browser(username).get("/documentos/correo")
    assert response.status_code == 403
    assert "limitado a su dirección" in html(response) or username != "amb_operador"


@pytest.mark.parametrize("username", sorted(SEE_ALL))
def test_a_role_that_sees_every_direccion_lifts_the_limit(browser, office, username):
    person = browser(username)
    statuses = reads(person, office)
    assert statuses["caso"] == statuses["adjunto"] == statuses["documento"] == statuses["consolidado"] == 200
    assert office["tickets"][office["other"]] in html(person.get(f"/buscar/?q={office['tickets'][office['other']]}"))


def test_enlace_and_coordinador_sees_the_whole_team_in_the_bandeja(browser, office):
    bandeja = html(browser("amb_coordinador").get("/?alcance=equipo"))
    assert office["tickets"][office["other"]] in bandeja and office["tickets"][office["fresh"]] in bandeja


def test_the_admin_page_says_how_far_each_person_sees(store, browser, office):
    admin = browser("admin")
    with store.read() as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}
    assert "Limitado a su dirección: Dirección de Gestión Ambiental" in html(
        admin.get(f"/admin/usuarios/{ids['amb_operador']}")
    )
    assert "Ve los casos de todas las direcciones" in html(admin.get(f"/admin/usuarios/{ids['amb_coordinador']}"))
    assert "Ve los casos de todas las direcciones" in html(admin.get(f"/admin/usuarios/{ids['operador']}"))
    assert "No consulta casos" in html(admin.get(f"/admin/usuarios/{ids['analista']}"))
