"""The acta's task page lists the sugerencias waiting for the meeting as checkboxes (ticket · asunto),
from the engine (``engine.cases.selectors``); ticking them closes them; a stale ticket is refused beside
its field."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from engine.cases import runs, selectors
from engine.db.models import Case, HumanTask
from engine.demo.procedures import DEFENSA, SUGERENCIA_311
from tests.web.conftest import html

ACTA = {"fecha_reunion": "04/03/2026", "participantes": "Jefa del departamento.", "acuerdo_reunion": "Se estudiará."}


def acta_and_waiting(app) -> tuple[str, list[tuple[str, str]]]:
    """Two sugerencias captured by Defensa del Usuario, a meeting convened now: its acta task and the
    sugerencias waiting for it (ticket, label)."""
    atiende = app.extensions["atiende"]
    for asunto in ("Más bancas en el parque", "Wifi en la sucursal"):
        atiende.start_case("defensa_usuario_311", {**SUGERENCIA_311, "asunto": asunto}, DEFENSA)
    [acta] = runs.start_now(atiende, "reunion_sugerencias", "StartEvent_reunion", "sistema")
    with atiende.store.read() as s:
        case_id = s.scalar(select(Case.id).where(Case.ticket == acta))
        task = s.scalar(select(HumanTask).where(HumanTask.case_id == case_id))
        waiting = [(c.value, c.label) for c in selectors.choices(s, "sugerencias_en_espera")]
    assert len(waiting) >= 2
    return task.id, waiting


def boxes(page: str, field: str) -> list[tuple[str, str]]:
    """(value, label) of each checkbox of ``field`` on the page."""
    found = re.findall(
        rf'<input type="checkbox" id="([^"]+)" name="{field}" value="([^"]+)"[^>]*>\s*<label for="\1">([^<]*)</label>',
        page,
    )
    return [(unescape(value), unescape(label)) for _id, value, label in found]


def status(app, ticket: str) -> str:
    with app.extensions["atiende"].store.read() as s:
        return s.scalar(select(Case.status).where(Case.ticket == ticket))


def test_the_acta_page_lists_the_waiting_sugerencias_to_tick(app, browser):
    task, waiting = acta_and_waiting(app)
    page = html(browser("defensa").get(f"/tareas/{task}"))
    assert boxes(page, "tomadas_en_cuenta") == waiting == boxes(page, "descartadas")
    assert all(" · " in label for _ticket, label in waiting)
    assert 'name="acuerdos.0.ticket"' not in page  # no ticket typed by hand


def test_ticking_a_sugerencia_closes_it_and_a_stale_one_is_refused_beside_its_field(app, browser):
    task, waiting = acta_and_waiting(app)
    defensa = browser("defensa")
    refused = defensa.post(f"/tareas/{task}", {**ACTA, "descartadas": "DU-2026-999999"})
    assert refused.status_code == 422
    page = html(refused)
    beside = re.search(
        r'<p class="error" id="campo-descartadas-error"><span class="sr">Error:</span> ([^<]+)</p>', page
    )
    assert beside and unescape(beside.group(1)).startswith("DU-2026-999999 no es una sugerencia que espere reunión")
    assert all(status(app, ticket) == "en seguimiento" for ticket, _label in waiting)
    ticket = waiting[0][0]
    done = defensa.post(f"/tareas/{task}", {**ACTA, "tomadas_en_cuenta": ticket})
    assert done.status_code == 302, html(done)
    assert status(app, ticket) == "cerrado"
    assert all(status(app, other) == "en seguimiento" for other, _label in waiting[1:])
