"""JSON columns are stored as compact UTF-8 text: a Spanish record is not inflated by ASCII escapes or
spaces, and text UTF-8 cannot encode (a lone surrogate, as a broken e-mail header may leave) is
stored escaped."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.models import JSONType, OrderedJSON

RECORD = {"dirección": "Planificación Urbana", "datos": {"asunto": "Recolección en Bella Vista", "n": [1, 2]}}


@pytest.fixture
def scratch(store):
    """A table of the test's own with both kinds of JSON column, on the store's engine."""
    table = sa.Table(
        "json_scratch",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("indexed", JSONType),
        sa.Column("ordered", OrderedJSON),
    )
    table.create(store.engine)
    yield store, table
    table.drop(store.engine)


def stored_text(store, column: str) -> str:
    with store.engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT CAST({column} AS TEXT) FROM json_scratch"))


def test_json_is_stored_as_typed_without_spaces_and_reads_back_equal(scratch):
    store, table = scratch
    with store.engine.begin() as conn:
        conn.execute(table.insert(), {"id": 1, "indexed": RECORD, "ordered": RECORD})
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(table.c.indexed, table.c.ordered)).one() == (RECORD, RECORD)
    ordered = stored_text(store, "ordered")  # plain JSON on both databases: the text as sent
    assert ordered == '{"dirección":"Planificación Urbana","datos":{"asunto":"Recolección en Bella Vista","n":[1,2]}}'
    if store.is_sqlite:  # PostgreSQL's JSONB keeps no text; it prints its own
        assert stored_text(store, "indexed") == ordered


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # PostgreSQL refuses it however it is written
def test_text_utf8_cannot_encode_is_stored_escaped_on_sqlite(scratch):
    store, table = scratch
    broken = {"asunto": "Queja \udce9"}
    with store.engine.begin() as conn:
        conn.execute(table.insert(), {"id": 1, "indexed": broken, "ordered": broken})
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(table.c.indexed)).scalar() == broken
    assert stored_text(store, "indexed") == '{"asunto":"Queja \\udce9"}'
