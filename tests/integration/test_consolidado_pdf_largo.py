"""A consolidado long enough for many pages, made by the procedure's step as the office gets it."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import insert

from engine.db.models import Case, OutboxMessage
from tests.fixtures import paperwork as pw

OTHERS = 60


def test_the_consolidado_pdf_of_many_cases_lists_each_ticket_in_order_on_numbered_pages(office, store):
    remitted = office.start()
    office.remit(remitted, resumen="Luminaria apagada frente al parque; ¿reparación?")
    [real] = office.rows(Case, id=remitted)
    opened = real.opened_at
    with store.unit_of_work() as s:  # older open cases of the same dirección, as rows
        s.execute(
            insert(Case),
            [
                {
                    "ticket": f"AC-2025-{n:06d}",
                    "procedure_version_id": real.procedure_version_id,
                    "case_type": real.case_type,
                    "subject": f"Caso anterior {n}",
                    "direccion": "planificacion_urbana",
                    "status": "escalado a la unidad" if n % 7 == 0 else "en seguimiento",
                    "opened_at": opened - timedelta(days=40, hours=OTHERS - n),
                    "due_at": opened - timedelta(days=10),
                    "created_by": "operador",
                    "revision": 1,
                    "data": {"resumen": f"Acera rota número {n}; vecinos piden reparación urgente de la vía."},
                }
                for n in range(OTHERS)
            ],
        )

    office.atiende.start_case("consolidado", {"direccion": "planificacion_urbana"}, pw.OPERADOR)

    message = office.rows(OutboxMessage)[-1]
    pdf = office.content(message.attachments[1].document_id)
    texts = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]
    count = len(texts)
    assert count >= 4
    assert all("Ticket Fecha Tipo de caso Resumen Estado" in t for t in texts)
    assert [f"Página {n} de {count}" in t for n, t in enumerate(texts, start=1)] == [True] * count
    assert f"{OTHERS + 1} casos" in texts[0]
    tickets = re.findall(r"AC-\d{4}-\d{6}", " ".join(texts))
    assert tickets == [*(f"AC-2025-{n:06d}" for n in range(OTHERS)), real.ticket]  # oldest first
    assert "Escalado a la unidad" in texts[0] and "¿reparación?" in texts[-1]
