"""Who may open what: one table of routes × people, checked in one test.

To cover a new route, add one line to ROUTES: the method, the URL (placeholders are filled
from ``objects``), the form posted (with a valid CSRF token; keep it invalid or harmless so
an allowed person changes little), and the people allowed. Everyone else must get 403, and
an anonymous visitor a redirect to the sign-in page.
"""

import re
from io import BytesIO

import pytest
from sqlalchemy import select

from engine.db.models import Attachment
from engine.demo import seed as demo
from tests.web.conftest import CAPTURA, html, start_case, task_id, to_approval

EVERYONE = frozenset(u[0] for u in demo.DEMO_USERS)
READERS = EVERYONE - {"analista", "admin"}  # engine.access.permissions.CASE_READERS
PLANIFICACION = READERS - {"enlace_ambiental"}  # the case was sent to Planificación Urbana
WRITERS = PLANIFICACION - {"auditor"}
COORDINATOR = {"coordinador"}
ADMIN = {"admin"}
STARTERS = {"operador", "defensa", "lotes"}  # the roles of the start events' lanes (processes/*.bpmn)
PAPER_STAFF = {"operador", "coordinador", "auditor"}  # web.paperwork.documentos: outbox, archive, consolidado
PAPER_READERS = PAPER_STAFF | {"enlace", "enlace_ambiental"}  # an enlace: their own dirección only

ROUTES = [
    ("GET", "/", {}, EVERYONE),
    ("GET", "/buscar/?q=rosa", {}, READERS),
    ("GET", "/bandeja/filas", {}, EVERYONE),
    ("POST", "/bandeja/lote", {"accion": "tomar"}, EVERYONE),  # nothing marked: nothing changes
    ("POST", "/bandeja/lote", {"accion": "reasignar"}, COORDINATOR),
    ("GET", "/casos/nuevo", {}, STARTERS),
    ("POST", "/casos/nuevo", {"asunto": ""}, STARTERS),
    ("GET", "/casos/{case}", {}, PLANIFICACION),
    ("POST", "/casos/{case}/notas", {"texto": ""}, WRITERS),
    ("GET", "/casos/adjuntos/{attachment}", {}, PLANIFICACION),
    ("GET", "/tareas/{approval}", {}, COORDINATOR),
    ("POST", "/tareas/{approval}", {"decision_hoja": ""}, COORDINATOR),
    ("POST", "/tareas/{approval}", {"accion": "borrador"}, COORDINATOR),
    ("POST", "/tareas/{approval}/tomar", {}, COORDINATOR),
    ("POST", "/tareas/{approval}/liberar", {}, COORDINATOR),
    ("GET", "/tareas/{approval}/reasignar", {}, COORDINATOR),
    ("POST", "/tareas/{approval}/reasignar", {"usuario": "nadie"}, COORDINATOR),
    ("GET", "/tareas/{template}", {}, {"operador", "coordinador"}),  # a coordinator's view: read only
    ("GET", "/tareas/{approval}/hoja", {}, COORDINATOR),
    ("GET", "/tareas/{approval}/hoja.pdf", {}, COORDINATOR),
    ("POST", "/tareas/{template}/tomar", {}, {"operador"}),
    ("GET", "/admin/usuarios", {}, ADMIN),
    ("GET", "/admin/usuarios/nuevo", {}, ADMIN),
    ("POST", "/admin/usuarios/nuevo", {"usuario": ""}, ADMIN),
    ("GET", "/admin/usuarios/{user}", {}, ADMIN),
    ("POST", "/admin/usuarios/{user}/contrasena", {"contrasena": "corta"}, ADMIN),
    ("GET", "/admin/catalogos", {}, ADMIN),
    ("GET", "/admin/catalogos/direcciones", {}, ADMIN),
    ("POST", "/admin/catalogos/direcciones", {"codigo": ""}, ADMIN),
    # The channels (issue 6); message 0 does not exist, so an operator gets 404 and changes nothing.
    ("GET", "/entrada/", {}, {"operador"}),
    ("GET", "/entrada/0", {}, {"operador"}),
    ("POST", "/entrada/0", {"tipo_caso": ""}, {"operador"}),
    ("POST", "/entrada/0/descartar", {"motivo": ""}, {"operador"}),
    ("GET", "/entrada/0/adjuntos/nada", {}, {"operador"}),
    ("GET", "/captura/", {}, {"operador", "defensa"}),
    ("GET", "/captura/llamada", {}, {"operador"}),
    ("POST", "/captura/llamada", {"asunto": ""}, {"operador"}),
    ("GET", "/captura/presencial", {}, {"operador"}),
    ("POST", "/captura/presencial", {"asunto": ""}, {"operador"}),
    ("GET", "/captura/311", {}, {"defensa"}),
    ("POST", "/captura/311", {"asunto": ""}, {"defensa"}),
    ("POST", "/casos/{case}/vincular", {"otro_caso": ""}, {"operador", "coordinador"}),
    # Procedures and audit (issue 7): the analyst edits; the auditor reads. The posts are refused
    # drafts (invalid JSON, no file, no case chosen), so an analyst changes nothing either.
    # Incidents (issue 16): incident 0 does not exist, so whoever may retry or resolve gets 404.
    ("GET", "/incidencias/", {}, {"analista", "coordinador", "auditor"}),
    ("POST", "/incidencias/0/reintentar", {}, {"analista", "coordinador"}),
    ("POST", "/incidencias/0/resolver", {}, {"analista", "coordinador"}),
    ("GET", "/procedimientos/", {}, {"analista", "auditor"}),
    ("GET", "/procedimientos/atencion_correo_web/", {}, {"analista", "auditor"}),
    ("GET", "/procedimientos/atencion_correo_web/v1", {}, {"analista", "auditor"}),
    ("GET", "/procedimientos/atencion_correo_web/editor", {}, {"analista"}),
    ("POST", "/procedimientos/atencion_correo_web/borrador", {"accion": "guardar", "escenarios": "{"}, {"analista"}),
    ("POST", "/procedimientos/atencion_correo_web/borrador/subir", {}, {"analista"}),
    ("GET", "/procedimientos/atencion_correo_web/migracion", {}, {"analista"}),
    ("POST", "/procedimientos/atencion_correo_web/migracion", {"accion": "elegidos"}, {"analista"}),
    ("GET", "/auditoria/", {}, {"auditor"}),
    ("GET", "/auditoria/registro.csv", {}, {"auditor"}),
    ("GET", "/auditoria/cadena", {}, {"auditor"}),
    ("GET", "/auditoria/casos/{case}", {}, {"auditor"}),
    # Paperwork (issue 5). Message, document and ticket 0 do not exist and the case has no acuse
    # pending yet, so an allowed person gets 404 (or 422: nothing chosen) and changes nothing.
    ("GET", "/documentos/correo", {}, PAPER_STAFF),
    ("GET", "/documentos/correo/0", {}, PAPER_STAFF),
    ("POST", "/documentos/correo/0/reenviar", {}, COORDINATOR),
    ("GET", "/documentos/0", {}, PAPER_READERS),
    ("GET", "/documentos/archivo", {}, PAPER_READERS),
    ("GET", "/documentos/archivo/planificacion_urbana/2026-03.pdf", {}, PAPER_STAFF | {"enlace"}),
    ("GET", "/documentos/consolidado", {}, PAPER_READERS),
    ("GET", "/documentos/consolidado/planificacion_urbana.xlsx", {}, PAPER_STAFF | {"enlace"}),
    ("GET", "/documentos/aprobaciones", {}, COORDINATOR),
    ("POST", "/documentos/aprobaciones", {}, COORDINATOR),
    ("GET", "/documentos/acuse-en-papel/{case}", {}, {"operador"}),
    ("POST", "/documentos/acuse-en-papel/{case}", {"recibido_por": ""}, {"operador"}),
    ("GET", "/acuse/AC-0000-000000", {}, READERS),
]


