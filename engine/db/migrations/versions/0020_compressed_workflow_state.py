"""workflow states stored compressed

Revision ID: 0020
Revises: 0019

A case's workflow state was its JSON as text, 28 KB a case on average and most of the
database (bench/storage.py). Its keys, task spec names and ids repeat in every task, so
Zstandard compresses it about sevenfold; ``cases.workflow`` becomes binary and every stored
state is compressed here, a batch of rows at a time, so that a large database needs no more
memory than a batch (``engine.bpm.state.serializer`` reads both forms, and writes the compressed one).

PostgreSQL changes the column's type in place (one rewrite of the table) and then updates the
rows; the space of their old versions is reused by new rows after VACUUM, and handed back to
the system only by ``VACUUM FULL cases``. SQLite cannot change a column's type, and rebuilding
the table is refused while other tables' rows point at it (foreign keys are on in every
transaction), so it adds the binary column (with an empty default: SQLite adds no NOT NULL
column without one; every insert names the column), fills it, drops the text one and renames.
"""

import sqlalchemy as sa
import zstandard
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_BATCH = 500  # rows read, converted and written at a time: a few MB of states
_COMPRESSOR = zstandard.ZstdCompressor(level=1)  # at engine.bpm.state.serializer's level
_DECOMPRESSOR = zstandard.ZstdDecompressor()


def _convert(source: str, target: str, change) -> None:
    """Write ``change(value of source)`` into ``target`` for every case, in batches by id."""
    bind = op.get_bind()
    read = sa.text(f"SELECT id, {source} FROM cases WHERE id > :after ORDER BY id LIMIT {_BATCH}")
    write = sa.text(f"UPDATE cases SET {target} = :value WHERE id = :id")
    after = 0
    while True:
        rows = bind.execute(read, {"after": after}).all()
        if not rows:
            return
        bind.execute(write, [{"id": case_id, "value": change(value)} for case_id, value in rows])
        after = rows[-1][0]


def _compress(value) -> bytes:
    text = value if isinstance(value, bytes) else value.encode()
    if text.startswith(b"\x28\xb5\x2f\xfd"):  # already a Zstandard frame
        return text
    return _COMPRESSOR.compress(text) if text else b""


def _decompress(value) -> str:
    packed = bytes(value)
    return _DECOMPRESSOR.decompress(packed).decode() if packed else ""


def _replace_column(kind: str, empty: str, change) -> None:
    """SQLite: ``cases.workflow`` becomes a column of type ``kind`` holding ``change(old value)``."""
    op.execute(f"ALTER TABLE cases ADD COLUMN workflow_new {kind} NOT NULL DEFAULT {empty}")
    _convert("workflow", "workflow_new", change)
    op.execute("ALTER TABLE cases DROP COLUMN workflow")
    op.execute("ALTER TABLE cases RENAME COLUMN workflow_new TO workflow")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_column("BLOB", "x''", _compress)
        return
    op.execute("ALTER TABLE cases ALTER COLUMN workflow TYPE bytea USING convert_to(workflow, 'UTF8')")
    _convert("workflow", "workflow", _compress)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_column("TEXT", "''", _decompress)
        return
    _convert("workflow", "workflow", lambda value: _decompress(value).encode())
    op.execute("ALTER TABLE cases ALTER COLUMN workflow TYPE text USING convert_from(workflow, 'UTF8')")
