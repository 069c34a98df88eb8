"""A workflow's tasks are named by a stem of its own and a counter (``engine.bpm.task_ids``): unique
across cases, never reused within one, and a state stored with random ids goes on."""

from __future__ import annotations

import uuid

import orjson
import SpiffWorkflow.task

from engine.bpm import task_ids
from engine.bpm.state.serializer import LAST_ID_KEY
from engine.facade import Atiende
from tests.fixtures.desk import Desk

COUNTER = (1 << 32) - 1


def stem(task_id) -> int:
    return uuid.UUID(str(task_id)).int & ~COUNTER


def count(task_id) -> int:
    return uuid.UUID(str(task_id)).int & COUNTER


def stored_state(desk: Desk, case_id: int) -> dict:
    return orjson.loads(desk.atiende.serializer.codec.unpack(desk.state(case_id)))


def state_ids(state: dict) -> set[uuid.UUID]:
    """Every task id of a stored state, its subprocesses' included."""
    found = {uuid.UUID(key) for key in state["tasks"]}
    for subprocess in state.get("subprocesses", {}).values():
        found |= state_ids(subprocess)
    return found


def fresh(desk: Desk) -> Desk:
    """The same office through a new engine, which holds no workflow in memory: the next step reads the state."""
    return Desk(Atiende(desk.atiende.store, desk.clock), desk.clock)


def test_ids_share_a_stem_count_up_and_go_on_after_the_last_one():
    ids = task_ids.TaskIds()
    first, second = ids.next(), ids.next()
    for issued in (first, second):
        assert issued.version == 8 and issued.variant == uuid.RFC_4122
    assert stem(first) == stem(second) and second.int == first.int + 1
    assert ids.last == second
    assert task_ids.TaskIds(second).next().int == second.int + 1
    assert stem(task_ids.TaskIds().next()) != stem(first)
    random_id = uuid.uuid4()
    after_random = task_ids.TaskIds(random_id)  # a state written with random ids: a new stem
    assert after_random.last is None and stem(after_random.next()) != stem(random_id)
    assert task_ids.next_id().version == 4  # no workflow driven here: a random id, as SpiffWorkflow drew
    full = task_ids.TaskIds(uuid.UUID(int=stem(first) | COUNTER))  # its counter spent: a new stem, not a wrap
    after_full = full.next()
    assert stem(after_full) != stem(first) and count(after_full) == 1 and after_full.version == 8


def test_a_case_s_tasks_share_its_stem_and_never_take_an_id_again(desk):
    case_id, other = desk.start(), desk.start()
    seen: set[uuid.UUID] = set()
    last, made = 0, []
    steps = [
        lambda d: d.do(case_id, next(t for t in d.ready(case_id) if t.startswith("Task_plantilla_"))),
        lambda d: d.do(case_id, "Task_confeccionar_hoja"),
        lambda d: d.do(case_id, "Task_aprobar_hoja"),
        lambda d: d.do(case_id, "Task_acuse_recibo"),
        lambda d: d.wait(days=8),  # the weekly follow-up fires from the timer sweep
        lambda d: d.do(case_id, "Task_respuesta_final"),
    ]
    for step in [None, *steps]:
        if step is not None:
            step(desk)
            desk = fresh(desk)  # the next step goes on from the stored state, not from memory
        state = stored_state(desk, case_id)
        ids = state_ids(state)
        assert {i.version for i in ids} == {8}
        assert len({stem(i) for i in ids}) == 1
        new = ids - seen
        assert all(count(i) > last for i in new)  # made after every id issued before, dropped ones too
        made.append(len(new))
        last = count(state[LAST_ID_KEY])
        assert last >= max(count(i) for i in ids)
        assert {stem(t.id) for t in desk.tasks(case_id)} <= {stem(i) for i in ids}
        seen |= ids
    assert desk.case(case_id).status == "cerrado" and made[0] and sum(made[1:]) > 0
    assert stem(next(iter(state_ids(stored_state(desk, other))))) != stem(next(iter(seen)))


def test_a_state_stored_with_random_ids_goes_on_with_a_stem_of_its_own(desk, monkeypatch):
    with monkeypatch.context() as m:  # as a case started before these ids were
        m.setattr(SpiffWorkflow.task, "uuid4", uuid.uuid4)
        case_id = desk.start()
    before = stored_state(desk, case_id)
    assert LAST_ID_KEY not in before and {i.version for i in state_ids(before)} == {4}
    desk = fresh(desk)
    desk.do(case_id, next(t for t in desk.ready(case_id) if t.startswith("Task_plantilla_")))
    after = stored_state(desk, case_id)
    new = state_ids(after) - state_ids(before)
    assert new and {i.version for i in new} == {8} and len({stem(i) for i in new}) == 1
    assert count(after[LAST_ID_KEY]) == max(count(i) for i in new)
    assert {uuid.UUID(t.id) for t in desk.tasks(case_id)} <= state_ids(after)  # predicted at the start, random
