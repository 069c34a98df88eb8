"""engine.forms.schemas.clean with repeating rows: cells typed, blank rows dropped, errors by path."""

import pytest

from engine.clock import DATE_ERROR
from engine.errors import FormErrors
from engine.forms.schemas import clean

SCHEMA = {
    "type": "object",
    "required": ["filas"],
    "properties": {
        "filas": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["texto"],
                "additionalProperties": False,
                "properties": {
                    "cantidad": {"type": "integer"},
                    "texto": {"type": "string"},
                    "fecha": {"type": "string", "format": "date"},
                    "hecho": {"type": "boolean"},
                },
            },
        },
        "etiquetas": {"type": "array", "items": {"type": "string"}},
    },
}


def test_cells_are_typed_and_unticked_boxes_of_filled_rows_are_false():
    data = clean(
        SCHEMA,
        {
            "filas": [
                {"cantidad": " 3 ", "texto": "uno", "fecha": "05/03/2026"},
                {"cantidad": "", "texto": ""},
                {"texto": "dos", "hecho": "on"},
            ],
            "etiquetas": "sola",
        },
    )
    assert data == {
        "filas": [
            {"cantidad": 3, "texto": "uno", "fecha": "2026-03-05", "hecho": False},
            {"texto": "dos", "hecho": True},
        ],
        "etiquetas": ["sola"],
    }


def test_only_blank_rows_count_as_an_empty_field():
    with pytest.raises(FormErrors) as raised:
        clean(SCHEMA, {"filas": [{"texto": " ", "cantidad": ""}]})
    assert raised.value.errors == {"filas": "Este campo es obligatorio."}


def test_errors_of_a_cell_name_its_row_and_field():
    with pytest.raises(FormErrors) as raised:
        clean(SCHEMA, {"filas": [{"texto": "bien"}, {"cantidad": "tres"}]})
    assert raised.value.errors == {
        "filas.1.texto": "Este campo es obligatorio.",
        "filas.1.cantidad": "Debe ser un número entero.",
    }


@pytest.mark.parametrize("typed", ["31/12/9999", "01/01/0001", "9999-12-31", "0001-01-01", "31/12/1899"])
def test_a_date_outside_the_years_a_case_can_name_is_refused(typed):
    """A deadline or a filter computed from a date near datetime's ends would overflow: refused beside the field."""
    with pytest.raises(FormErrors) as refused:
        clean(SCHEMA, {"filas": [{"texto": "uno", "fecha": typed}]})
    assert refused.value.errors == {"filas.0.fecha": DATE_ERROR}


def test_the_dates_of_the_office_are_kept():
    data = clean(SCHEMA, {"filas": [{"texto": "uno", "fecha": "01/01/1900"}, {"texto": "dos", "fecha": "2999-12-31"}]})
    assert [row["fecha"] for row in data["filas"]] == ["1900-01-01", "2999-12-31"]
