"""Each task page shows what must be acted on (issue 18): the citizen's words and files on every
task of the case, the hoja de trámite inline and as its PDF where the diagram says so, a returned
hoja's comment on top of the task that corrects it and in the timeline, and only the buttons the
person can use."""

from __future__ import annotations

import re
from io import BytesIO

from tests.fixtures.desk import Desk
from tests.web.conftest import CAPTURA, HOJA, html, start_case, task_id, to_approval
from tests.web.test_task_forms import PDF

PLANTILLA = "Llenar plantilla de queja o reclamo"
CONFECCIONAR = "Confeccionar hoja de trámite"
APROBAR = "Aprobar hoja de trámite"
ACUSE = "Confirmar acuse de recibo"
RETURN_COMMENT = "Falta el número de la escuela en el resumen."


def hoja_frame(page: str) -> str | None:
    """The address of the inline hoja's frame on a task page, if it has one."""
    found = re.search(r'<iframe[^>]*src="([^"]+)"[^>]*title="Hoja de trámite', page)
    return found.group(1) if found else None


def pdf_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)"[^>]*>Descargar la hoja de trámite \(PDF\)', page)
    return found.group(1) if found else None


def test_the_plantilla_page_shows_the_citizens_words_and_a_link_to_each_attachment(store, browser):
    operador = browser("operador")
    case_id = start_case(operador, adjuntos=[(BytesIO(PDF), "foto_acera.pdf")])
    page = html(operador.get(f"/tareas/{task_id(store, case_id, PLANTILLA)}"))
    words = page.index('id="titulo-ciudadano"')
    assert words < page.index('id="titulo-formulario"')  # near the top, before the form
    assert CAPTURA["descripcion"] in page[words:]
    [link] = re.findall(r'<a href="(/casos/adjuntos/[0-9a-f]{32})">foto_acera\.pdf</a>', page)
    assert operador.get(link).get_data() == PDF


