"""The case record stored packed, its description in a column the search index reads (migration 0031)."""

from __future__ import annotations

import contextlib
import json

import pytest
from sqlalchemy import inspect, select, text

from engine.access.accounts import Actor
from engine.cases.finding import search
from engine.clock import FrozenClock
from engine.db.models import Case, HumanTask, Incident
from engine.db.store import Store, json_text
from engine.facade import Atiende
from tests.conftest import START, fill_template
from tests.fixtures.desk import COORDINADOR, Desk
from tests.fixtures.diagrams import one_task
from tests.integration.test_audit_chain import verdict
from tests.integration.test_migrations import migrate_to

OPERADOR = Actor("operador", frozenset({"operador"}))


def tickets(atiende: Atiende, query: str) -> list[str]:
    with atiende.store.read() as s:
        return [hit.ticket for hit in search.search(s, COORDINADOR, query).hits]


def describe(atiende: Atiende, case_id: int, words: object) -> None:
    """Set the record's description as any step sets the record: a new record through the model."""
    with atiende.store.unit_of_work() as s:
        case = s.get(Case, case_id)
        case.data = {**case.data, "descripcion": words}


def test_the_record_is_stored_packed_and_its_description_follows_it_into_the_search(atiende, desk, store):
    case_id = desk.start()  # DEMO_CASES[0]: «Hace dos semanas no pasa el camión recolector por la calle 50.»
    with store.engine.connect() as conn:
        stored, description = conn.execute(
            text("SELECT data, description FROM cases WHERE id = :c"), {"c": case_id}
        ).one()
    with store.read() as s:
        record = s.get(Case, case_id).data
    assert bytes(stored)[0] == 1 and len(bytes(stored)) < len(json_text(record).encode()) / 2
    assert description == record["descripcion"] and "recolector" in description
    assert tickets(atiende, "camion recolector") == ["AC-2026-000001"]
    describe(atiende, case_id, "Queja \udce9")  # a lone surrogate, which a broken mail header may leave
    with store.read() as s:
        assert s.get(Case, case_id).description == "Queja ?"
    describe(atiende, case_id, "Semáforo dañado en la esquina del mercado.")
    assert tickets(atiende, "semaforo mercado") == ["AC-2026-000001"]
    assert tickets(atiende, "recolector") == []  # the old words left the index with the old description


@contextlib.contextmanager
def _opened(url: str):
    """A store of the database at ``url`` for one look, disposed afterwards."""
    store = Store(url)
    try:
        yield store
    finally:
        store.dispose()


def _search_sql(url: str, word: str) -> list[int]:
    """The cases the index finds for ``word``, asked in SQL: at 0030 the models do not fit the schema."""
    with _opened(url) as store, store.engine.connect() as conn:
        if store.is_sqlite:
            sql = "SELECT rowid FROM case_fts WHERE case_fts MATCH :w"
        else:
            sql = "SELECT case_id FROM case_fts WHERE document @@ to_tsquery('simple', :w)"
        return [r[0] for r in conn.execute(text(sql), {"w": word})]


def _raw(url: str, sql: str, **params):
    with _opened(url) as store, store.engine.begin() as conn:
        return conn.execute(text(sql), params).all() if sql.startswith("SELECT") else conn.execute(text(sql), params)


def test_migration_0031_down_and_up_keeps_the_record_and_the_search_index(bare_url):
    store = Store(bare_url)
    store.migrate()
    fill_template("deployed", store)
    atiende = Atiende(store, FrozenClock(START))
    case_id = Desk(atiende, FrozenClock(START)).start()
    kept = Desk(atiende, FrozenClock(START)).start()
    describe(atiende, kept, True)  # not text: its column holds JSON's «true», where SQLite's JSON reads 1
    with store.read() as s:
        record = s.get(Case, case_id).data
    store.dispose()

    migrate_to(bare_url, "0030", down=True)
    postgresql = not bare_url.startswith("sqlite")
    ((data,),) = _raw(bare_url, "SELECT data FROM cases WHERE id = :c", c=case_id)
    assert (data if postgresql else json.loads(data)) == record
    assert _search_sql(bare_url, "recolector") == [case_id]
    if not postgresql:  # the index filled again as the restored triggers read it: their deletes match
        _raw(bare_url, "UPDATE cases SET data = json_set(data, '$.descripcion', 'otra cosa') WHERE id = :k", k=kept)
        assert _search_sql(bare_url, "true") == [] and _search_sql(bare_url, "otra") == [kept]
    # 0004's triggers, back: they read the description inside the record again
    if postgresql:
        _raw(
            bare_url,
            """UPDATE cases SET data = jsonb_set(data, '{descripcion}', '"Acera rota frente al mercado"')"""
            " WHERE id = :c",
            c=case_id,
        )
    else:
        _raw(
            bare_url,
            "UPDATE cases SET data = json_set(data, '$.descripcion', 'Acera rota frente al mercado') WHERE id = :c",
            c=case_id,
        )
    assert _search_sql(bare_url, "mercado") == [case_id] and _search_sql(bare_url, "recolector") == []

    store = Store(bare_url)
    store.migrate()
    atiende = Atiende(store, FrozenClock(START))
    with store.read() as s:
        case = s.get(Case, case_id)
        assert case.data == {**record, "descripcion": "Acera rota frente al mercado"}
        assert case.description == "Acera rota frente al mercado"
    assert bytes(_raw(bare_url, "SELECT data FROM cases")[0][0])[0] == 1
    assert tickets(atiende, "mercado") == [record["ticket"]]
    describe(atiende, case_id, "Semáforo dañado.")
    assert tickets(atiende, "semaforo") == [record["ticket"]] and tickets(atiende, "mercado") == []
    assert verdict(store).intact
    store.dispose()


