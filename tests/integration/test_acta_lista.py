"""The acta of the sugerencias meeting lists the sugerencias waiting for it: nobody types a ticket. The
ones ticked are what the acta closes; a ticket no longer waiting is refused beside its field."""

import json

import pytest

from engine.bpm.state.serializer import InstanceSerializer
from engine.cases import selectors
from engine.demo.procedures import SUGERENCIA_311
from engine.errors import DiagramError, FormErrors
from engine.facade import FORMS_DIR, PROCESSES_DIR
from engine.procedures import versions as procedures
from tests.integration.test_procedure_defensa_usuario import MEETING_DAY, meeting, start

SOURCE = "sugerencias_en_espera"


def listed(store) -> list[tuple[str, str]]:
    with store.read() as s:
        return [(c.value, c.label) for c in selectors.choices(s, SOURCE)]


def acta_task(desk, store):
    acta = meeting(store)
    [task] = desk.tasks(acta.id)
    return acta, task


def test_the_acta_lists_exactly_the_sugerencias_waiting_for_the_meeting(desk, store, atiende):
    first = start(desk, SUGERENCIA_311)
    second = start(desk, SUGERENCIA_311, asunto="Más bancas")
    start(desk)  # a denuncia: never on the list
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta, task = acta_task(desk, store)
    tickets = [desk.case(first).ticket, desk.case(second).ticket]
    assert listed(store) == [
        (tickets[0], f"{tickets[0]} · Horario extendido los sábados"),
        (tickets[1], f"{tickets[1]} · Más bancas"),
    ]
    with store.read() as s:  # the form itself declares the source its checkboxes come from
        schema = atiende.procedure(s, acta.procedure_version_id).forms[task.form]
    assert selectors.fields_of(schema) == {"tomadas_en_cuenta": SOURCE, "descartadas": SOURCE}
    assert acta.data["agenda"] == [label for _ticket, label in listed(store)]  # the agenda says the same


def test_the_ticked_sugerencias_are_closed_and_the_others_wait_for_the_next_meeting(desk, store):
    taken, dropped, left = (start(desk, SUGERENCIA_311, asunto=a) for a in ("Más bancas", "Wifi", "Fuentes"))
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta, task = acta_task(desk, store)
    desk.do(
        acta.id,
        task.bpmn_id,
        tomadas_en_cuenta=[desk.case(taken).ticket],
        descartadas=[desk.case(dropped).ticket],
        acuerdo_reunion="Se abrirá un piloto en el parque.",
    )
    assert desk.case(acta.id).status == "cerrado"
    for case_id, decision in ((taken, "tomada_en_cuenta"), (dropped, "descartada")):
        case = desk.case(case_id)
        assert case.status == "cerrado" and case.data["decision_reunion"] == decision
        assert case.data["acuerdo_reunion"] == "Se abrirá un piloto en el parque."
        assert case.data["enviado_por"] == acta.ticket
    assert desk.case(left).status == "en seguimiento"
    assert [ticket for ticket, _label in listed(store)] == [desk.case(left).ticket]


def test_an_acta_may_tick_none_and_closes_nothing(desk, store):
    waiting = start(desk, SUGERENCIA_311)
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta, task = acta_task(desk, store)
    desk.do(acta.id, task.bpmn_id)
    assert desk.case(acta.id).status == "cerrado" and desk.case(waiting).status == "en seguimiento"


@pytest.mark.parametrize("which", ["denuncia", "inexistente"])
def test_a_ticket_not_waiting_is_refused_beside_its_field_and_nothing_is_written(desk, store, which):
    waiting, denuncia = start(desk, SUGERENCIA_311), start(desk)
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta, task = acta_task(desk, store)
    bad = desk.case(denuncia).ticket if which == "denuncia" else "DU-2026-999999"
    before = desk.state(waiting)
    with pytest.raises(FormErrors) as refused:
        desk.do(acta.id, task.bpmn_id, tomadas_en_cuenta=[desk.case(waiting).ticket], descartadas=[bad])
    assert set(refused.value.errors) == {"descartadas"}
    assert bad in refused.value.errors["descartadas"] and "espere reunión" in refused.value.errors["descartadas"]
    assert desk.state(waiting) == before and desk.case(waiting).status == "en seguimiento"
    assert desk.ready(acta.id) == [task.bpmn_id]


def test_one_sugerencia_cannot_be_taken_into_account_and_discarded(desk, store):
    waiting = start(desk, SUGERENCIA_311)
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta, task = acta_task(desk, store)
    ticket = desk.case(waiting).ticket
    with pytest.raises(FormErrors) as refused:
        desk.do(acta.id, task.bpmn_id, tomadas_en_cuenta=[ticket], descartadas=[ticket])
    assert refused.value.errors == {
        "descartadas": f"{ticket} ya está marcada en «Se toman en cuenta»: elija una sola vez cada una."
    }


def test_a_form_naming_a_source_the_engine_does_not_have_is_refused_at_deploy():
    files, forms = procedures.read_directory(PROCESSES_DIR, FORMS_DIR)
    acta = json.loads(json.dumps(forms["acta_reunion"]))
    acta["properties"]["descartadas"]["items"]["x-opciones"] = "sugerencias_olvidadas"
    with pytest.raises(DiagramError) as refused:
        procedures.check(files, {**forms, "acta_reunion": acta}, InstanceSerializer())
    assert any(
        "«sugerencias_olvidadas», que no existe" in p.message and p.element_id == "Task_celebrar_reunion"
        for p in refused.value.problems
    )
