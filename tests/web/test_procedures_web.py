"""Analysts change procedures in the browser: drafts, validation against each element, deploys,
uploads and downloads, and the migration of waiting cases; others may only read, or nothing."""

import json
import re
from html import unescape
from io import BytesIO

import pytest
from sqlalchemy import select

from engine.access.roles import role_of_lane
from engine.db.models import AuditEvent, Case, ProcedureDraft, ProcedureVersion
from engine.facade import PROCESSES_DIR
from engine.procedures import drafts as procedure_drafts
from tests.web.conftest import html

PROCESS = "atencion_correo_web"
EDITOR = f"/procedimientos/{PROCESS}/editor"
SAVE = f"/procedimientos/{PROCESS}/borrador"
TERM = "sumar_dias(fecha_inicio, 30"
TERM_STEP = 'name="Registrar ticket y plazo legal"'


def current_draft(app):
    with app.extensions["atiende"].store.read() as s:
        return procedure_drafts.current(s, PROCESS, PROCESSES_DIR)


def term_file(app) -> tuple[str, str]:
    """(file name, XML) of the draft's diagram that holds the legal term."""
    [(name, xml)] = [(n, x) for n, x in current_draft(app).bpmn.items() if TERM in x and TERM_STEP in x]
    return name, xml


def post_draft(analista, accion, **fields):
    return analista.post(SAVE, {"accion": accion, **fields}, page=EDITOR)


def scenarios_with_days(app, days: int) -> str:
    """The draft's scenarios, with the 30-day expectations moved to ``days``."""
    text = json.dumps(current_draft(app).scenarios, ensure_ascii=False)
    text = text.replace('"plazo_dias": 30', f'"plazo_dias": {days}')
    return text.replace('"esperar": "P29D"', f'"esperar": "P{days - 1}D"')


@pytest.mark.parametrize("username", ["operador", "coordinador", "admin", "enlace"])
def test_people_who_neither_edit_nor_audit_procedures_cannot_see_them(browser, username):
    assert browser(username).get("/procedimientos/").status_code == 403


def test_the_procedures_page_lists_versions_who_when_and_the_cases_on_each(browser):
    page = html(browser("analista").get("/procedimientos/"))
    section = page[page.index(f'id="proc-{PROCESS}"') :]
    assert "Atención vía correo electrónico" in section and "Versión 1" in section and "(vigente)" in section
    row = re.search(r"Versión 1</a> \(vigente\)</td>(.*?)</tr>", section, re.S).group(1)
    assert "sistema" in row and "Casos abiertos" in row
    assert re.search(r'data-etiqueta="Casos abiertos">3<', row)  # the three demo cases


def test_the_editor_shows_the_diagram_forms_and_scenarios_with_bpmn_js_from_npm(browser, app):
    analista = browser("analista")
    page = html(analista.get(EDITOR))
    assert 'id="lienzo"' in page and 'name="xml"' in page and 'name="escenarios"' in page
    assert 'name="form:captura_correo_web"' in page
    assert "/vendor/bpmn-js/bpmn-modeler.production.min.js" in page and "editor-bpmn.js" in page
    bundle = analista.get("/vendor/bpmn-js/bpmn-modeler.production.min.js")
    assert bundle.status_code == 200 and "javascript" in bundle.mimetype
    bundle.close()
    assert "default-src 'self'" in analista.get(EDITOR).headers["Content-Security-Policy"]


def test_a_draft_is_saved_and_survives_until_discarded(browser, app):
    analista = browser("analista")
    name, xml = term_file(app)
    response = post_draft(analista, "guardar", archivo=name, xml=xml.replace(TERM, "sumar_dias(fecha_inicio, 45"))
    assert response.status_code == 302
    assert "sumar_dias(fecha_inicio, 45" in current_draft(app).bpmn[name]
    page = html(analista.get(EDITOR))
    assert "Borrador guardado por analista" in page
    assert post_draft(analista, "descartar").status_code == 302
    assert not current_draft(app).saved


def test_invalid_form_json_is_refused_beside_its_field_and_nothing_is_saved(browser, app):
    analista = browser("analista")
    response = post_draft(analista, "guardar", **{"form:hoja_de_tramite": '{"type": "object", "properties": '})
    page = html(response)
    assert response.status_code == 422
    assert 'id="form-hoja_de_tramite-error"' in page and "JSON inválido" in page
    assert '{"type": "object", "properties": ' in unescape(page)  # what was typed is kept
    with app.extensions["atiende"].store.read() as s:
        assert s.scalar(select(ProcedureDraft.id)) is None


