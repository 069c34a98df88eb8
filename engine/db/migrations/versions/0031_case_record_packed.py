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

import sqlalchemy as sa
from alembic import op

from engine.db.migrations import rewrite, search_index
from engine.db.packing import Packed

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_RECORD = Packed("case_data")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    search_index.drop_triggers()
    op.add_column("cases", sa.Column("description", sa.Text(), nullable=True))

    described = f", description = {search_index.in_record(dialect)('cases')}"
    rewrite.replace_column(
        "cases",
        "data",
        "BLOB" if dialect == "sqlite" else "bytea",
        rewrite.to_packed(_RECORD),
        required=True,
        also=described,
    )
    search_index.create_triggers(search_index.in_column)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    search_index.drop_triggers()
    declared = "JSON" if dialect == "sqlite" else "jsonb"
    rewrite.replace_column("cases", "data", declared, rewrite.to_plain(_RECORD), required=True)
    op.drop_column("cases", "description")
    search_index.create_triggers(search_index.in_record(dialect))
    search_index.refill(search_index.in_record(dialect))  # a description set as JSON text (not a string)