@pytest.fixture
def objects(store, browser):
    """A case at the coordinator's approval (sent to Planificación Urbana) and one fresh case."""
    operador = browser("operador")
    response = operador.post("/casos/nuevo", {**CAPTURA, "adjuntos": (BytesIO(b"%PDF-1.4 acta"), "acta.pdf")})
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    to_approval(store, operador, case_id)
    fresh = start_case(operador)
    with store.read() as s:
        attachment = s.scalar(select(Attachment.id).where(Attachment.case_id == case_id))
    user = re.search(r'/admin/usuarios/(\d+)">Ana Operadora', html(browser("admin").get("/admin/usuarios"))).group(1)
    return {
        "case": case_id,
        "attachment": attachment,
        "approval": task_id(store, case_id, "Aprobar hoja de trámite"),
        "template": task_id(store, fresh, "Llenar plantilla de queja o reclamo"),
        "user": user,
    }


def test_every_route_refuses_everyone_it_does_not_name(browser, objects):
    people = {username: browser(username) for username in sorted(EVERYONE)}
    anonymous = browser()
    wrong = []
    for method, template, data, allowed in ROUTES:
        url = template.format(**objects)
        for username, person in [*people.items(), (None, anonymous)]:
            if method == "GET":
                response = person.get(url)
            else:
                response = person.post(url, data, page="/" if username else "/ingresar")
            status = response.status_code
            to_sign_in = status == 302 and response.headers["Location"].startswith("/ingresar")
            if username is None:
                ok = to_sign_in
            elif username in allowed:
                ok = status != 403 and not to_sign_in and status < 500
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{method} {template} as {username or 'anonymous'}: {status}")
    assert wrong == []