def test_a_record_an_intruder_writes_as_json_text_still_reads(atiende, desk, store):
    case_id = desk.start()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET data = :d WHERE id = :c"), {"d": b'{"asunto": "otro"}', "c": case_id})
    with store.read() as s:
        assert s.scalars(select(Case.data).where(Case.id == case_id)).one() == {"asunto": "otro"}


# The longest address RFC 5321 lets through (254 characters), every label within its 63.
LONGEST_EMAIL = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 58}.pa"


def test_a_citizen_email_of_the_longest_valid_length_is_kept_whole(atiende, desk, store):
    """The capture forms take 254 characters, as the intake's sender does: the case row holds them all
    (PostgreSQL refused the case's insert beyond 200, an incident where the form said nothing)."""
    assert len(LONGEST_EMAIL) == 254
    case_id = desk.start(ciudadano_email=LONGEST_EMAIL)
    with store.read() as s:
        assert s.get(Case, case_id).citizen_email == LONGEST_EMAIL
        assert s.scalars(select(Incident)).all() == []


def test_a_value_beyond_its_case_column_is_kept_whole_in_the_record_and_clipped_in_the_column(store, frozen_clock):
    """A form an analyst left without ``maxLength`` (or typed a number) may carry more than the case row's
    searched column holds: the record keeps the value whole; the column free text's beginning, a number
    as text, nothing of a cédula too long (cut, it would be another's); the step does not fail."""
    atiende = Atiende(store, frozen_clock)
    form = {
        "type": "object",
        "properties": {
            "asunto": {"type": "string"},
            "ciudadano_cedula": {"type": "string"},
            "ciudadano_telefono": {"type": "integer"},
        },
    }
    atiende.deploy({"prueba.bpmn": one_task(form="datos", condition="True")}, {"datos": form}, "analista")
    case_id = atiende.start_case("prueba", {}, OPERADOR).case_id
    with store.read() as s:
        [task] = s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).all()
    subject, cedula = " ".join(["Basura acumulada"] * 25), "8-" + "1" * 40
    atiende.complete_task(
        task.id, {"asunto": subject, "ciudadano_cedula": cedula, "ciudadano_telefono": 62345678}, OPERADOR
    )
    with store.read() as s:
        case = s.get(Case, case_id)
        assert (case.data["asunto"], case.data["ciudadano_cedula"]) == (subject, cedula)
        assert (case.subject, case.citizen_cedula, case.citizen_phone) == (subject[:300], None, "62345678")
        assert case.data["ciudadano_telefono"] == 62345678
        assert s.scalars(select(Incident)).all() == []


def declared_length(url: str, table: str, column: str) -> int:
    with _opened(url) as store:
        [found] = [c for c in inspect(store.engine).get_columns(table) if c["name"] == column]
        return found["type"].length


def test_migration_0036_down_and_up_keeps_the_emails_and_their_search(bare_url):
    """Down is refused while an address longer than 200 is stored; either way the search triggers,
    dropped while the column changes, find a case by its e-mail again."""
    store = Store(bare_url)
    store.migrate()
    fill_template("deployed", store)
    atiende = Atiende(store, FrozenClock(START))
    desk = Desk(atiende, FrozenClock(START))
    short, long_ = desk.start(ciudadano_email="vecina@correo.pa"), desk.start(ciudadano_email=LONGEST_EMAIL)
    store.dispose()
    with pytest.raises(RuntimeError, match="1 cases keep an e-mail longer than 200"):
        migrate_to(bare_url, "0035", down=True)

    _raw(bare_url, "UPDATE cases SET citizen_email = NULL WHERE id = :c", c=long_)
    migrate_to(bare_url, "0035", down=True)
    assert declared_length(bare_url, "cases", "citizen_email") == 200
    assert _raw(bare_url, "SELECT id FROM cases WHERE citizen_email = 'vecina@correo.pa'") == [(short,)]
    _raw(bare_url, "UPDATE cases SET citizen_email = 'vecino@otro.pa' WHERE id = :c", c=short)
    assert _search_sql(bare_url, "vecino") == [short] and _search_sql(bare_url, "vecina") == []

    store = Store(bare_url)
    store.migrate()
    assert declared_length(bare_url, "cases", "citizen_email") == 254
    atiende = Atiende(store, FrozenClock(START))
    with store.read() as s:
        assert s.get(Case, short).citizen_email == "vecino@otro.pa"
    with store.unit_of_work() as s:
        s.get(Case, long_).citizen_email = LONGEST_EMAIL
    assert tickets(atiende, "vecino") == ["AC-2026-000001"] and len(tickets(atiende, "d" * 58)) == 1
    store.dispose()
