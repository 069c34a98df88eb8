"""A cédula is accepted the way people write it and kept in one canonical form (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import FormErrors
from engine.forms import cedula, schemas

FORMS = ("captura_correo_web", "captura_llamada", "captura_atencion_directa", "captura_defensa_usuario")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("8-123-4567", "8-123-4567"),
        ("8 123 4567", "8-123-4567"),
        ("8–123–4567", "8-123-4567"),  # en dashes, as a word processor writes them
        ("8—123—4567", "8-123-4567"),  # em dashes
        ("8.123.4567", "8-123-4567"),
        (" 8 - 123 - 4567 ", "8-123-4567"),
        ("08-0123-04567", "8-123-4567"),  # leading zeros of a printed card
        ("pe-12-345", "PE-12-345"),
        ("PE 12 345", "PE-12-345"),
        ("E-8-12345", "E-8-12345"),
        ("e 8 12345", "E-8-12345"),
        ("N-19-1234", "N-19-1234"),
        ("8AV-123-456", "8AV-123-456"),
        ("8 av 123 456", "8AV-123-456"),
        ("13PI-1-1", "13PI-1-1"),
    ],
)
def test_each_way_of_writing_a_cedula_becomes_its_canonical_form(written, canonical):
    assert cedula.normalized(written) == canonical
    assert cedula.valid(canonical)


@pytest.mark.parametrize("garbage", ["12345", "8-123", "X-1-2", "14-123-4567", "8-12345-1", "hola", "8-123-4567-9"])
def test_what_is_not_a_cedula_is_refused(garbage):
    assert not cedula.valid(cedula.normalized(garbage))


@pytest.mark.parametrize("form", FORMS)
def test_every_form_with_a_cedula_keeps_it_canonical_and_refuses_garbage_in_spanish(form):
    schema = schemas.load_directory(Path(__file__).resolve().parents[2] / "forms")[form]
    field = schema["properties"]["ciudadano_cedula"]
    assert schemas.clean({"type": "object", "properties": {"c": field}}, {"c": "8 – 123 – 4567"}) == {"c": "8-123-4567"}
    with pytest.raises(FormErrors) as refused:
        schemas.clean({"type": "object", "properties": {"c": field}}, {"c": "ocho"})
    assert refused.value.errors == {"c": cedula.ERROR}
    assert "8-123-4567" in cedula.ERROR  # the message shows how it is written
