"""The consolidado as PDF: a long list of cases over many pages, read back as a person or a search reads it."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from pypdf import PdfReader

from engine.paperwork import documents
from tests.unit.test_paperwork_units import consolidado

HEADER = "Ticket Fecha Tipo de caso Resumen Estado Días transcurridos Días restantes Último seguimiento"


def page_texts(content: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def test_a_long_consolidado_lists_every_case_in_order_under_its_header_on_numbered_pages():
    texts = page_texts(documents.consolidado_pdf(consolidado(200)))
    count = len(texts)
    assert count >= 8
    assert all(t.count(HEADER) == 1 for t in texts), "the header row on every page"
    assert [re.findall(r"Página (\d+) de (\d+)", t) for t in texts] == [
        [(str(n), str(count))] for n in range(1, count + 1)
    ]
    tickets = re.findall(r"AC-2026-\d{6}", " ".join(texts))
    assert tickets == [f"AC-2026-{i:06d}" for i in range(200)]  # each once, oldest first
    assert (
        "Dirección de Planificación Urbana · Consolidado semanal · generado el 02/03/2026 10:30 · 200 casos" in texts[0]
    )
    assert sum(t.count("CONSOLIDADO DE SEGUIMIENTO DE CASOS") for t in texts) == 1
    assert texts[0].count("Basura sin recoger; ¿cuándo?") >= 1 and "02/03/2026: Inspección programada." in texts[0]


def test_a_case_taller_than_a_page_runs_on_to_the_next_and_loses_no_word():
    long = " ".join(f"palabra{n:04d}" for n in range(2500))
    unbroken = "x" * 400  # no space to break at: broken between characters, never cut off
    built = consolidado(3)
    filas = [built.filas[0], replace(built.filas[1], resumen=f"{long} {unbroken}"), built.filas[2]]
    texts = page_texts(documents.consolidado_pdf(replace(built, filas=filas)))
    whole = " ".join(texts)
    assert len(texts) >= 3 and all(HEADER in t for t in texts)
    assert re.findall(r"palabra\d{4}", whole) == [f"palabra{n:04d}" for n in range(2500)]
    assert sum(map(len, re.findall("x{2,}", "".join(whole.split())))) == 400  # every letter, maybe over two pages
    assert re.findall(r"AC-2026-\d{6}", whole) == ["AC-2026-000000", "AC-2026-000001", "AC-2026-000002"]


def test_text_is_printed_as_given_in_spanish_and_a_character_the_font_lacks_does_not_stop_it():
    built = consolidado(2)
    odd = "¿Reparación? ¡Ñandú! Güera 😀 漢字 \x00 <b>=1+1</b> primera\nsegunda"
    text = " ".join(page_texts(documents.consolidado_pdf(replace(built, filas=[replace(built.filas[0], resumen=odd)]))))
    assert "¿Reparación? ¡Ñandú! Güera" in text and "<b>=1+1</b> primera segunda" in text and "1 caso" in text


def test_an_empty_consolidado_says_so_on_one_page():
    [text] = page_texts(documents.consolidado_pdf(consolidado(0)))
    assert "0 casos" in text and "La dirección no tiene casos abiertos en seguimiento." in text
    assert "Página 1 de 1" in text and "Ticket" not in text


def test_the_consolidado_embeds_only_dejavu_and_is_landscape_letter():
    reader = PdfReader(io.BytesIO(documents.consolidado_pdf(consolidado(20))))
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (792, 612)
        fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
        assert fonts and all(re.fullmatch(r"/[A-Z]{6}\+DejaVu.*", f) for f in fonts), fonts  # subsets


def test_the_days_of_a_term_already_past_are_the_only_bold_cells_of_a_row():
    built = consolidado(40)
    bold: list[str] = []
    for page in PdfReader(io.BytesIO(documents.consolidado_pdf(built))).pages:
        page.extract_text(
            visitor_text=lambda text, cm, tm, font, size: (
                text.strip() and font is not None and "Bold" in str(font["/BaseFont"]) and bold.append(text.strip())
            )
        )
    overdue = [str(f.dias_restantes) for f in built.filas if f.dias_restantes is not None and f.dias_restantes < 0]
    assert overdue and set(overdue) <= set(bold)
    assert not {f.ticket for f in built.filas} & set(bold)
