"""Files join the office only with a form that is accepted: a refused form, a row button or a
flood of files leaves nothing stored; a draft keeps its files because the draft is kept."""

from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import func, select

from engine.cases import attachments
from engine.db.models import Attachment, StoredFile
from tests.web.conftest import CAPTURA, html
from tests.web.test_task_forms import PDF, PNG, task  # noqa: F401 - the fixture

__all__ = ["task"]


def stored(store) -> tuple[int, int]:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(Attachment)), s.scalar(
            select(func.count()).select_from(StoredFile)
        )


def files(n: int) -> list[tuple[BytesIO, str]]:
    return [(BytesIO(PNG + bytes([i % 256, i // 256])), f"foto{i}.png") for i in range(n)]


def test_a_refused_new_case_stores_none_of_its_files_and_asks_for_them_again(store, browser):
    operador = browser("operador")
    response = operador.post("/casos/nuevo", {**CAPTURA, "asunto": "", "adjuntos": files(3)})
    assert response.status_code == 422
    assert stored(store) == (0, 0)
    assert re.search(r'id="campo-adjuntos-error">.*Vuelva a elegir', html(response), re.S)


def test_a_refused_task_form_stores_none_of_its_files(store, browser, task):  # noqa: F811
    response = browser("operador").post(f"/tareas/{task}", {"evidencias": (BytesIO(PDF), "acta.pdf")})
    assert response.status_code == 422  # the rows were missing
    assert stored(store) == (0, 0)
    assert "Vuelva a elegir" in html(response)


def test_a_draft_keeps_its_files_for_its_author(store, browser, task):  # noqa: F811
    operador = browser("operador")
    saved = operador.post(f"/tareas/{task}", {"accion": "borrador", "evidencias": (BytesIO(PDF), "acta.pdf")})
    assert saved.status_code == 302
    page = html(operador.get(f"/tareas/{task}"))
    [attachment_id] = re.findall(r'name="evidencias" value="([0-9a-f]{32})" checked', page)
    assert stored(store) == (1, 1)
    assert operador.get(f"/casos/adjuntos/{attachment_id}").status_code == 200
    assert browser("coordinador").get(f"/casos/adjuntos/{attachment_id}").status_code == 404


def test_too_many_files_in_one_request_are_refused_before_any_is_stored(store, browser):
    response = browser("operador").post("/casos/nuevo", {**CAPTURA, "adjuntos": files(attachments.MAX_FILES + 1)})
    assert response.status_code == 422
    assert f"Puede adjuntar hasta {attachments.MAX_FILES} archivos" in html(response)
    assert stored(store) == (0, 0)


def test_an_accepted_new_case_stores_its_files_with_it(store, browser):
    response = browser("operador").post("/casos/nuevo", {**CAPTURA, "adjuntos": files(2)})
    assert response.status_code == 302
    with store.read() as s:
        assert len({a.case_id for a in s.scalars(select(Attachment))} - {None}) == 1
    assert stored(store) == (2, 2)