def test_every_task_of_the_case_shows_the_citizens_words_the_approval_too(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    page = html(coordinador.get(f"/tareas/{task_id(store, case_id, APROBAR)}"))
    assert CAPTURA["descripcion"] in page[page.index('id="titulo-ciudadano"') :]
    assert "No hay archivos adjuntos" in page


def test_the_approval_page_shows_the_hoja_inline_and_its_pdf(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    page = html(coordinador.get(f"/tareas/{task_id(store, case_id, APROBAR)}"))
    frame = hoja_frame(page)
    assert frame is not None and page.index(frame) < page.index('id="titulo-formulario"')
    hoja = coordinador.get(frame)
    assert hoja.status_code == 200 and hoja.mimetype == "text/html"
    text = html(hoja)
    assert "HOJA DE TRÁMITE" in text and "Acera rota frente a la escuela." in text
    assert "Planificación Urbana" in text and "planificacion_urbana" not in text  # labels, as on the PDF
    assert "frame-ancestors 'self'" in hoja.headers["Content-Security-Policy"]
    pdf = coordinador.get(pdf_link(page))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF")
    # Only where the diagram says so: not on a template, and not for whoever may not see the task.
    plantilla = task_id(store, start_case(operador), PLANTILLA)
    assert hoja_frame(html(operador.get(f"/tareas/{plantilla}"))) is None
    assert operador.get(f"/tareas/{plantilla}/hoja").status_code == 404
    assert operador.get(frame).status_code == 403


def test_the_acuse_page_shows_the_hoja_that_was_remitted_and_links_its_pdf(store, browser):
    operador, coordinador, enlace = browser("operador"), browser("coordinador"), browser("enlace")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    approved = {"decision_hoja": "aprobar", "comentarios_aprobacion": "Conforme."}
    assert coordinador.post(f"/tareas/{task_id(store, case_id, APROBAR)}", approved).status_code == 302
    page = html(enlace.get(f"/tareas/{task_id(store, case_id, ACUSE)}"))
    text = html(enlace.get(hoja_frame(page)))
    assert "Carlos Coordinador" in text and "Conforme." in text  # the approved hoja, as the dirección got it
    pdf = enlace.get(pdf_link(page))
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    assert browser("enlace_ambiental").get(hoja_frame(page)).status_code == 403


def test_a_returned_hoja_shows_the_coordinators_comment_on_top_and_in_the_timeline(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    returned = {"decision_hoja": "devolver", "comentarios_aprobacion": RETURN_COMMENT}
    assert coordinador.post(f"/tareas/{task_id(store, case_id, APROBAR)}", returned).status_code == 302

    page = html(operador.get(f"/tareas/{task_id(store, case_id, CONFECCIONAR)}"))
    banner = re.search(r'<section class="aviso aviso-devolucion"[^>]*>(.*?)</section>', page, re.S)
    assert banner is not None and page.index(banner.group(0)) < page.index('id="titulo-formulario"')
    assert RETURN_COMMENT in banner.group(1) and "Carlos Coordinador" in banner.group(1)
    assert "02/03/2026" in banner.group(1)

    timeline = html(operador.get(f"/casos/{case_id}"))
    assert re.search(
        r"<strong>Hoja de trámite devuelta para corrección</strong> — " + re.escape(RETURN_COMMENT), timeline
    )
    # The approval of the corrected hoja has no return to answer, and shows the corrected hoja.
    corrected = {**HOJA, "resumen": "Acera rota frente a la Escuela República de Chile."}
    assert operador.post(f"/tareas/{task_id(store, case_id, CONFECCIONAR)}", corrected).status_code == 302
    page = html(coordinador.get(f"/tareas/{task_id(store, case_id, APROBAR)}"))
    assert "aviso-devolucion" not in page
    assert "Escuela República de Chile" in html(coordinador.get(hoja_frame(page)))


def test_the_approved_hoja_is_not_called_returned(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    assert coordinador.post(f"/tareas/{task_id(store, case_id, APROBAR)}", {"decision_hoja": "aprobar"}).status_code
    timeline = html(operador.get(f"/casos/{case_id}"))
    assert "devuelta para corrección" not in timeline
    assert "Hoja de trámite aprobada" in timeline


def test_a_coordinator_sees_another_roles_task_without_buttons_they_cannot_use(app, store, browser, frozen_clock):
    desk = Desk(app.extensions["atiende"], frozen_clock)
    case_id = desk.start("defensa_usuario_311")
    [task] = desk.tasks(case_id)
    assert task.lane == "defensa_usuario"
    coordinador = browser("coordinador")
    response = coordinador.get(f"/tareas/{task.id}")
    assert response.status_code == 200
    page = html(response)
    assert "Tomar tarea" not in page and "Completar tarea" not in page
    assert f'href="/tareas/{task.id}/reasignar' in page
    assert "Construyen de noche" in page  # the material is there to decide whom to give it to
    assert coordinador.post(f"/tareas/{task.id}/tomar", {}, page=f"/tareas/{task.id}").status_code == 403

    defensa = browser("defensa")
    assert "Tomar tarea" in html(defensa.get(f"/tareas/{task.id}"))
    assert defensa.post(f"/tareas/{task.id}/tomar", {}).status_code == 302
    # Taken by Defensa: the coordinator may give it back to the role (usable), still not take it.
    page = html(coordinador.get(f"/tareas/{task.id}"))
    assert "Liberar tarea" in page and "Tomar tarea" not in page and "Diana Defensa del Usuario" in page
    assert coordinador.post(f"/tareas/{task.id}/liberar", {}, page=f"/tareas/{task.id}").status_code == 302


def test_someone_who_neither_works_nor_coordinates_a_task_still_gets_403(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    plantilla = task_id(store, case_id, PLANTILLA)
    for who in ("enlace", "auditor", "defensa"):
        assert browser(who).get(f"/tareas/{plantilla}").status_code == 403


def test_the_auditors_trail_names_the_channel_a_start_event_set_not_its_code(store, browser):
    operador = browser("operador")
    new = "/casos/nuevo?procedimiento=atencion_directa"
    response = operador.post(new, {k: v for k, v in CAPTURA.items() if k != "canal"}, page=new)
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    trail = html(browser("auditor").get(f"/auditoria/casos/{case_id}"))
    changes = dict(
        re.findall(
            r"<li><strong>([^<]+)</strong>: <span class=\"antes\">[^<]*</span> → "
            r"<span class=\"despues\">([^<]*)</span>",
            trail,
        )
    )
    assert changes["Canal de recepción"] == "Atención directa (presencial)"  # set by the start event
    assert changes["Tipo de caso"] == "Queja o reclamo" and changes["Corregimiento"] == "Bella Vista"
