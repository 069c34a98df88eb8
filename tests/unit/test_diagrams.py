"""Diagrams are read safely, validated against the XSD and linted before a deploy."""

import pytest

from engine.bpm import parsing as bpmn
from engine.bpm.state.serializer import InstanceSerializer
from engine.errors import DiagramError
from engine.procedures import versions as procedures
from tests.fixtures.diagrams import NOTE_FORM, one_task

FORMS = {"nota": NOTE_FORM}


def check(xml, forms=FORMS):
    return procedures.check({"prueba.bpmn": xml}, forms, InstanceSerializer())


def messages(exc_info):
    return [p.message for p in exc_info.value.problems]


def test_a_clean_diagram_passes_every_check():
    [candidate] = check(one_task())
    assert candidate.process_id == "prueba"
    assert candidate.forms == {"nota": NOTE_FORM}
    assert len(candidate.content_hash) == 64


def test_the_same_content_hashes_the_same_and_a_change_does_not():
    assert check(one_task())[0].content_hash == check(one_task())[0].content_hash
    assert check(one_task())[0].content_hash != check(one_task(timer='"P5D"'))[0].content_hash


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
        '<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">\n',
        '<!doctype d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n',
    ],
)
def test_any_doctype_is_refused_with_a_clear_error(doctype):
    with pytest.raises(DiagramError) as exc:
        check(one_task(doctype=doctype, documentation="&xxe;" if "xxe" in doctype else "x"))
    assert "DOCTYPE" in messages(exc)[0]


def test_the_safe_parser_never_resolves_an_entity_even_if_asked(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'
    with pytest.raises(DiagramError):
        bpmn.parse_xml(xml, "r.xml")
    tree = bpmn.parse_xml("<r>no entity here</r>", "r.xml")
    assert tree.getroot().text == "no entity here"
    assert b"TOP-SECRET" not in bpmn.etree.tostring(bpmn.etree.fromstring(xml.encode(), parser=bpmn._SAFE_PARSER))


def test_xsd_violations_are_reported_with_the_file():
    broken = one_task().replace('<bpmn:endEvent id="end_a">', '<bpmn:endEvent id="end_a" bogus="1">')
    with pytest.raises(DiagramError) as exc:
        check(broken)
    problem = exc.value.problems[0]
    assert problem.file == "prueba.bpmn" and problem.element_id == "end_a" and "«bogus» no se admite" in problem.message


def test_malformed_xml_is_reported_with_its_line():
    with pytest.raises(DiagramError) as exc:
        check(one_task().replace("</bpmn:process>", ""))
    assert "XML mal formado" in messages(exc)[0]


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({"condition": "__import__('os').system('id') == 0"}, "condición no permitida"),
        ({"script": "import os"}, "script no permitida"),
        ({"script": "x = = 1"}, "error de sintaxis"),
        ({"timer": "P3D"}, "entre comillas"),
        ({"timer": '"tres días"'}, "no es una fecha, duración o ciclo"),
        ({"lane": "Jardinero"}, "carril"),
        ({"lane": None}, "carril"),
        ({"form": None}, "formulario"),
        ({"form": "inexistente"}, "«inexistente» no existe"),
    ],
)
def test_lint_names_the_element_and_the_problem_in_spanish(kwargs, expected):
    with pytest.raises(DiagramError) as exc:
        check(one_task(**kwargs))
    assert any(expected in m for m in messages(exc)), messages(exc)
    assert all(p.element_id for p in exc.value.problems if "formulario" not in p.file)


def test_a_form_may_not_declare_what_steers_the_procedure():
    bad = {"type": "object", "properties": {"estado_caso": {"type": "string"}, "prioridad": {"type": "string"}}}
    with pytest.raises(DiagramError) as exc:
        check(one_task(), {"nota": bad})
    assert any("reservado" in m for m in messages(exc))


def test_an_invalid_json_schema_is_refused():
    with pytest.raises(DiagramError) as exc:
        check(one_task(), {"nota": {"type": "object", "properties": {"x": {"type": "texto"}}}})
    assert any("esquema JSON inválido" in m for m in messages(exc))
