"""JSON Schema → HTML: widgets, order, required marks, labels for every input."""
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from tests.web.conftest import html
from web import forms_render


class Inputs(HTMLParser):
    """The visible form controls of a page, in order, and the ids labels point at."""

    def __init__(self):
        super().__init__()
        self.controls, self.labelled = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and "for" in attrs:
            self.labelled.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append((tag, attrs))


@pytest.fixture
def new_case_page(browser):
    page = html(browser("operador").get("/casos/nuevo"))
    parsed = Inputs()
    parsed.feed(page)
    return page, parsed


def test_every_control_of_the_start_form_has_a_label(new_case_page):
    _page, parsed = new_case_page
    assert parsed.controls
    assert all(attrs["id"] in parsed.labelled for _tag, attrs in parsed.controls)


def test_the_start_form_uses_the_widget_each_schema_property_asks_for(new_case_page):
    page, parsed = new_case_page
    by_name: dict[str, list] = {}
    for tag, attrs in parsed.controls:
        by_name.setdefault(attrs["name"], []).append((tag, attrs))
    assert [(t, a["type"]) for t, a in by_name["canal"]] == [("input", "radio")] * 2
    assert [(t, a["type"]) for t, a in by_name["tipo_caso"]] == [("input", "radio")] * 4
    assert by_name["ciudadano_email"][0][1]["type"] == "email"
    assert by_name["ciudadano_nombre"][0][1]["maxlength"] == "150"
    assert by_name["lugar_notificaciones"][0][0] == "textarea"
    assert by_name["corregimiento"][0][0] == "select"
    assert page.count('<option value="') == 1 + 26  # placeholder + the corregimientos catalogue
    assert by_name["respuesta_inmediata_enviada"][0][1]["type"] == "checkbox"
    assert "adjuntos" not in by_name and "Adjuntos: disponible próximamente." in page
    # required: the attribute and the mark, but never on a checkbox (unticked means «no»)
    assert "required" in by_name["ciudadano_nombre"][0][1] and "required" not in by_name["ciudadano_cedula"][0][1]
    assert "required" not in by_name["respuesta_inmediata_enviada"][0][1]
    assert 'Nombre completo del ciudadano <span class="obligatorio" aria-hidden="true">*</span>' in page
    # order: x-orden
    names = list(dict.fromkeys(attrs["name"] for _tag, attrs in parsed.controls))
    assert names == ["canal", "tipo_caso", "ciudadano_nombre", "ciudadano_cedula", "ciudadano_telefono",
                     "ciudadano_email", "lugar_notificaciones", "corregimiento", "domicilio", "asunto",
                     "descripcion", "respuesta_inmediata_enviada"]


SCHEMA = {
    "type": "object",
    "required": ["cantidad", "color"],
    "properties": {
        "cantidad": {"type": "integer", "title": "Cantidad", "minimum": 1, "maximum": 9},
        "monto": {"type": "number", "title": "Monto"},
        "color": {"type": "string", "title": "Color", "enum": ["rojo", "verde", "azul", "negro", "blanco"]},
        "talla": {"type": "string", "title": "Talla", "enum": ["S", "M"], "default": "M"},
        "notas": {"type": "array", "title": "Notas", "items": {"type": "string"}},
    },
}


def test_build_without_x_orden_keeps_property_order_and_maps_types(store):
    with store.read() as s:
        form = forms_render.build(s, SCHEMA, errors={"cantidad": "Debe ser al menos 1.", "_formulario": "Revise."})
    fields = {f.name: f for f in form.fields}
    assert [f.name for f in form.fields] == list(SCHEMA["properties"])
    assert (fields["cantidad"].widget, fields["cantidad"].attrs) == ("number", {"step": "1", "min": 1, "max": 9})
    assert fields["cantidad"].required and fields["cantidad"].error == "Debe ser al menos 1."
    assert fields["monto"].attrs == {"step": "any"} and not fields["monto"].required
    assert fields["color"].widget == "select" and len(fields["color"].options) == 5
    assert fields["talla"].widget == "radios" and fields["talla"].value == "M"  # the schema default
    assert fields["notas"].widget == "note" and "todavía no se puede llenar" in fields["notas"].note
    assert form.other_errors == ("Revise.",) and form.has_errors


def test_a_posted_form_keeps_repeated_fields_as_lists_and_drops_the_token():
    posted = MultiDict([("csrf_token", "t"), ("a", "1"), ("b", "x"), ("b", "y")])
    assert forms_render.submitted(posted) == {"a": "1", "b": ["x", "y"]}
