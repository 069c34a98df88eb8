"""What validates runs: elements the engine cannot run, calls that reach their own process and loops
that never wait are refused at deploy, each pinned to its file and element, in Spanish; the library's
own (English) messages are said in Spanish with the original kept beside them."""

import pytest

from engine import cli
from engine.bpm import parsing as bpmn
from engine.bpm.state.serializer import InstanceSerializer
from engine.errors import DiagramError
from engine.procedures import publishing
from engine.procedures import versions as procedures
from tests.fixtures.diagrams import HEADER, NOTE_FORM, one_task

SCRIPT = (
    '<bpmn:scriptTask id="st" name="Marcar"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>\n'
    "      <bpmn:script>marcado = True</bpmn:script></bpmn:scriptTask>"
)
FLOWS = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"


def with_step(xml: str) -> str:
    """``one_task`` with its script task (id ``st``) replaced by ``xml``."""
    diagram = one_task().replace(SCRIPT, xml)
    assert diagram != one_task()
    return diagram


def check(files):
    return procedures.check(files, {"nota": NOTE_FORM}, InstanceSerializer())


def problems(files) -> list[bpmn.Problem]:
    with pytest.raises(DiagramError) as exc:
        check(files)
    return exc.value.problems


def pinned(found, element_id) -> bpmn.Problem:
    [problem] = [p for p in found if p.element_id == element_id]
    return problem


# -- elements the engine does not run -------------------------------------------------------
TRANSACTION = (
    f'<bpmn:transaction id="st" name="Marcar">{FLOWS}<bpmn:startEvent id="ts"><bpmn:outgoing>tf</bpmn:outgoing>'
    '</bpmn:startEvent><bpmn:endEvent id="te" name="Anular"><bpmn:incoming>tf</bpmn:incoming>{cancel}'
    '</bpmn:endEvent><bpmn:sequenceFlow id="tf" sourceRef="ts" targetRef="te"/></bpmn:transaction>'
)
DATA_STORE = (
    f'<bpmn:scriptTask id="st" name="Marcar">{FLOWS}<bpmn:dataOutputAssociation id="doa">'
    "<bpmn:targetRef>dsr</bpmn:targetRef></bpmn:dataOutputAssociation><bpmn:script>marcado = True</bpmn:script>"
    '</bpmn:scriptTask><bpmn:dataStoreReference id="dsr" name="Registro civil" dataStoreRef="ds"/>'
)


@pytest.mark.parametrize(
    "xml,element_id,element_name,expected",
    [
        (TRANSACTION.format(cancel=""), "st", "Marcar", "transacciones"),
        (TRANSACTION.format(cancel="<bpmn:cancelEventDefinition/>"), "te", "Anular", "cancelación"),
        (f'<bpmn:complexGateway id="st" name="Marcar">{FLOWS}</bpmn:complexGateway>', "st", "Marcar", "complej"),
        (DATA_STORE, "dsr", "Registro civil", "almacenes de datos"),
        (f'<bpmn:adHocSubProcess id="st" name="Marcar">{FLOWS}</bpmn:adHocSubProcess>', "st", "Marcar", "ad hoc"),
        (f'<bpmn:businessRuleTask id="st" name="Marcar">{FLOWS}</bpmn:businessRuleTask>', "st", "Marcar", "DMN"),
    ],
)
def test_an_element_the_engine_does_not_run_is_refused_by_name(xml, element_id, element_name, expected):
    problem = pinned(problems({"prueba.bpmn": with_step(xml)}), element_id)
    assert (problem.file, problem.element_name) == ("prueba.bpmn", element_name)
    assert expected in problem.message and "no admite" in problem.message


# -- the library's messages, in Spanish ----------------------------------------------------------
def test_a_service_task_without_operator_is_said_in_spanish_on_its_element():
    found = problems({"prueba.bpmn": with_step(f'<bpmn:serviceTask id="st" name="Marcar">{FLOWS}</bpmn:serviceTask>')})
    problem = pinned(found, "st")
    assert (problem.file, problem.element_name) == ("prueba.bpmn", "Marcar")
    assert problem.message.startswith("la tarea de servicio no indica qué operador llama")
    assert problem.original == "A Service Task must have an operator"


def test_an_xsd_error_is_said_in_spanish_on_the_element_that_holds_it():
    broken = one_task().replace('<bpmn:endEvent id="end_a">', '<bpmn:endEvent id="end_a" name="Fin" bogus="1">')
    [problem] = problems({"prueba.bpmn": broken})
    assert (problem.file, problem.element_id, problem.element_name) == ("prueba.bpmn", "end_a", "Fin")
    assert problem.message == "el atributo «bogus» no se admite en «endEvent»"
    assert "The attribute 'bogus' is not allowed" in problem.original


