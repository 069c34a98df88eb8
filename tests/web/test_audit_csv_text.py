"""The audit CSV keeps formula-like text as text (OWASP's CSV injection): a spreadsheet that opens it
shows what was recorded and runs nothing."""

from __future__ import annotations

import csv
import io
import json

from engine.audit import log as audit_log
from engine.audit import trail as audit

HOSTILE = '=HYPERLINK("http://evil.example","x")'


def test_a_cell_that_starts_like_a_formula_is_exported_quoted(browser, app, store, frozen_clock):
    with store.unit_of_work() as s:  # as an old event could hold it
        audit.record(s, frozen_clock.now(), HOSTILE, "correo_recibido", detail={"asunto": HOSTILE})
    export = browser("auditor").get("/auditoria/registro.csv?tipo=correo_recibido")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    [row] = rows[1:]
    assert row[2] == "'" + HOSTILE and row[3] == "correo_recibido"
    assert json.loads(row[7]) == {"asunto": HOSTILE}


def test_only_formula_starts_are_quoted():
    starts = ["=1+1", "+1", "-1", "@SUM(A1)", "\t1", "\r1"]
    assert [audit_log.csv_text(v) for v in starts] == ["'" + v for v in starts]
    assert [audit_log.csv_text(v) for v in ("operador", "", "María = Ana", 7, -3)] == [
        "operador",
        "",
        "María = Ana",
        7,
        -3,
    ]
