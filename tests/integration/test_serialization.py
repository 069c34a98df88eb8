"""Our instance serializer writes and reads exactly SpiffWorkflow 3.2's task format.

engine/bpm/state/serializer.py writes and restores tasks itself, without the library's converters
(parsing and printing each task id once; no dispatch through the registry; no
``Task.__init__``). Here ours and the library's own serializer are run on cases stopped at
several steps — the call activity's subprocess, a multi-instance loop, armed timers — and
must write the same JSON and restore the same tasks from it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine import bpm
from engine.bpm import loops
from engine.bpm.runtime import path_of
from engine.bpm.state.codec import PLAIN, settled
from engine.bpm.state.serializer import FORMAT, FORMAT_KEY, LAST_ID_KEY, InstanceSerializer
from engine.errors import StoredStateError, UnsupportedLibrary
from tests.fixtures.desk import BY_ROLE

# The library's serializer, knowing the spec classes Atiende parses with (bounded multi-instance tasks).
LIBRARY = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, **loops.CONVERTERS}))


def library_dump(workflow: BpmnWorkflow) -> dict:
    """The library's own JSON of a workflow, less the specs (ours stores them once per version) and its label."""
    dct = json.loads(LIBRARY.serialize_json(workflow))
    del dct["spec"], dct["subprocess_specs"], dct[LIBRARY.VERSION_KEY]
    return dct


def unlabelled(stored: bytes | str) -> dict:
    """A state we wrote, less Atiende's own keys: the format label (which it must carry) and the last
    task id the workflow issued (engine.bpm.task_ids)."""
    dct = json.loads(PLAIN.unpack(stored))
    assert dct.pop(FORMAT_KEY) == FORMAT
    dct.pop(LAST_ID_KEY, None)
    return dct


def library_load(stored: bytes, spec, subprocess_specs) -> BpmnWorkflow:
    """The library's own restore of a stored instance, given the specs in the library's format."""
    dct = unlabelled(stored)
    dct["spec"] = LIBRARY.to_dict(spec)
    dct["subprocess_specs"] = {name: LIBRARY.to_dict(s) for name, s in subprocess_specs.items()}
    return LIBRARY.from_dict(dct)


def tasks_of(workflow: BpmnWorkflow) -> dict:
    """Everything a task is restored with, for every task of the workflow and its subprocesses."""
    found = {}
    for owner in (workflow, *workflow.subprocesses.values()):
        for task in owner.tasks.values():
            found[task.id] = (
                task.task_spec.name,
                task.state,
                task._parent,
                tuple(task._children),
                task.data,
                task.internal_data,
                task.triggered,
                task.last_state_change,
                owner.task_tree.id,
            )
    return found


def shared_containers(workflow: BpmnWorkflow) -> list[str]:
    """Data values a restored task shares with its parent: changing one in place would change both."""
    shared = []
    for owner in (workflow, *workflow.subprocesses.values()):
        for task in owner.tasks.values():
            parent = task.parent
            for key, value in task.data.items() if parent is not None else ():
                if isinstance(value, (dict, list, set)) and value is parent.data.get(key):
                    shared.append(f"{task.task_spec.name}.{key}")
    return shared


def check_both_ways(desk, case_id: int, in_memory: bool = True) -> int:
    """Both converters agree on the stored workflow of the case; returns how many subprocesses it has.

    ``in_memory``: the workflow its last step ran is still kept by the runtime (a timer sweep keeps none).
    """
    ours = InstanceSerializer()
    case = desk.case(case_id)
    with desk.atiende.store.read() as s:
        procedure = desk.atiende.procedure(s, case.procedure_version_id)
    specs = (procedure.spec, procedure.subprocess_specs)

    stored = desk.state(case_id)
    restored = ours.loads(stored, *specs)
    by_library = library_load(stored, *specs)
    assert tasks_of(restored) == tasks_of(by_library)
    if in_memory:  # the workflow as it ran, kept since its step: it never went through either serializer
        revision, live = desk.atiende.runtime._live[case_id]
        assert revision == case.revision
        assert unlabelled(ours.dumps(live)) == library_dump(live) == unlabelled(stored)
        assert tasks_of(live) == tasks_of(restored)
    else:
        theirs = library_dump(by_library)
        if by_library.completed:  # a finished workflow is kept settled, whoever dumps it
            settled(theirs)
        assert unlabelled(ours.dumps(restored)) == theirs
    assert shared_containers(restored) == shared_containers(by_library) == []
    return len(restored.subprocesses)


