"""A column stored in another form: every row converted in Python, a batch at a time, on both databases.

For the migrations that keep the same data in less room (0029, 0031, 0032): a conversion SQL
cannot write (a Zstandard frame, a UUID's bytes on a SQLite without ``unhex``) is done here. A
new column is added, filled, the old one dropped and the new one given its name. SQLite adds a
NOT NULL column only with a default, so there such a column keeps an empty one in the schema
(every insert of the engine names it). Whatever reads the column in the schema (an index, a
trigger) is the caller's to drop before and make again after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.db.packing import Packed

BATCH = 2000  # rows read, converted and written at a time


def replace_column(
    table: str,
    column: str,
    declared: str,
    change: Callable[[Any], Any],
    *,
    required: bool,
    also: str = "",
) -> None:
    """``table.column`` becomes a column of SQL type ``declared`` holding ``change(old value)`` (NULL
    stays NULL); ``also``, SQL assignments of the same UPDATE (``", description = …"``), may read the
    row's old values."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    empty = "x''" if declared == "BLOB" else "''"
    constraint = f" NOT NULL DEFAULT {empty}" if required and sqlite else ""
    op.execute(f"ALTER TABLE {table} ADD COLUMN {column}_new {declared}{constraint}")
    read = sa.text(f"SELECT id, {column} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}")
    cast = f"CAST(:value AS {declared})" if declared == "jsonb" else ":value"
    write = sa.text(f"UPDATE {table} SET {column}_new = {cast}{also} WHERE id = :id")
    after = 0
    while rows := bind.execute(read, {"after": after}).all():
        bind.execute(write, [{"id": id_, "value": change(value) if value is not None else None} for id_, value in rows])
        after = rows[-1][0]
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_new TO {column}")
    if required and not sqlite:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")


def to_packed(packed: Packed) -> Callable[[Any], bytes]:
    """A ``change`` to a ``packed`` column's stored form: SQLite hands its JSON over as text,
    PostgreSQL's ``jsonb`` already parsed."""

    def change(value):
        if packed.as_json and isinstance(value, str):
            value = json.loads(value)
        return packed.process_bind_param(value, None)

    return change


def to_plain(packed: Packed) -> Callable[[Any], str]:
    """A ``change`` back from a ``packed`` column to the text (compact JSON, for JSON) a column written
    before packing holds: a lone surrogate, which neither database takes there unescaped (and
    PostgreSQL's ``jsonb`` not even escaped), becomes «?»."""

    def change(value):
        unpacked = packed.process_result_value(value, None)
        text = json.dumps(unpacked, ensure_ascii=False, separators=(",", ":")) if packed.as_json else unpacked
        return text.encode(errors="replace").decode()

    return change
