"""The codec of stored states: frames with or without a dictionary, what a dictionary learns from, and a
frame whose dictionary is missing."""

import orjson
import pytest

from engine.bpm.state import codec as state_codec
from engine.bpm.state.codec import PLAIN, StateCodec
from engine.errors import StoredStateError


def a_state(n: int) -> bytes:
    task = {"state": 64, "task_spec": f"Task_{n % 7}", "internal_data": {"event_fired": True}}
    return orjson.dumps(
        {
            "data": {"ciudadano_nombre": f"Persona {n}", "edad": n, "acepta": True, "notas": None},
            "tasks": {f"id-{n}-{i}": {**task, "data": {"detalle": f"texto {n} {i}"}, "delta": {}} for i in range(20)},
            "completed": False,
        }
    )


def test_a_states_shape_keeps_its_keys_and_structure_and_empties_what_the_case_holds():
    shaped = orjson.loads(state_codec.shape(a_state(3)))
    assert shaped["data"] == {"ciudadano_nombre": "", "edad": 0, "acepta": True, "notas": None}
    task = shaped["tasks"]["id-3-0"]
    assert task["data"] == {"detalle": ""} and task["task_spec"] == "Task_3" and task["state"] == 64
    assert task["internal_data"] == {"event_fired": True} and shaped["completed"] is False  # a bool says nothing


def test_a_frame_is_read_with_the_dictionary_it_names_and_a_plain_one_without():
    dictionary = state_codec.train([state_codec.shape(a_state(n)) for n in range(200)], 5)
    codec = StateCodec(lambda: {5: dictionary})
    plain = PLAIN.pack(a_state(1))
    assert codec.newest == 5
    packed = codec.pack(a_state(1))
    assert len(packed) < len(plain) and codec.uses_newest(packed) and not codec.uses_newest(plain)
    assert codec.unpack(packed) == codec.unpack(plain) == a_state(1)


def test_a_finished_workflows_state_is_packed_smaller_and_reads_the_same():
    finished = orjson.dumps({**orjson.loads(a_state(4)), "completed": True})
    packed = PLAIN.pack(finished, finished=True)
    assert len(packed) < len(PLAIN.pack(finished)) and PLAIN.unpack(packed) == finished


def test_a_frame_naming_a_dictionary_the_database_lacks_is_refused_by_name():
    dictionary = state_codec.train([state_codec.shape(a_state(n)) for n in range(200)], 9)
    writer = StateCodec(lambda: {})
    writer.adopt(9, dictionary)
    with pytest.raises(StoredStateError, match="diccionario 9, que no está en esta base de datos"):
        StateCodec(lambda: {}).unpack(writer.pack(a_state(2)))
    with pytest.raises(StoredStateError):
        PLAIN.unpack(writer.pack(a_state(2)))