def test_validation_lists_each_problem_against_its_element_in_spanish(browser, app):
    analista = browser("analista")
    name, xml = term_file(app)
    broken = xml.replace("estado_caso = 'abierto'", "estado_caso = __import__('os').system('id')", 1)
    assert broken != xml
    response = post_draft(analista, "validar", archivo=name, xml=broken)
    page = html(response)
    assert response.status_code == 422
    assert "No se puede desplegar" in page
    assert "<code>Script_registrar_ticket</code>" in page and "Registrar ticket y plazo legal" in page
    assert "script no permitida" in page
    assert 'data-problemas="Script_registrar_ticket"' in page  # the editor marks the shape too


def test_a_deploy_the_scenarios_refuse_is_listed_and_one_that_passes_makes_a_new_version(browser, app):
    analista = browser("analista")
    name, xml = term_file(app)
    changed = xml.replace(TERM, "sumar_dias(fecha_inicio, 45").replace(
        "fecha_limite = primero(sumar_dias(fecha_inicio, 45, habiles=False), sumar_meses(fecha_inicio, 1))",
        "fecha_limite = sumar_dias(fecha_inicio, 45, habiles=False)",
    )
    refused = post_draft(analista, "desplegar", archivo=name, xml=changed, nota="plazo de 45 días")
    assert refused.status_code == 422
    assert "escenario «Queja respondida a tiempo»" in html(refused)
    deployed = post_draft(
        analista,
        "desplegar",
        archivo=name,
        xml=changed,
        escenarios=scenarios_with_days(app, 45),
        nota="plazo de 45 días",
    )
    assert deployed.status_code == 302, html(deployed)
    with app.extensions["atiende"].store.read() as s:
        version = s.scalar(
            select(ProcedureVersion)
            .where(ProcedureVersion.process_id == PROCESS)
            .order_by(ProcedureVersion.version.desc())
        )
        assert s.scalar(select(ProcedureDraft.id)) is None  # the deployed draft is gone
    assert (version.version, version.deployed_by, version.note) == (2, "analista", "plazo de 45 días")
    history = html(analista.get(f"/procedimientos/{PROCESS}/"))
    assert "Versión 2" in history and "Registrar ticket y plazo legal" in history and "script" in history


