"""The ``x-desde`` vocabulary of forms/*.json (engine.forms.sources) and its resolution
(engine.forms.defaults.resolve): each source, their order, and what validation refuses."""

from __future__ import annotations

from datetime import date

import pytest

from engine.facade import FORMS_DIR as FORMS
from engine.forms import defaults, sources
from engine.forms.schemas import load_directory, required_fields, schema_problems, set_problems


def form(**properties) -> dict:
    return {"type": "object", "properties": properties}


CONTEXT = defaults.Context(
    data={
        "corregimiento": "bella_vista",
        "descripcion": "La acera está rota.",
        "canal": "pagina_web",
        "fecha_hechos": "2026-01-15",
        "prioridad": "alta",  # the record holds the newest answer, whatever form wrote it
    },
    answers={"hoja_de_tramite": {"prioridad": "normal", "resumen": "Resumen anterior"}},
    today=date(2026, 3, 2),
    user_name="Elena Enlace",
    codes={"corregimientos": {"bella_vista", "ancon"}},
    label=lambda catalog, code: {"bella_vista": "Bella Vista"}.get(code) if catalog == "corregimientos" else None,
    forms={"medios": form(medio={"type": "string", "oneOf": [{"const": "carta", "title": "Carta certificada"}]})},
)
PRIORITY = {"type": "string", "oneOf": [{"const": "normal"}, {"const": "alta"}], "default": "normal"}


def test_a_name_takes_the_value_of_the_case_record():
    schema = form(corregimiento={"type": "string", "x-catalogo": "corregimientos", "x-desde": "corregimiento"})
    assert defaults.resolve(schema, CONTEXT) == {"corregimiento": "bella_vista"}


def test_tarea_takes_the_newest_answer_of_that_form_same_field_or_the_one_named():
    schema = form(
        prioridad={**PRIORITY, "x-desde": "tarea:hoja_de_tramite"},
        previo={"type": "string", "x-desde": "tarea:hoja_de_tramite.resumen"},
    )
    assert defaults.resolve(schema, CONTEXT) == {"prioridad": "normal", "previo": "Resumen anterior"}


def test_system_sources_give_today_and_the_person_who_opens_the_form():
    schema = form(
        fecha={"type": "string", "format": "date", "x-desde": "sistema:hoy"},
        recibido_por={"type": "string", "maxLength": 5, "x-desde": "sistema:usuario"},
    )
    assert defaults.resolve(schema, CONTEXT) == {"fecha": "2026-03-02", "recibido_por": "Elena"}  # cut to maxLength


def test_a_template_composes_text_from_the_record_with_the_offices_filters():
    template = (
        "{% if descripcion %}\nHechos: {{ descripcion }}\n{% endif %}\n"
        "Fecha: {{ fecha_hechos|fecha }}\nLugar: {{ corregimiento|catalogo('corregimientos') }}\n"
        "Medio: {{ 'carta'|opcion('medios.medio') }}{{ nada }}"
    )
    schema = form(resumen={"type": "string", "x-desde": {"plantilla": template}})
    assert defaults.resolve(schema, CONTEXT)["resumen"] == (
        "Hechos: La acera está rota.\nFecha: 15/01/2026\nLugar: Bella Vista\nMedio: Carta certificada"
    )


def test_sources_are_tried_in_order_and_one_the_field_would_refuse_is_skipped():
    medio = {"type": "string", "oneOf": [{"const": "correo_electronico"}, {"const": "telefono"}]}
    schema = form(
        medio={
            **medio,
            "x-desde": ["canal", {"plantilla": "{% if canal == 'pagina_web' %}correo_electronico{% endif %}"}],
        },
        prioridad={**PRIORITY, "x-desde": ["no_esta", "prioridad"]},
        otro={**PRIORITY, "x-desde": ["no_esta", {"plantilla": "  "}]},  # nothing usable: the default
        lugar={"type": "string", "x-catalogo": "corregimientos", "x-desde": {"plantilla": "inexistente"}},
    )
    assert defaults.resolve(schema, CONTEXT) == {"medio": "correo_electronico", "prioridad": "alta", "otro": "normal"}


def test_a_template_that_fails_at_render_gives_no_default_instead_of_an_error():
    schema = form(
        texto={"type": "string", "x-desde": {"plantilla": "{{ descripcion|join(1) }}{{ lista[3]|upper }}"}},
        referido={"$ref": "#/$defs/nada", "x-desde": "descripcion"},  # a reference only the whole form resolves
    )
    failing = defaults.Context(data={"descripcion": 5, "lista": []})
    assert defaults.resolve(schema, failing) == {}