def test_the_e_mail_procedure_round_trips_at_every_step(desk):
    case_id = desk.start()
    subprocesses = [check_both_ways(desk, case_id)]
    while desk.ready(case_id):
        desk.do(case_id, desk.ready(case_id)[0])
        # The closing step finishes the workflow, which the runtime no longer keeps.
        subprocesses.append(check_both_ways(desk, case_id, in_memory=bool(desk.ready(case_id))))
    assert desk.case(case_id).status == "cerrado"
    assert max(subprocesses) > 0  # the common procedure's call activity was checked while it ran


def test_a_finished_workflow_is_kept_settled_with_the_path_it_took(desk):
    """A closed case's state keeps each task's place, spec, state and internal data, not what each task
    changed of the data nor when: restored, it shows the path and loop items of the workflow that finished."""
    case_id = desk.start()
    for _ in range(4):  # template, hoja, approval, acuse
        desk.do(case_id, desk.ready(case_id)[0])
    _revision, live = desk.atiende.runtime._live[case_id]  # the closing step advances this very workflow
    desk.do(case_id, "Task_respuesta_final")
    assert live.completed and desk.case(case_id).status == "cerrado"
    kept, whole = unlabelled(desk.state(case_id)), library_dump(live)
    every = [task for wf in (kept, *kept["subprocesses"].values()) for task in wf["tasks"].values()]
    assert {task["last_state_change"] for task in every} == {0}
    assert all(task["delta"] == {} for task in every if task["parent"] is not None)
    assert kept["data"] == whole["data"] and kept["subprocesses"].keys() == whole["subprocesses"].keys()
    for key in (None, *whole["subprocesses"]):
        ours, theirs = (kept, whole) if key is None else (kept["subprocesses"][key], whole["subprocesses"][key])
        roots = [task_id for task_id, task in theirs["tasks"].items() if task["parent"] is None]
        assert ours["data"] == theirs["data"] and roots  # where each workflow begins and ends: its data
        assert [ours["tasks"][root]["data"] for root in roots] == [theirs["tasks"][root]["data"] for root in roots]
    with desk.atiende.store.read() as s:
        procedure = desk.atiende.procedure(s, desk.case(case_id).procedure_version_id)
    restored = InstanceSerializer().loads(desk.state(case_id), procedure.spec, procedure.subprocess_specs)
    assert path_of(restored) == path_of(live) and path_of(live).done
    assert {t.id: (t.task_spec.name, t.state, t.internal_data) for t in restored.get_tasks()} == {
        t.id: (t.task_spec.name, t.state, t.internal_data) for t in live.get_tasks()
    }


def test_a_case_waiting_on_timers_round_trips_and_its_timers_stay_armed(desk, frozen_clock):
    case_id = desk.start()
    for _ in range(4):  # template, hoja, approval, acuse: it waits for the final answer, its cycles armed
        desk.do(case_id, desk.ready(case_id)[0])
    armed = desk.case(case_id).timer_due_at
    check_both_ways(desk, case_id)

    frozen_clock.set(armed)  # SpiffWorkflow fires what is strictly past: due this instant is not yet
    assert desk.atiende.run_timer_sweep().loaded == 0
    frozen_clock.set(armed + timedelta(minutes=1))
    assert desk.atiende.run_timer_sweep().fired == 1
    check_both_ways(desk, case_id, in_memory=False)
    assert desk.case(case_id).timer_due_at > armed
    [fired] = desk.history(case_id, "temporizador_disparado")
    assert fired.detail["temporizadores"]  # it names what fired


