"""the case record stored packed; its description in a column of its own for the search index

Revision ID: 0031
Revises: 0030

``cases.data``, the record people read (every answer of the case's forms), is stored as a
Zstandard frame with a fixed dictionary of its keys (``engine.db.packing``, dictionary
``case_data``), as 0029 did for the cold columns: about two fifths of its JSON. The search
index's triggers read the description inside the record, which SQL can no longer do: it gets
a column of its own, ``description``, filled here from the record with the same expression the
triggers used, so the index (SQLite's keeps no content: a delete repeats the insert) stays as
it is. From here on the model sets it whenever the record is set (``Case._describe``).

Both databases: the triggers go, the columns are added and filled a batch at a time, the JSON
column is dropped and the packed one takes its name, and the triggers come back reading the new
column. On SQLite the new ``data`` keeps an empty default in the schema, as 0029's columns do.
The room freed stays in the file (SQLite) or the table (PostgreSQL) until ``VACUUM``.
"""

import json

import sqlalchemy as sa
from alembic import op

from engine.db.migrations import search_index
from engine.db.packing import Packed
from engine.db.store import json_text

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_BATCH = 2000  # cases read, converted and written at a time
_RECORD = Packed("case_data")


def _convert(declared: str, change, description: str | None) -> None:
    """``cases.data`` becomes a column of type ``declared`` holding ``change(old value)``; with
    ``description`` (a SQL expression of the old record), ``cases.description`` is filled by it."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    default = " NOT NULL DEFAULT " + ("x''" if declared == "BLOB" else "''") if sqlite else ""
    op.execute(f"ALTER TABLE cases ADD COLUMN data_new {declared}{default}")
    read = sa.text(f"SELECT id, data FROM cases WHERE id > :after ORDER BY id LIMIT {_BATCH}")
    value = "CAST(:value AS jsonb)" if declared == "jsonb" else ":value"
    described = f", description = {description}" if description else ""
    write = sa.text(f"UPDATE cases SET data_new = {value}{described} WHERE id = :id")
    after = 0
    while rows := bind.execute(read, {"after": after}).all():
        bind.execute(write, [{"id": id_, "value": change(data)} for id_, data in rows])
        after = rows[-1][0]
    op.execute("ALTER TABLE cases DROP COLUMN data")
    op.execute("ALTER TABLE cases RENAME COLUMN data_new TO data")
    if not sqlite:
        op.execute("ALTER TABLE cases ALTER COLUMN data SET NOT NULL")


def _triggers(description: search_index.Description) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in search_index.sqlite_triggers(description) if sqlite else search_index.pg_triggers(description):
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    search_index.drop_triggers()
    op.add_column("cases", sa.Column("description", sa.Text(), nullable=True))

    def packed(data):
        return _RECORD.process_bind_param(json.loads(data) if isinstance(data, str) else data, None)

    _convert("BLOB" if dialect == "sqlite" else "bytea", packed, search_index.in_record(dialect)("cases"))
    _triggers(search_index.in_column)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    search_index.drop_triggers()

    def plain(data):
        return json_text(_RECORD.process_result_value(data, None))

    _convert("JSON" if dialect == "sqlite" else "jsonb", plain, None)
    op.drop_column("cases", "description")
    _triggers(search_index.in_record(dialect))
