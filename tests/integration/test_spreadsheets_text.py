"""Text a citizen or an enlace typed stays text in every spreadsheet the office writes: a value
that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is neither run nor altered."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from engine.db.models import OutboxMessage
from engine.paperwork import documents
from tests.fixtures import paperwork as pw

HOSTILE = '=HYPERLINK("http://evil.example","x")'


def test_the_consolidado_xlsx_keeps_formula_like_text_as_text(office):
    case_id = office.start(asunto=HOSTILE)
    office.remit(case_id, resumen=HOSTILE)
    office.atiende.start_case("consolidado", {"direccion": "planificacion_urbana"}, pw.OPERADOR)

    message = office.rows(OutboxMessage)[-1]
    xlsx = office.content(message.attachments[0].document_id)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    resumen = sheet.cell(row=4, column=4)
    assert (resumen.value, resumen.data_type) == (HOSTILE, "s")


def test_every_text_cell_of_the_consolidado_is_written_as_text(frozen_clock):
    starts = [HOSTILE, "+1+2", "-3+4", "@SUM(A1)", "\t=1+1", "\r=1+1"]
    filas = [
        documents.FilaConsolidado(
            ticket=text,
            fecha=frozen_clock.now(),
            tipo_caso=text,
            resumen=text,
            estado=text,
            dias_transcurridos=-2,
            dias_restantes=None,
            ultimo_seguimiento=text,
            fecha_ultimo_seguimiento=None,
        )
        for text in starts
    ]
    consolidado = documents.Consolidado(HOSTILE, frozen_clock.now(), "Consolidado semanal", filas)
    sheet = load_workbook(io.BytesIO(documents.consolidado_xlsx(consolidado))).active
    for row, text in enumerate(starts, start=4):
        for column in (1, 3, 4, 5, 8):
            cell = sheet.cell(row=row, column=column)
            assert (cell.value, cell.data_type) == (text, "s"), (row, column)
        assert sheet.cell(row=row, column=6).value == -2  # numbers stay numbers
    assert sheet.cell(row=1, column=1).data_type == "s"
