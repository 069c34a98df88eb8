"""Stored states compacted with a dictionary of their shape: trained, stored append-only, written and read
with it by every process, rewritten in place without changing a byte of what they say, and undone by the
migration's downgrade; on both databases."""

from __future__ import annotations

import copy
import threading

import orjson
import pytest
import sqlalchemy as sa
import zstandard
from sqlalchemy import select, text

from engine import cli
from engine.bpm.state import compaction
from engine.db.models import Case, CaseState, StateDictionary
from engine.facade import Atiende
from tests.fixtures.desk import Desk
from tests.integration.test_case_state_apart import office_at, states_in_case_rows
from tests.integration.test_migrations import migrate_to

CEDULA = "8-765-4321"  # a value only the cases hold


def states(store) -> dict[int, bytes]:
    with store.read() as s:
        return {case_id: bytes(w) for case_id, w in s.execute(select(CaseState.case_id, CaseState.workflow))}


def named_dictionary(stored: bytes) -> int:
    return zstandard.get_frame_parameters(stored).dict_id


def some_cases(desk: Desk, count: int = 12) -> list[int]:
    """Cases at several stages, each citizen with the same cédula."""
    made = []
    for n in range(count):
        case_id = desk.start(ciudadano_cedula=CEDULA)
        if n % 3:
            desk.to_follow_up(case_id)
        made.append(case_id)
    return made


def test_compaction_learns_the_states_shape_and_rewrites_each_state_smaller_saying_the_same(desk, atiende, store):
    cases = some_cases(desk)
    codec = atiende.serializer.codec
    before = states(store)
    json_before = {case_id: codec.unpack(stored) for case_id, stored in before.items()}

    assert compaction.train(store, codec, atiende.now(), minimum=10) == 1
    done = compaction.rewrite(store, codec)

    after = states(store)
    assert (done.read, done.rewritten) == (len(before), len(before))
    assert {named_dictionary(stored) for stored in after.values()} == {1}
    assert {case_id: codec.unpack(stored) for case_id, stored in after.items()} == json_before
    assert sum(map(len, after.values())) * 1.15 < sum(map(len, before.values()))
    assert done.bytes_after == sum(map(len, after.values()))
    with store.read() as s:
        dictionary = s.get(StateDictionary, 1)
    assert dictionary.states == len(before) and CEDULA.encode() not in dictionary.content
    assert all(CEDULA.encode() in json_before[case_id] for case_id in cases)
    assert compaction.rewrite(store, codec).rewritten == 0  # nothing left to do


def test_a_closed_cases_state_is_written_at_the_finished_level_and_kept_there_by_compaction(desk, atiende, store):
    cases = some_cases(desk)
    closed = cases[1]
    desk.do(closed, "Task_respuesta_final")
    codec = atiende.serializer.codec

    def finished_frame(stored: bytes) -> bool:
        text = codec.unpack(stored)
        return stored == codec.pack(text, finished=True) != codec.pack(text)

    assert finished_frame(states(store)[closed])
    assert not any(finished_frame(states(store)[case_id]) for case_id in cases if case_id != closed)
    compaction.train(store, codec, atiende.now(), minimum=10)
    compaction.rewrite(store, codec)
    after = states(store)
    assert named_dictionary(after[closed]) == 1 and finished_frame(after[closed])
    assert not any(finished_frame(after[case_id]) for case_id in cases if case_id != closed)


def test_the_rewrite_settles_a_closed_cases_state_written_before_states_were_settled(desk, atiende, store):
    cases = some_cases(desk)
    closed = cases[1]
    desk.do(closed, "Task_respuesta_final")
    codec = atiende.serializer.codec
    settled = orjson.loads(codec.unpack(states(store)[closed]))
    unsettled = copy.deepcopy(settled)
    task = next(t for t in unsettled["tasks"].values() if t["parent"] is not None)
    task["last_state_change"], task["delta"] = 1796612971.698, {"updates": {"respuesta": "Atendido"}, "deletions": []}
    with store.unit_of_work() as s:  # as a release before settled states wrote it
        s.get(CaseState, closed).workflow = codec.pack(orjson.dumps(unsettled), finished=True)
    compaction.train(store, codec, atiende.now(), minimum=10)
    compaction.rewrite(store, codec)
    assert orjson.loads(codec.unpack(states(store)[closed])) == settled


def test_a_process_that_never_saw_a_dictionary_reads_and_writes_with_it(desk, atiende, store, frozen_clock):
    """Another process (its own engine, which has read the dictionaries once: none then) meets states written
    with one trained since: it reads the new dictionary, loads the case, and writes its next state with it."""
    some_cases(desk)
    other = Atiende(store, frozen_clock)
    other_desk = Desk(other, frozen_clock)
    case_id = other_desk.start()
    assert named_dictionary(states(store)[case_id]) == 0

    compaction.train(store, atiende.serializer.codec, atiende.now(), minimum=10)
    compaction.rewrite(store, atiende.serializer.codec)
    other.runtime._live.clear()  # nothing in memory: the stored state is read
    template = next(t for t in other_desk.ready(case_id) if t.startswith("Task_plantilla_"))
    other_desk.do(case_id, template)
    assert named_dictionary(states(store)[case_id]) == 1 and other.serializer.codec.newest == 1
    assert other_desk.ready(case_id) == ["Task_confeccionar_hoja"]