def test_lotes_baldios_round_trips_inside_its_multi_instance_loop(desk):
    case_id = desk.start("lotes_baldios", fecha_visita="2026-03-09")
    desk.do(case_id, "Task_preparar_informe")
    check_both_ways(desk, case_id)
    desk.clock.set(datetime(2026, 3, 6, 5, 0, 1, tzinfo=UTC))  # the pick-up timer: the Friday before
    desk.atiende.run_timer_sweep()
    check_both_ways(desk, case_id, in_memory=False)
    for step in ("Task_retirar_informe", "Task_ubicar_lotes", "Task_informar_operativo"):
        desk.do(case_id, step)
        check_both_ways(desk, case_id)
    cleanings = [t for t in desk.tasks(case_id) if t.bpmn_id == "Task_limpiar_lote"]
    assert len(cleanings) == 2  # one instance per lot, both READY in the stored state just checked
    desk.atiende.complete_task(
        cleanings[0].id, {"estado_limpieza": "propietario_notificado"}, BY_ROLE["gestion_ambiental"]
    )
    check_both_ways(desk, case_id)


def test_defensa_del_usuario_round_trips_after_its_first_steps(desk):
    case_id = desk.start("defensa_usuario_311")
    for _ in range(2):
        check_both_ways(desk, case_id)
        desk.do(case_id, desk.ready(case_id)[0])
    check_both_ways(desk, case_id)


def test_values_json_has_no_type_for_are_written_as_the_library_writes_them(desk):
    """orjson encodes our dumps; what it cannot type goes to the library's encoder, as with the stdlib's."""
    case_id = desk.start()
    desk.do(case_id, desk.ready(case_id)[0])
    _revision, live = desk.atiende.runtime._live[case_id]
    live.task_tree.data.update(
        {
            "momento": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
            "plazo": timedelta(days=3, seconds=5),
            "etiquetas": {"urgente"},
            "anidado": {"cuando": [datetime(2026, 3, 3, tzinfo=UTC)]},
            "por_numero": {7: "siete"},
        }
    )
    ours = unlabelled(InstanceSerializer().dumps(live))
    assert ours == library_dump(live)
    written = ours["tasks"][ours["root"]]["data"]
    assert written["momento"] == {"value": "2026-03-02T09:30:00+00:00", "typename": "datetime"}
    assert written["anidado"]["cuando"][0]["typename"] == "datetime"
    assert written["etiquetas"] == ["urgente"] and written["por_numero"] == {"7": "siete"}


def test_a_state_written_before_the_format_label_still_loads(desk):
    """States stored by earlier releases carry only SpiffWorkflow 3.2.0's label: the same format."""
    case_id = desk.start()
    case = desk.case(case_id)
    with desk.atiende.store.read() as s:
        procedure = desk.atiende.procedure(s, case.procedure_version_id)
    before = unlabelled(desk.state(case_id)) | {LIBRARY.VERSION_KEY: "1.5"}
    specs = (procedure.spec, procedure.subprocess_specs)
    restored = InstanceSerializer().loads(json.dumps(before), *specs)
    assert tasks_of(restored) == tasks_of(InstanceSerializer().loads(desk.state(case_id), *specs))


@pytest.mark.parametrize("label", [{FORMAT_KEY: FORMAT + 1}, {FORMAT_KEY: "otro"}, {LIBRARY.VERSION_KEY: "1.4"}, {}])
def test_a_state_of_another_format_is_refused_by_name(desk, label):
    case_id = desk.start()
    case = desk.case(case_id)
    with desk.atiende.store.read() as s:
        procedure = desk.atiende.procedure(s, case.procedure_version_id)
    other = unlabelled(desk.state(case_id)) | label
    with pytest.raises(StoredStateError, match=f"esta versión de Atiende lee el formato {FORMAT}"):
        InstanceSerializer().loads(json.dumps(other), procedure.spec, procedure.subprocess_specs)


def test_another_spiffworkflow_release_is_refused_at_start_saying_what_to_recheck():
    bpm.check_library()  # the installed one is the pinned one
    with pytest.raises(UnsupportedLibrary, match="SpiffWorkflow 3.2.0 y encontró la versión 3.3.0") as refused:
        bpm.check_library("3.3.0")
    assert "tests/integration/test_serialization.py" in str(refused.value)
