"""A case's workflow state is stored compressed; states stored as text before migration 0020 still load,
and the migration compresses every one of them, on both databases."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
import zstandard

from engine.bpm.state.codec import PLAIN, unpacked_size
from engine.bpm.state.serializer import InstanceSerializer
from engine.db.models import CaseState
from engine.db.store import Store
from tests.integration.test_migrations import migrate_to
from tests.integration.test_serialization import tasks_of

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def procedure_of(desk, case):
    with desk.atiende.store.read() as s:
        procedure = desk.atiende.procedure(s, case.procedure_version_id)
    return procedure.spec, procedure.subprocess_specs


def test_a_stored_state_is_a_zstandard_frame_a_fraction_of_its_json_and_it_round_trips(desk):
    case_id = desk.start()
    desk.do(case_id, desk.ready(case_id)[0])
    case = desk.case(case_id)
    stored = desk.state(case_id)
    text = PLAIN.unpack(stored)
    assert isinstance(stored, bytes) and stored.startswith(ZSTD_MAGIC)
    assert json.loads(text)["tasks"] and len(stored) * 4 < len(text)
    assert unpacked_size(stored) == len(text)
    specs = procedure_of(desk, case)
    ours = InstanceSerializer()
    restored = ours.loads(stored, *specs)
    assert PLAIN.unpack(ours.dumps(restored)) == text
    assert tasks_of(restored) == tasks_of(desk.atiende.runtime._live[case_id][1])


def test_a_state_stored_as_plain_json_loads_as_the_same_workflow(desk):
    case_id = desk.start()
    case = desk.case(case_id)
    specs = procedure_of(desk, case)
    text = PLAIN.unpack(desk.state(case_id))
    expected = tasks_of(InstanceSerializer().loads(desk.state(case_id), *specs))
    assert tasks_of(InstanceSerializer().loads(text, *specs)) == expected  # bytes of JSON, as read back
    assert tasks_of(InstanceSerializer().loads(text.decode(), *specs)) == expected  # text, as a TEXT column held
    assert unpacked_size(text.decode()) == len(text.decode())


def test_a_completed_case_advances_and_loads_from_its_compressed_state(desk, frozen_clock):
    """A fresh engine, with no workflow in memory, reads the stored state to go on."""
    case_id = desk.start()
    desk.atiende.runtime._live.clear()
    desk.do(case_id, desk.ready(case_id)[0])
    assert desk.case(case_id).revision == 2 and desk.ready(case_id)


# The columns of the two tables a case row needs, as they are at revision 0019.
VERSIONS = sa.table(
    "procedure_version",
    *map(sa.column, ("id", "process_id", "name", "version", "content_hash", "bpmn", "forms", "spec")),
    *map(sa.column, ("deployed_by", "deployed_at", "note", "calls")),
)
CASES = sa.table(
    "cases",
    *map(sa.column, ("id", "ticket", "procedure_version_id", "status", "opened_at", "created_by", "data")),
    *map(sa.column, ("workflow", "revision")),
)
STATES = {
    1: json.dumps({"tasks": {"a": {"data": {"domicilio": "Calle 50 y Vía España, frente a la parada"}}}}),
    2: json.dumps({"tasks": {}, "relleno": "x" * 50_000}),  # several batches' worth of bytes in one row
    3: "",  # the placeholder a case holds while its first step runs, never loaded
}


def stored_states(url: str) -> dict[int, object]:
    store = Store(url)
    with store.engine.connect() as conn:
        found = dict(conn.execute(sa.select(CASES.c.id, CASES.c.workflow)).all())
    store.dispose()
    return found


def test_the_migration_compresses_every_stored_state_and_its_downgrade_restores_the_text(bare_url):
    migrate_to(bare_url, "0019")
    store = Store(bare_url)
    opened = datetime(2026, 3, 2, 14, 0)
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(VERSIONS).values(
                id=1,
                process_id="atencion_correo_web",
                name="Atención",
                version=1,
                content_hash="0" * 64,
                bpmn="{}",
                forms="{}",
                spec="{}",
                deployed_by="ana",
                deployed_at=opened,
                note="",
                calls="{}",
            )
        )
        for case_id, state in STATES.items():
            conn.execute(
                sa.insert(CASES).values(
                    id=case_id,
                    ticket=f"AC-2026-00000{case_id}",
                    procedure_version_id=1,
                    status="abierto",
                    opened_at=opened,
                    created_by="operador",
                    data="{}",
                    workflow=state,
                    revision=1,
                )
            )
    store.migrate()
    with store.read() as s:
        migrated = {state.case_id: state.workflow for state in s.scalars(sa.select(CaseState))}
    assert migrated[3] == b""
    for case_id in (1, 2):
        assert migrated[case_id].startswith(ZSTD_MAGIC) and len(migrated[case_id]) < len(STATES[case_id])
        assert zstandard.ZstdDecompressor().decompress(migrated[case_id]).decode() == STATES[case_id]
        assert PLAIN.unpack(migrated[case_id]) == STATES[case_id].encode()
    store.dispose()
    migrate_to(bare_url, "0019", down=True)
    assert stored_states(bare_url) == STATES