def test_a_state_whose_case_moved_during_the_rewrite_keeps_what_its_step_wrote(desk, atiende, store):
    cases = some_cases(desk)
    moving = cases[0]
    codec = atiende.serializer.codec
    compaction.train(store, codec, atiende.now(), minimum=10)
    pack = codec.pack
    moved = []

    def step_first(text, finished=False):  # the case's step commits between the rewrite's read and its write
        if not moved:
            codec.pack = pack  # the step writes its own state
            desk.do(moving, next(t for t in desk.ready(moving) if t.startswith("Task_plantilla_")))
            moved.append(states(store)[moving])
            codec.pack = step_first
        return pack(text, finished)

    codec.pack = step_first
    compaction.rewrite(store, codec)
    codec.pack = pack
    assert states(store)[moving] == moved[0] and desk.case(moving).revision == 2
    atiende.runtime._live.clear()  # the stored state goes on
    desk.do(moving, "Task_confeccionar_hoja")
    assert desk.ready(moving) == ["Task_aprobar_hoja"]


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_state_whose_step_has_not_committed_is_left_to_that_step(desk, atiende, store):
    """A step holds its case row's lock from its read to its commit; the rewrite leaves such a case alone
    rather than wait on its state and then write the state the step replaced."""
    moving = some_cases(desk)[0]
    codec = atiende.serializer.codec
    compaction.train(store, codec, atiende.now(), minimum=10)
    stepping = store.engine.connect()
    step = stepping.begin()
    stepping.execute(select(Case.id).where(Case.id == moving).with_for_update())
    stepping.execute(sa.update(Case).where(Case.id == moving).values(revision=Case.revision + 1))
    stepping.execute(sa.update(CaseState).where(CaseState.case_id == moving).values(workflow=b"its step's state"))
    rewriting = threading.Thread(target=compaction.rewrite, args=(store, codec))
    rewriting.start()
    rewriting.join(timeout=1)  # a rewrite waiting on the step's row would still be running
    step.commit()
    stepping.close()
    rewriting.join()
    assert states(store)[moving] == b"its step's state"


def test_too_few_states_train_nothing(desk, atiende, store):
    desk.start()
    assert compaction.train(store, atiende.serializer.codec, atiende.now()) is None
    assert compaction.rewrite(store, atiende.serializer.codec).read == 0
    with store.read() as s:
        assert s.scalar(select(sa.func.count()).select_from(StateDictionary)) == 0


def test_the_dictionaries_are_append_only(desk, atiende, store):
    some_cases(desk)
    compaction.train(store, atiende.serializer.codec, atiende.now(), minimum=10)
    for statement in ("UPDATE state_dictionary SET states = 0", "DELETE FROM state_dictionary"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def test_the_downgrade_writes_every_state_without_a_dictionary_first(bare_url, frozen_clock):
    atiende = office_at(bare_url, frozen_clock)
    store = atiende.store
    some_cases(Desk(atiende, frozen_clock))
    codec = atiende.serializer.codec
    compaction.train(store, codec, atiende.now(), minimum=10)
    compaction.rewrite(store, codec)
    json_before = {case_id: codec.unpack(stored) for case_id, stored in states(store).items()}
    store.dispose()
    migrate_to(bare_url, "0026", down=True)
    after = states_in_case_rows(store)  # back in the case rows (migration 0035's downgrade)
    assert {named_dictionary(stored) for stored in after.values()} == {0}
    assert {case_id: zstandard.ZstdDecompressor().decompress(s) for case_id, s in after.items()} == json_before
    assert "state_dictionary" not in sa.inspect(store.engine).get_table_names()
    store.dispose()


def test_the_command_trains_once_rewrites_and_trains_again_when_asked(desk, store, capsys, monkeypatch):
    some_cases(desk)
    monkeypatch.setattr(compaction, "MINIMUM", 10)
    assert cli.main(["--database-url", store.url, "estados", "compactar"]) == 0
    first = capsys.readouterr().out
    assert "Diccionario 1 entrenado" in first and f"{len(states(store))} de {len(states(store))} estados" in first
    assert cli.main(["--database-url", store.url, "estados", "compactar"]) == 0
    assert "entrenado" not in (again := capsys.readouterr().out) and "0 de " in again
    assert cli.main(["--database-url", store.url, "estados", "compactar", "--nuevo"]) == 0
    assert "Diccionario 2 entrenado" in capsys.readouterr().out
    assert {named_dictionary(stored) for stored in states(store).values()} == {2}
