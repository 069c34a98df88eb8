"""The task form at work: repeating rows without JavaScript, drafts, file attachments."""

import re
from io import BytesIO

import pytest
from sqlalchemy import select

from engine.access.accounts import Actor, create_user
from engine.cases import attachments
from engine.db.models import Attachment, AuditEvent, Case, HumanTask, TaskDraft
from tests.fixtures.diagrams import one_task
from tests.web.conftest import CAPTURA, html

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORM = {
    "type": "object",
    "title": "Gestiones realizadas",
    "required": ["gestiones"],
    "properties": {
        "gestiones": {
            "type": "array",
            "title": "Gestiones",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["accion"],
                "x-orden": ["fecha", "accion", "horas"],
                "properties": {
                    "fecha": {"type": "string", "format": "date", "title": "Fecha"},
                    "accion": {"type": "string", "title": "Acción", "maxLength": 200},
                    "horas": {"type": "integer", "title": "Horas", "minimum": 0},
                },
            },
        },
        "evidencias": {
            "type": "array",
            "title": "Evidencias",
            "x-widget": "adjuntos",
            "items": {"type": "string"},
            "maxItems": 5,
        },
    },
}
OPERADOR = Actor("operador", frozenset({"operador"}))


@pytest.fixture
def task(app, store):
    """A case of a one-task procedure whose form has repeating rows and attachments; its task id."""
    engine = app.extensions["atiende"]
    engine.deploy({"prueba.bpmn": one_task(form="gestiones", condition="marcado")}, {"gestiones": FORM}, "analista")
    case_id = engine.start_case("prueba", {}, OPERADOR).case_id
    with store.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id))


def case_of(store, task_id):
    with store.read() as s:
        return s.scalar(
            select(Case).join(AuditEvent, AuditEvent.case_id == Case.id).where(AuditEvent.task_id == task_id)
        )


def test_rows_are_added_and_removed_with_plain_buttons_keeping_what_was_typed(store, browser, task):
    operador = browser("operador")
    page = html(operador.get(f"/tareas/{task}"))
    assert page.count('class="fila-grupo"') == 1 and 'value="agregar:gestiones"' in page
    # Enter in a field presses the form's first submit button: it must complete, not remove a row.
    first_button = re.search(r'<button type="submit" name="accion" value="([^"]+)"', page).group(1)
    assert first_button == "completar"

    added = operador.post(
        f"/tareas/{task}",
        {"gestiones.0.accion": "Visita al sitio", "gestiones.0.horas": "2", "accion": "agregar:gestiones"},
    )
    assert added.status_code == 200
    page = html(added)
    assert (
        page.count('class="fila-grupo"') == 2
        and 'value="Visita al sitio"' in page
        and "Revise el formulario" not in page
    )
    with store.read() as s:
        assert s.get(HumanTask, task) is not None  # a row button never completes the task

    removed = operador.post(
        f"/tareas/{task}",
        {"gestiones.0.accion": "Visita al sitio", "gestiones.1.accion": "Llamada", "accion": "quitar:gestiones:0"},
    )
    page = html(removed)
    assert page.count('class="fila-grupo"') == 1 and 'value="Llamada"' in page and "Visita al sitio" not in page


def test_errors_of_a_row_are_shown_beside_its_cell_and_valid_rows_are_stored_typed(store, browser, task):
    operador = browser("operador")
    invalid = operador.post(f"/tareas/{task}", {"gestiones.0.accion": "Visita", "gestiones.1.horas": "dos"})
    assert invalid.status_code == 422
    page = html(invalid)
    for cell, message in (
        ("gestiones-1-accion", "Este campo es obligatorio."),
        ("gestiones-1-horas", "Debe ser un número entero."),
    ):
        assert f'<p class="error" id="campo-{cell}-error"><span class="sr">Error:</span> {message}</p>' in page
        assert f'href="#campo-{cell}"' in page  # the summary links to the cell

    done = operador.post(
        f"/tareas/{task}",
        {
            "gestiones.0.accion": "Visita",
            "gestiones.0.fecha": "04/03/2026",
            "gestiones.0.horas": "2",
            "gestiones.1.accion": "Llamada",
        },
    )
    assert done.status_code == 302
    assert case_of(store, task).data["gestiones"] == [
        {"accion": "Visita", "fecha": "2026-03-04", "horas": 2},
        {"accion": "Llamada"},
    ]
    case_page = html(operador.get(f"/casos/{case_of(store, task).id}"))
    assert (
        "Fecha: 04/03/2026; Acción: Visita; Horas: 2\nAcción: Llamada</dd>" in case_page
    )  # a line per row, in form order


