"""A document's snapshot: its facts as JSON, read back into the very facts the renderer takes."""

from __future__ import annotations

import io
import json
from datetime import timedelta, timezone

from openpyxl import load_workbook

from engine.paperwork import documents, rendering
from tests.unit.test_paperwork_units import NOW, consolidado, hoja


def through_json(taken: dict) -> dict:
    """The snapshot as the database gives it back."""
    return json.loads(json.dumps(taken))


def test_a_hoja_comes_back_from_its_snapshot_field_for_field():
    approved = hoja(
        fecha=NOW.astimezone(timezone(timedelta(hours=-5))),
        enlaces=[
            documents.Persona("Ernesto Ñáñez", "ernesto@ambiente.example"),
            documents.Persona("Coordinación de enlace"),
        ],
    )
    unapproved = hoja(aprobada_por=None, aprobada_el=None, fecha_limite=None, enlaces=[])
    for facts in (approved, unapproved):
        taken = through_json(rendering.snapshot(facts))
        assert rendering.facts("hoja_de_tramite", taken) == facts
    taken = rendering.snapshot(approved)
    assert taken["fecha"] == "2026-03-02T10:30:00-05:00" and taken["aprobada_el"] == "2026-03-02T15:30:00+00:00"
    assert taken["enlaces"][1] == {"nombre": "Coordinación de enlace", "correo": None}


def test_a_consolidado_comes_back_with_its_rows():
    facts = consolidado(3)
    facts.filas.append(
        documents.FilaConsolidado("AC-2026-000099", NOW, "Reporte", "Sin seguimiento", "Escalado", 1, None, "", None)
    )
    back = rendering.facts("consolidado_pdf", through_json(rendering.snapshot(facts)))
    assert back == facts and isinstance(back.filas[0], documents.FilaConsolidado)


def test_rendering_a_snapshot_gives_the_same_pdf_as_rendering_the_facts():
    facts = hoja()
    assert rendering.render(
        "hoja_de_tramite", through_json(rendering.snapshot(facts))
    ) == documents.hoja_de_tramite_pdf(facts)
    sheet = load_workbook(io.BytesIO(rendering.render("consolidado_xlsx", rendering.snapshot(consolidado(2))))).active
    assert [row[0] for row in sheet.iter_rows(min_row=4, values_only=True)] == ["AC-2026-000000", "AC-2026-000001"]
    assert rendering.content_type("consolidado_xlsx") == documents.XLSX