def test_an_xsd_error_on_a_child_names_the_element_it_is_in():
    misplaced = with_step(SCRIPT.replace("<bpmn:script>", "<bpmn:extensionElements/><bpmn:script>"))
    [problem] = problems({"prueba.bpmn": misplaced})
    assert (problem.element_id, problem.element_name) == ("st", "Marcar")
    assert problem.message.startswith("«extensionElements» no va en este lugar; se esperaba")
    assert "This element is not expected" in problem.original


def test_an_unknown_library_message_is_said_in_a_generic_spanish_sentence_with_the_original():
    # An event-based gateway followed by a task, not by events: the library fails with an AttributeError.
    found = problems(
        {"prueba.bpmn": with_step(f'<bpmn:eventBasedGateway id="st" name="Marcar">{FLOWS}</bpmn:eventBasedGateway>')}
    )
    problem = pinned(found, "st")
    assert problem.message.startswith("SpiffWorkflow no puede interpretar este elemento")
    assert "AttributeError" in problem.original and problem.original not in problem.message


def test_a_problem_keeps_the_original_message_in_its_details():
    problem = bpmn.Problem("a.bpmn", "mensaje", "x", "Equis", original="Original message")
    assert "Original message" in str(problem)


# -- calls that reach their own process -------------------------------------------------------------
def caller(process_id: str, called: str, name: str = "Tramitar") -> str:
    return (
        HEADER.format(doctype="")
        + f"""
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Operador"><bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="llamada_{process_id}" name="{name}" calledElement="{called}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="llamada_{process_id}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="llamada_{process_id}" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )


def test_a_call_activity_that_calls_its_own_process_is_refused():
    found = problems({"a.bpmn": caller("a", "a", "Otra vez")})
    problem = pinned(found, "llamada_a")
    assert (problem.file, problem.element_name) == ("a.bpmn", "Otra vez")
    assert "llama a su propio proceso" in problem.message and "a → a" in problem.message


def test_a_call_activity_that_reaches_its_process_through_others_is_refused():
    found = problems({"a.bpmn": caller("a", "b"), "b.bpmn": caller("b", "c"), "c.bpmn": caller("c", "a")})
    assert {p.element_id for p in found if "propio proceso" in p.message} == {"llamada_a", "llamada_b", "llamada_c"}
    assert "a → b → c → a" in pinned(found, "llamada_a").message


def test_a_call_activity_to_another_process_is_no_cycle():
    assert {c.process_id for c in check({"a.bpmn": caller("a", "prueba"), "prueba.bpmn": one_task()})} == {
        "a",
        "prueba",
    }


# -- loops that never wait ----------------------------------------------------------------------------
def loop_diagram(waiting_step: str = "") -> str:
    """start → «Contar» (script) → [waiting_step →] «¿Otra vuelta?» → end, or back to «Contar»."""
    back_to = "ut" if waiting_step else "gw"
    return (
        HEADER.format(doctype="")
        + f"""
  <bpmn:process id="prueba" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Operador"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>ut</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="contar" name="Contar"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>
    {waiting_step}
    <bpmn:exclusiveGateway id="gw" name="¿Otra vuelta?" default="f4">
      <bpmn:incoming>f{"5" if waiting_step else "2"}</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="contar"/>
    <bpmn:sequenceFlow id="f2" sourceRef="contar" targetRef="{back_to}"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression>n &gt; 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="contar"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )


USER_STEP = """<bpmn:userTask id="ut" name="Revisar">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formulario" value="nota"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f5" sourceRef="ut" targetRef="gw"/>"""


def test_a_loop_with_no_wait_state_is_refused_naming_its_elements():
    [problem] = problems({"prueba.bpmn": loop_diagram()})
    assert problem.file == "prueba.bpmn" and problem.element_id in {"contar", "gw"}
    assert "bucle" in problem.message and "«Contar» (contar)" in problem.message
    assert "«¿Otra vuelta?» (gw)" in problem.message


def test_a_loop_through_a_user_task_waits_and_passes():
    assert check({"prueba.bpmn": loop_diagram(USER_STEP)})


def test_a_standard_loop_on_a_step_that_never_waits_needs_a_maximum():
    looped = SCRIPT.replace(
        "<bpmn:script>",
        "<bpmn:standardLoopCharacteristics{maximum}><bpmn:loopCondition>True</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics><bpmn:script>",
    )
    problem = pinned(problems({"prueba.bpmn": with_step(looped.format(maximum=""))}), "st")
    assert "se repite sin esperar" in problem.message and problem.element_name == "Marcar"
    assert check({"prueba.bpmn": with_step(looped.format(maximum=' loopMaximum="5"'))})