def test_a_bpmn_is_uploaded_into_the_draft_and_downloaded_again(browser, app):
    analista = browser("analista")
    name, xml = term_file(app)
    token = analista.token(EDITOR)

    def upload(content: bytes):
        return analista.client.post(
            f"/procedimientos/{PROCESS}/borrador/subir",
            data={"csrf_token": token, "archivo": name, "bpmn": (BytesIO(content), "editado.bpmn")},
            content_type="multipart/form-data",
        )

    evil = xml.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    )
    refused = upload(evil.encode())
    assert refused.status_code == 422 and "DOCTYPE" in html(refused)
    assert upload(xml.replace(TERM, "sumar_dias(fecha_inicio, 60").encode()).status_code == 302
    download = analista.get(f"/procedimientos/{PROCESS}/borrador/{name}?descargar=1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert "sumar_dias(fecha_inicio, 60" in download.get_data(as_text=True)
    version_file = analista.get(f"/procedimientos/{PROCESS}/v1/{name}?descargar=1")
    assert TERM in version_file.get_data(as_text=True)


def test_waiting_cases_are_previewed_and_migrated_from_the_migration_page(browser, app):
    analista = browser("analista")
    name, xml = term_file(app)
    changed = xml.replace('"R/P14D"', '"R/P10D"')
    assert (
        post_draft(analista, "desplegar", archivo=name, xml=changed, nota="quincenal cada 10 días").status_code == 302
    )
    page = html(analista.get(f"/procedimientos/{PROCESS}/migracion"))
    assert "Migrar casos a la versión 2" in page and "AC-2026-000001" in page
    assert "se conserva el vencimiento" in page and "Vencen los 30 días" in page
    with app.extensions["atiende"].store.read() as s:
        first = s.scalar(select(Case).where(Case.ticket == "AC-2026-000001"))
    response = analista.post(f"/procedimientos/{PROCESS}/migracion", {"caso": str(first.id), "accion": "elegidos"})
    assert response.status_code == 200 and "Casos migrados a la versión 2: 1 de 1" in html(response)
    with app.extensions["atiende"].store.read() as s:
        assert s.get(Case, first.id).version.version == 2
        event = s.scalar(select(AuditEvent).where(AuditEvent.kind == "caso_migrado"))
        assert event.case_id == first.id and event.actor == "analista"


def test_the_editor_warns_when_a_draft_is_older_than_the_version_in_force(browser, app):
    analista = browser("analista")
    name, xml = term_file(app)
    assert post_draft(analista, "guardar", archivo=name, xml=xml.replace('"R/P14D"', '"R/P12D"')).status_code == 302
    atiende = app.extensions["atiende"]
    with atiende.store.read() as s:
        latest = s.scalar(select(ProcedureVersion).where(ProcedureVersion.process_id == PROCESS))
    atiende.deploy({**latest.bpmn, name: xml.replace('"R/P14D"', '"R/P13D"')}, latest.forms, "otra_analista")
    page = html(analista.get(EDITOR))
    assert "este borrador parte de la versión 1, pero ya se desplegó la\n  versión 2" in page


# -- new procedures, diagram files, process ids --------------------------------------------------

NEW = "/procedimientos/nuevo"


def main_file(app) -> tuple[str, str]:
    draft = current_draft(app)
    name = procedure_drafts.main_file(draft.bpmn, PROCESS)
    return name, draft.bpmn[name]


def versions_of(app, process_id: str) -> list[int]:
    with app.extensions["atiende"].store.read() as s:
        return list(s.scalars(select(ProcedureVersion.version).where(ProcedureVersion.process_id == process_id)))


def upload(analista, process_id: str, content: bytes, filename: str, archivo: str = ""):
    page = f"/procedimientos/{process_id}/editor"
    return analista.client.post(
        f"/procedimientos/{process_id}/borrador/subir",
        data={"csrf_token": analista.token(page), "archivo": archivo, "bpmn": (BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_a_draft_whose_process_id_changed_is_refused_and_nothing_is_stored(browser, app):
    analista = browser("analista")
    name, xml = main_file(app)
    renamed = xml.replace(f'id="{PROCESS}"', 'id="correo_renombrado"').replace(
        f'processRef="{PROCESS}"', 'processRef="correo_renombrado"'
    )
    response = post_draft(analista, "desplegar", archivo=name, xml=renamed, nota="renombrado")
    assert response.status_code == 422
    assert f"ya no define el proceso «{PROCESS}»" in html(response) and "correo_renombrado" in html(response)
    assert versions_of(app, "correo_renombrado") == [] and versions_of(app, PROCESS) == [1]
    assert current_draft(app).saved  # what the analyst typed is kept, to fix


def test_a_new_procedure_from_an_empty_diagram_is_deployed_and_started_by_its_lane(browser, app):
    analista = browser("analista")
    refused = analista.post(NEW, {"nombre": "Poda de árboles", "identificador": "Poda!", "rol": "operador"})
    assert refused.status_code == 422 and 'id="identificador-error"' in html(refused)
    control = analista.post(NEW, {"nombre": "Poda\x01", "identificador": "poda", "rol": "operador"})
    assert control.status_code == 422 and "caracteres de control" in html(control)
    taken = analista.post(NEW, {"nombre": "Otro", "identificador": PROCESS, "rol": "operador"})
    assert (
        taken.status_code == 422
        and f"Ya existe un procedimiento o un borrador con el identificador «{PROCESS}»" in (html(taken))
    )
    created = analista.post(NEW, {"nombre": "Poda de árboles", "identificador": "", "rol": "inspector"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/procedimientos/poda_de_arboles/editor")
    assert "Poda de árboles" in html(analista.get("/procedimientos/"))  # listed before its first deploy
    editor = html(analista.get("/procedimientos/poda_de_arboles/editor"))
    assert "Procedimiento nuevo" in editor and 'name="Inspector"' in unescape(editor)
    deployed = analista.post(
        "/procedimientos/poda_de_arboles/borrador",
        {"accion": "desplegar", "nota": "primera versión"},
        page="/procedimientos/poda_de_arboles/editor",
    )
    assert deployed.status_code == 302, html(deployed)
    assert versions_of(app, "poda_de_arboles") == [1]
    inspector, operador = browser("defensa"), browser("operador")  # defensa is an inspector
    assert "Poda de árboles" in html(inspector.get("/casos/nuevo?procedimiento=poda_de_arboles"))
    assert operador.get("/casos/nuevo?procedimiento=poda_de_arboles").status_code == 403
    started = inspector.post("/casos/nuevo?procedimiento=poda_de_arboles", {})
    assert started.status_code == 302, html(started)
    with app.extensions["atiende"].store.read() as s:
        case = s.scalar(select(Case).order_by(Case.id.desc()))
        assert (case.version.process_id, case.status) == ("poda_de_arboles", "cerrado")  # start, then end


def test_a_new_procedure_copied_from_another_gets_its_own_id_and_name(browser, app):
    analista = browser("analista")
    response = analista.post(NEW, {"nombre": "Correo de prueba", "identificador": "correo_prueba", "copia": PROCESS})
    assert response.status_code == 302, html(response)
    with app.extensions["atiende"].store.read() as s:
        draft = procedure_drafts.current(s, "correo_prueba")
    assert draft.is_new and draft.name == "Correo de prueba" and draft.scenarios["proceso"] == "correo_prueba"
    assert set(procedure_drafts.process_ids(draft.bpmn)) == {"correo_prueba", "tramitacion_comun"}
    assert f'id="{PROCESS}"' not in "".join(draft.bpmn.values())
    deployed = analista.post(
        "/procedimientos/correo_prueba/borrador", {"accion": "desplegar"}, page="/procedimientos/correo_prueba/editor"
    )
    assert deployed.status_code == 302, html(deployed)
    assert versions_of(app, "correo_prueba") == [1] and versions_of(app, PROCESS) == [1]
    assert versions_of(app, "tramitacion_comun") == [1]  # the called process is unchanged: not deployed again


def test_a_new_procedure_discarded_before_its_first_deploy_is_gone(browser, app):
    analista = browser("analista")
    assert analista.post(NEW, {"nombre": "Efímero", "rol": "operador"}).status_code == 302
    discarded = analista.post(
        "/procedimientos/efimero/borrador", {"accion": "descartar"}, page="/procedimientos/efimero/editor"
    )
    assert discarded.status_code == 302 and discarded.headers["Location"].endswith("/procedimientos/")
    assert analista.get("/procedimientos/efimero/editor").status_code == 404


def test_a_diagram_file_is_added_to_a_draft_and_removed_again(browser, app):
    analista = browser("analista")
    assert analista.post(NEW, {"nombre": "Llamado", "identificador": "llamado", "rol": "operador"}).status_code == 302
    with app.extensions["atiende"].store.read() as s:
        [called] = procedure_drafts.current(s, "llamado").bpmn.values()
    assert upload(analista, PROCESS, called.encode(), "llamado.bpmn").status_code == 302
    assert set(procedure_drafts.process_ids(current_draft(app).bpmn)) == {PROCESS, "tramitacion_comun", "llamado"}
    assert current_draft(app).scenarios["escenarios"]  # the draft kept the procedure's scenarios
    assert "llamado.bpmn" in html(analista.get(EDITOR))
    removed = analista.post(f"/procedimientos/{PROCESS}/borrador/quitar", {"archivo": "llamado.bpmn"}, page=EDITOR)
    assert removed.status_code == 302
    assert "llamado.bpmn" not in current_draft(app).bpmn


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"esto no es XML", "nuevo.bpmn", "XML mal formado"),
        ("<?xml version='1.0' encoding='latin-1'?><a>ñ</a>".encode("latin-1"), "nuevo.bpmn", "no está en UTF-8"),
        (b"<definitions/>", "nuevo.bpmn", "no define ningún proceso BPMN"),
        (None, "copia.bpmn", "ya está definido en"),
        (None, "mi diagrama.txt", "debe terminar en .bpmn"),
    ],
)
def test_a_bad_diagram_file_is_refused_with_a_spanish_message_and_the_draft_is_untouched(
    browser, app, content, filename, message
):
    analista = browser("analista")
    content = content if content is not None else main_file(app)[1].encode()
    response = upload(analista, PROCESS, content, filename)
    assert response.status_code == 422 and message in html(response), html(response)
    assert not current_draft(app).saved


@pytest.mark.parametrize(
    ("filename", "message"),
    [("atencion_correo_web.bpmn", "define el proceso «atencion_correo_web» del procedimiento")],
)
def test_the_file_defining_the_procedure_cannot_be_removed(browser, app, filename, message):
    analista = browser("analista")
    response = analista.post(f"/procedimientos/{PROCESS}/borrador/quitar", {"archivo": filename}, page=EDITOR)
    assert response.status_code == 422 and message in html(response)
    assert (
        analista.post(f"/procedimientos/{PROCESS}/borrador/quitar", {"archivo": "no.bpmn"}, page=EDITOR).status_code
        == 404
    )


def test_the_only_diagram_of_a_draft_cannot_be_removed(browser, app):
    analista = browser("analista")
    assert analista.post(NEW, {"nombre": "Solo uno", "identificador": "solo_uno", "rol": "operador"}).status_code == 302
    response = analista.post(
        "/procedimientos/solo_uno/borrador/quitar", {"archivo": "solo_uno.bpmn"}, page="/procedimientos/solo_uno/editor"
    )
    assert response.status_code == 422 and "no se puede quitar el único" in html(response)


@pytest.mark.parametrize("role", procedure_drafts.STARTING_ROLES)
def test_the_lane_of_a_new_procedure_stands_for_the_role_chosen(role):
    assert role_of_lane(procedure_drafts.lane_name(role)) == role


def test_the_file_of_a_called_procedure_says_its_change_reaches_every_caller(browser, app):
    """The channel's editor shows its copy of the common steps: a change there reaches every channel on deploy."""
    analista = browser("analista")
    common = html(analista.get(f"{EDITOR}?archivo=tramitacion_comun.bpmn"))
    assert "llega a los casos nuevos de todos los procedimientos que lo llaman" in common
    assert "tramitacion_comun" in common.split("llega a los casos nuevos")[0]
    assert "llega a los casos nuevos de todos" not in html(analista.get(EDITOR))  # the channel's own file
