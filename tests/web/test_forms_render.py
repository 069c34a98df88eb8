"""JSON Schema → HTML: widgets, order, required marks, labels for every input."""

from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from tests.web.conftest import html
from web.ui import forms_render


class Inputs(HTMLParser):
    """The visible form controls of a page's main content (not the header's search), in order, and
    the ids labels point at."""

    def __init__(self):
        super().__init__()
        self.controls, self.labelled, self.in_main = [], set(), False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main = True
        elif tag == "label" and "for" in attrs:
            self.labelled.add(attrs["for"])
        elif self.in_main and tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False


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
    assert [(t, a["type"]) for t, a in by_name["adjuntos"]] == [("input", "file")]
    assert "multiple" in by_name["adjuntos"][0][1] and ".pdf" in by_name["adjuntos"][0][1]["accept"]
    assert 'enctype="multipart/form-data"' in page
    # required: the attribute and the mark, but never on a checkbox (unticked means «no»)
    assert "required" in by_name["ciudadano_nombre"][0][1] and "required" not in by_name["ciudadano_cedula"][0][1]
    assert "required" not in by_name["respuesta_inmediata_enviada"][0][1]
    assert 'Nombre completo del ciudadano <span class="obligatorio" aria-hidden="true">*</span>' in page
    # order: x-orden
    names = list(dict.fromkeys(attrs["name"] for _tag, attrs in parsed.controls))
    assert names == [
        "canal",
        "tipo_caso",
        "ciudadano_nombre",
        "ciudadano_cedula",
        "ciudadano_telefono",
        "ciudadano_email",
        "lugar_notificaciones",
        "corregimiento",
        "domicilio",
        "asunto",
        "descripcion",
        "respuesta_inmediata_enviada",
        "adjuntos",
    ]


SCHEMA = {
    "type": "object",
    "required": ["cantidad", "color"],
    "properties": {
        "cantidad": {"type": "integer", "title": "Cantidad", "minimum": 1, "maximum": 9},
        "monto": {"type": "number", "title": "Monto"},
        "color": {"type": "string", "title": "Color", "enum": ["rojo", "verde", "azul", "negro", "blanco"]},
        "talla": {"type": "string", "title": "Talla", "enum": ["S", "M"], "default": "M"},
        "notas": {"type": "array", "title": "Notas", "items": {"type": "string"}},
        "datos": {"type": "object", "title": "Datos", "properties": {}},
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
    assert fields["notas"].widget == "grupo" and [c.name for row in fields["notas"].rows for c in row] == ["notas.0"]
    assert fields["datos"].widget == "note" and "todavía no se puede llenar" in fields["datos"].note
    assert form.other_errors == ("Revise.",) and form.has_errors


def test_a_posted_form_keeps_repeated_fields_as_lists_and_drops_the_token():
    posted = MultiDict([("csrf_token", "t"), ("a", "1"), ("b", "x"), ("b", "y")])
    assert forms_render.submitted(posted) == {"a": "1", "b": ["x", "y"]}


ROWS_SCHEMA = {
    "type": "object",
    "required": ["gestiones"],
    "properties": {
        "gestiones": {
            "type": "array",
            "title": "Gestiones",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["accion"],
                "properties": {
                    "fecha": {"type": "string", "format": "date", "title": "Fecha"},
                    "accion": {"type": "string", "title": "Acción"},
                    "urgente": {"type": "boolean", "title": "Urgente"},
                },
            },
        },
        "temas": {"type": "array", "title": "Temas", "items": {"type": "string", "enum": ["agua", "luz"]}},
    },
}


def test_repeating_rows_post_as_paths_and_come_back_as_rows_in_order():
    posted = MultiDict(
        [
            ("gestiones.1.accion", "Llamar"),
            ("gestiones.0.accion", "Visitar"),
            ("gestiones.0.fecha", "03/03/2026"),
            ("gestiones.2.accion", " "),
            ("temas", "luz"),
            ("accion", "completar"),
        ]
    )
    values = forms_render.submitted(posted, ROWS_SCHEMA)
    assert values == {
        "gestiones": [{"accion": "Visitar", "fecha": "03/03/2026"}, {"accion": "Llamar"}],
        "temas": ["luz"],
    }  # the blank third row is left out; one ticked box is still a list
    kept = forms_render.submitted(posted, ROWS_SCHEMA, keep_blank_rows=True)
    assert len(kept["gestiones"]) == 3
    assert len(forms_render.change_rows(values, "agregar:gestiones")["gestiones"]) == 3
    assert forms_render.change_rows(values, "quitar:gestiones:0")["gestiones"] == [{"accion": "Llamar"}]
    assert forms_render.change_rows(values, "quitar:gestiones:9")["gestiones"] == values["gestiones"]


def test_repeating_rows_render_one_group_per_row_with_errors_beside_their_cell(store):
    values = {"gestiones": [{"accion": "Visitar", "fecha": "2026-03-04"}, {"fecha": "x"}], "temas": ["agua"]}
    with store.read() as s:
        form = forms_render.build(s, ROWS_SCHEMA, values, {"gestiones.1.accion": "Este campo es obligatorio."})
    group, temas = form.fields
    assert group.widget == "grupo" and group.required and len(group.rows) == 2
    assert [c.name for c in group.rows[1]] == ["gestiones.1.fecha", "gestiones.1.accion", "gestiones.1.urgente"]
    assert group.rows[1][1].error == "Este campo es obligatorio." and group.rows[1][1].id == "campo-gestiones-1-accion"
    assert group.rows[0][1].value == "Visitar" and group.rows[1][0].widget == "date"
    assert group.rows[0][0].value == "04/03/2026" and group.rows[1][0].value == "x"  # stored ISO shown day-first
    assert group.rows[0][0].label == "Fecha (dd/mm/aaaa)"
    assert temas.widget == "checkboxes" and temas.values == ("agua",)
    assert form.has_errors and form.has_rows and not form.other_errors
    with store.read() as s:
        empty = forms_render.build(s, ROWS_SCHEMA)
    assert len(empty.fields[0].rows) == 1  # an empty group still offers one row to fill


@pytest.mark.parametrize("index", ["9" * 5000, "²"])
def test_a_row_index_no_integer_holds_is_an_ordinary_field(index):
    """``campo.N.sub`` and «quitar:campo:N» with an N int() cannot read (too many digits, a superscript)."""
    posted = MultiDict([(f"campo.{index}.x", "1"), ("otro", "2")])
    assert forms_render.submitted(posted) == {f"campo.{index}.x": "1", "otro": "2"}
    assert forms_render.change_rows({"campo": [{}]}, f"quitar:campo:{index}") == {"campo": [{}]}