# -- what the files are written in --------------------------------------------------------------------
def test_a_diagram_not_in_utf8_is_refused_naming_the_file(tmp_path):
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    processes.mkdir()
    forms.mkdir()
    xml = one_task(name="Revisión")
    (processes / "prueba.bpmn").write_bytes(xml.encode("latin-1"))
    with pytest.raises(DiagramError) as exc:
        publishing.read_directory(processes, forms)
    [problem] = exc.value.problems
    assert problem.file == "prueba.bpmn" and "UTF-8" in problem.message
    assert problem.line == next(n for n, line in enumerate(xml.splitlines(), 1) if "Revisión" in line)


def test_a_diagram_declaring_another_encoding_is_refused():
    xml = one_task(name="Revisión").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    [problem] = problems({"prueba.bpmn": xml})
    assert problem.file == "prueba.bpmn" and "«ISO-8859-1»" in problem.message and "UTF-8" in problem.message


def test_a_diagram_in_utf16_with_a_doctype_is_still_refused():
    doctype = '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]>\n'
    xml = one_task(doctype=doctype).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    with pytest.raises(DiagramError) as exc:
        bpmn.parse_xml(xml.encode("utf-16"), "prueba.bpmn")
    assert "DOCTYPE" in exc.value.problems[0].message or "UTF-8" in exc.value.problems[0].message


def test_atiende_validate_names_a_file_not_in_utf8_instead_of_a_traceback(tmp_path, capsys):
    (tmp_path / "prueba.bpmn").write_bytes(one_task(name="Revisión").encode("latin-1"))
    assert cli.main(["validate", "--processes", str(tmp_path), "--forms", str(tmp_path)]) == 1
    said = capsys.readouterr().err
    assert "Los diagramas no pasan la validación" in said and "prueba.bpmn" in said and "no está en UTF-8" in said


@pytest.mark.parametrize(
    "broken,expected",
    [
        (lambda xml: xml.replace("</bpmn:process>", ""), "«process» (línea 6) se cierra con «definitions»"),
        (lambda xml: xml.replace("Revise el caso.", "Revise & firme"), "un «&» suelto"),
        (lambda xml: xml.replace("<bpmn:process ", "<bpmnx:process ", 1), "el prefijo «bpmnx»"),
    ],
)
def test_xml_that_does_not_read_is_said_in_spanish_with_the_original(broken, expected):
    [problem] = problems({"prueba.bpmn": broken(one_task())})
    assert problem.message.startswith("XML mal formado: ") and expected in problem.message, problem.message
    assert problem.original and problem.line


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("nota.json", '{"type": "object", "title": "Nota de revisión"}'.encode("latin-1"), "no está en UTF-8"),
        ("nota.json", b'{"type": "object",', "JSON inválido"),
        ("prueba.scenarios.json", '{"proceso": "prueba", "escenarios": "ñ"}'.encode("latin-1"), "no está en UTF-8"),
    ],
)
def test_atiende_validate_names_a_form_or_scenario_file_it_cannot_read(tmp_path, capsys, name, content, expected):
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    processes.mkdir()
    forms.mkdir()
    (processes / "prueba.bpmn").write_text(one_task(), encoding="utf-8")
    (processes if name.endswith(".scenarios.json") else forms).joinpath(name).write_bytes(content)
    assert cli.main(["validate", "--processes", str(processes), "--forms", str(forms)]) == 1
    said = capsys.readouterr().err
    assert f"  - {name}" in said and expected in said, said


@pytest.mark.parametrize(
    "script",
    [
        f'<bpmn:scriptTask id="st" name="Marcar">{FLOWS}<bpmn:script></bpmn:script></bpmn:scriptTask>',
        f'<bpmn:scriptTask id="st" name="Marcar">{FLOWS}<bpmn:script>   </bpmn:script></bpmn:scriptTask>',
        f'<bpmn:scriptTask id="st" name="Marcar">{FLOWS}</bpmn:scriptTask>',
    ],
    ids=["empty", "blank", "none"],
)
def test_a_script_task_without_a_script_is_refused_naming_it(script):
    """A script task with nothing to run fails every case that reaches it: refused at validation instead."""
    found = pinned(problems({"uno.bpmn": with_step(script)}), "st")
    assert found.element_name == "Marcar" and "no tiene script" in found.message