def test_a_draft_keeps_invalid_input_for_its_author_only_and_goes_away_with_the_task(store, app, browser, task):
    with store.unit_of_work() as s:
        create_user(s, "operador2", "Olga Operadora", "otra-clave-2026", ["operador"])
    operador = browser("operador")
    saved = operador.post(f"/tareas/{task}", {"gestiones.0.horas": "muchas", "accion": "borrador"})
    assert saved.status_code == 302 and saved.headers["Location"] == f"/tareas/{task}"
    page = html(operador.get(f"/tareas/{task}"))
    assert "Borrador guardado." in page and "Borrador guardado el 02/03/2026 09:00." in page
    assert 'value="muchas"' in page

    olga = browser()
    olga.login("operador2", "otra-clave-2026")
    assert "muchas" not in html(olga.get(f"/tareas/{task}"))  # a draft is its author's alone
    with store.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.kind == "borrador_guardado"))
        assert event.actor == "operador" and "muchas" not in str(event.detail)

    assert olga.post(f"/tareas/{task}", {"gestiones.0.accion": "Visita"}).status_code == 302
    with store.read() as s:
        assert s.scalars(select(TaskDraft)).all() == []  # the completed task took its drafts with it


def drafted(operador, task: str, data: bytes, name: str) -> str:
    """Save a draft of the task with one file; the id of the file, as the task page shows it again."""
    saved = operador.post(f"/tareas/{task}", {"accion": "borrador", "evidencias": (BytesIO(data), name)})
    assert saved.status_code == 302
    return re.search(r'name="evidencias" value="([0-9a-f]{32})"', html(operador.get(f"/tareas/{task}"))).group(1)


def test_a_file_kept_with_a_draft_joins_the_case_on_completion(store, browser, task):
    operador = browser("operador")
    saved = operador.post(f"/tareas/{task}", {"accion": "borrador", "evidencias": (BytesIO(PDF), "acta de visita.pdf")})
    assert saved.status_code == 302  # the rows are missing, but a draft keeps what it is given
    page = html(operador.get(f"/tareas/{task}"))
    [(attachment_id, label)] = re.findall(
        r'name="evidencias" value="([0-9a-f]{32})" checked>\s*<label[^>]*>([^<]+)<', page
    )
    assert label.startswith("acta de visita.pdf")
    with store.read() as s:
        stored = s.get(Attachment, attachment_id)
        assert (stored.case_id, stored.content_type, stored.uploaded_by) == (None, "application/pdf", "operador")

    done = operador.client.post(
        f"/tareas/{task}",
        data={
            "csrf_token": operador.token(f"/tareas/{task}"),
            "gestiones.0.accion": "Visita",
            "evidencias": attachment_id,
        },
    )
    assert done.status_code == 302
    case = case_of(store, task)
    assert case.data["evidencias"] == [attachment_id]
    with store.read() as s:
        assert s.get(Attachment, attachment_id).case_id == case.id

    case_page = html(operador.get(f"/casos/{case.id}"))
    assert "acta de visita.pdf" in case_page and f"/casos/adjuntos/{attachment_id}" in case_page
    download = operador.get(f"/casos/adjuntos/{attachment_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    assert browser("enlace_ambiental").get(f"/casos/adjuntos/{attachment_id}").status_code == 403
    assert browser("analista").get(f"/casos/adjuntos/{attachment_id}").status_code == 403


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("virus.exe", b"MZ\x90\x00", "no es un tipo de archivo aceptado"),
        ("falso.pdf", b"MZ\x90\x00 not a pdf", "su contenido no corresponde a su extensión"),
        ("vacio.png", b"", "está vacío"),
    ],
)
def test_files_of_other_types_are_refused_beside_the_field_and_not_stored(store, browser, task, name, data, message):
    response = browser("operador").post(
        f"/tareas/{task}", {"gestiones.0.accion": "Visita", "evidencias": (BytesIO(data), name)}
    )
    assert response.status_code == 422
    assert re.search(
        rf'id="campo-evidencias-error"><span class="sr">Error:</span> «[^»]+» [^<]*{message}', html(response)
    )
    with store.read() as s:
        assert s.scalars(select(Attachment)).all() == []
        assert s.get(HumanTask, task) is not None