@pytest.mark.parametrize(
    ("declared", "said"),
    [
        ("sistema:manana", "«sistema:manana» no existe"),
        ("Corregimiento", "no es el nombre de un dato del caso"),
        ("tarea:", "debe ser «tarea:formulario»"),
        ([], "la lista está vacía"),
        (7, "no es un nombre"),
        ({"plantilla": "{{ descripcion.__class__ }}"}, "acceso a atributos"),
        ({"plantilla": "{{ lipsum() }}"}, "llamadas"),
        ({"plantilla": "{{ 'x' * 99999999 }}"}, "operaciones aritméticas"),
        ({"plantilla": "{% if %}"}, "error de sintaxis"),
        ({"plantilla": "{{ descripcion|attr('upper') }}"}, "el filtro «attr»"),
        ({"plantilla": "{% set x = 1 %}"}, "asignaciones"),
        (
            {"plantilla": "{% for a in descripcion %}{% for b in descripcion %}x{% endfor %}{% endfor %}"},
            "repeticiones",
        ),
    ],
)
def test_a_bad_x_desde_is_refused_in_spanish_when_the_form_is_validated(declared, said):
    [problem] = schema_problems("hoja", form(resumen={"type": "string", "x-desde": declared}))
    assert problem.startswith("formulario «hoja», campo «resumen»: «x-desde»") and said in problem


def test_a_source_naming_nothing_the_forms_write_is_refused_across_the_set():
    forms = {
        "plantilla": form(hechos={"type": "string"}),
        "hoja": form(
            a={"type": "string", "x-desde": "hechos"},  # written by another form of the set: fine
            b={"type": "string", "x-desde": "ticket"},  # written by the procedure itself: fine
            c={"type": "string", "x-desde": "hechoss"},
            d={"type": "string", "x-desde": "tarea:plantila"},
            e={"type": "string", "x-desde": "tarea:plantilla.pretension"},
            f={"type": "string", "x-desde": {"plantilla": "{{ hechos }} {{ ciudadano_nombre }} {{ otra_cosa }}"}},
            g={"type": "string", "x-desde": {"plantilla": "{{ hechos|opcion('plantilla.nada') }}"}},
        ),
    }
    said = [message for _form, message in set_problems(forms)]
    assert said == [
        "formulario «hoja», campo «c»: «x-desde»: «hechoss» no es un dato que escriba ningún formulario",
        "formulario «hoja», campo «d»: «x-desde»: el formulario «plantila» no existe",
        "formulario «hoja», campo «e»: «x-desde»: el formulario «plantilla» no tiene el campo «pretension»",
        "formulario «hoja», campo «f»: «x-desde»: la plantilla usa «otra_cosa», que no es un dato que escriba "
        "ningún formulario",
        "formulario «hoja», campo «g»: «x-desde»: el filtro «opcion» nombra «plantilla.nada», que no es un campo "
        "de un formulario",
    ]


def test_the_offices_forms_declare_only_sources_that_validate():
    forms = load_directory(FORMS)
    assert [p for name, schema in forms.items() for p in schema_problems(name, schema)] == []
    assert set_problems(forms) == []
    declaring = {name for name, schema in forms.items() if sources.declared(schema)}
    assert {"hoja_de_tramite", "acuse_recibo", "respuesta_final", "revision_ticket_llamada"} <= declaring


def test_the_record_names_any_procedure_may_read_are_written_by_every_capture():
    forms = load_directory(FORMS)
    captures = [set(schema["properties"]) for name, schema in forms.items() if name.startswith("captura_")]
    # canal: the start events of the channels without a «canal» field state it (engine.bpm.start_events)
    assert sources.RECORD - {"canal"} <= set.intersection(*captures)


def test_decision_buttons_need_options():
    [problem] = schema_problems("aprobacion", form(decision={"type": "string", "x-widget": "botones"}))
    assert "«botones» pide una lista de opciones" in problem


def test_a_field_an_if_then_rule_requires_given_the_other_values_counts_as_required():
    schema = {
        "type": "object",
        "required": ["tipo_caso"],
        "properties": {"tipo_caso": {"type": "string"}, "corregimiento": {"type": "string"}},
        "allOf": [
            {
                "if": {"properties": {"tipo_caso": {"const": "reporte"}}, "required": ["tipo_caso"]},
                "then": {"required": ["corregimiento"]},
            }
        ],
    }
    assert required_fields(schema, {"tipo_caso": "reporte"}) == {"tipo_caso", "corregimiento"}
    assert required_fields(schema, {"tipo_caso": "reporte", "corregimiento": "ancon"}) == {"tipo_caso", "corregimiento"}
    assert required_fields(schema, {"tipo_caso": "queja_reclamo"}) == {"tipo_caso"}
    assert required_fields(schema, {}) == {"tipo_caso"}