def test_an_upload_not_yet_in_a_case_is_visible_to_its_uploader_only(store, browser, task):
    operador = browser("operador")
    attachment_id = drafted(operador, task, PNG, "foto.png")
    assert operador.get(f"/casos/adjuntos/{attachment_id}").status_code == 200
    assert browser("coordinador").get(f"/casos/adjuntos/{attachment_id}").status_code == 404


def test_a_file_whose_bytes_are_gone_is_a_404_not_an_empty_download(browser, task, monkeypatch):
    """The bytes may be purged between reading the attachment and reading its content."""
    operador = browser("operador")
    attachment_id = drafted(operador, task, PNG, "foto.png")
    monkeypatch.setattr(attachments, "content", lambda _session, _attachment: None)  # purged meanwhile
    response = operador.get(f"/casos/adjuntos/{attachment_id}")
    assert response.status_code == 404 and "El archivo ya no está disponible." in html(response)


def test_a_new_case_carries_its_attachments(store, browser):
    operador = browser("operador")
    response = operador.post("/casos/nuevo", {**CAPTURA, "adjuntos": (BytesIO(PNG), "foto de la acera.png")})
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with store.read() as s:
        [attachment] = s.scalars(select(Attachment)).all()
        assert attachment.case_id == case_id and s.get(Case, case_id).data["adjuntos"] == [attachment.id]
    page = html(operador.get(f"/casos/{case_id}"))
    assert "<dt>Adjuntos</dt>" in page and ">foto de la acera.png</dd>" in page  # the record names the file


def test_an_attachment_of_another_case_cannot_be_claimed_by_a_form(store, browser, task):
    operador = browser("operador")
    first = operador.post("/casos/nuevo", {**CAPTURA, "adjuntos": (BytesIO(PNG), "foto.png")})
    other_case = int(first.headers["Location"].rsplit("/", 1)[1])
    with store.read() as s:
        [attachment] = s.scalars(select(Attachment)).all()
    response = operador.post(f"/tareas/{task}", {"gestiones.0.accion": "Visita", "evidencias": attachment.id})
    assert response.status_code == 422
    assert "pertenece a otro caso" in html(response)
    with store.read() as s:
        assert s.get(Attachment, attachment.id).case_id == other_case
        assert s.get(HumanTask, task) is not None


def test_the_new_case_page_starts_the_procedure_it_is_asked_for(store, app, browser, task):
    operador = browser("operador")
    assert "Prueba" in html(operador.get("/casos/nuevo?procedimiento=prueba"))
    response = operador.post("/casos/nuevo?procedimiento=prueba", {}, page="/casos/nuevo?procedimiento=prueba")
    assert response.status_code == 302
    with store.read() as s:
        case = s.get(Case, int(response.headers["Location"].rsplit("/", 1)[1]))
        assert case.version.process_id == "prueba"
    assert operador.get("/casos/nuevo?procedimiento=no_existe").status_code == 404
