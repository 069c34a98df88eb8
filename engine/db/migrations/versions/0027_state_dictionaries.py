"""Zstandard dictionaries for the stored workflow states

Revision ID: 0027
Revises: 0026

``state_dictionary`` keeps the dictionaries ``engine.bpm.state.compaction`` trains; a state's frame
names the one it was written with. Like the audit trail, the table refuses UPDATE and DELETE:
without its dictionary a state cannot be read. The downgrade first rewrites every state
written with a dictionary as a plain frame, a batch of cases at a time, then drops the table.
"""

import sqlalchemy as sa
import zstandard
from alembic import op

from engine.db.migrations import append_only

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_BATCH = 500
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def upgrade() -> None:
    op.create_table(
        "state_dictionary",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("trained_at", sa.DateTime(), nullable=False),
        sa.Column("states", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    append_only.refuse_changes("state_dictionary")


def _plain_frames() -> None:
    """Every state written with a dictionary, written again as a frame without one."""
    bind = op.get_bind()
    dictionaries = {
        dictionary_id: zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(bytes(content)))
        for dictionary_id, content in bind.execute(sa.text("SELECT id, content FROM state_dictionary"))
    }
    if not dictionaries:
        return
    compressor = zstandard.ZstdCompressor(level=1)
    read = sa.text(f"SELECT id, workflow FROM cases WHERE id > :after ORDER BY id LIMIT {_BATCH}")
    write = sa.text("UPDATE cases SET workflow = :workflow WHERE id = :id")
    after = 0
    while rows := bind.execute(read, {"after": after}).all():
        rewritten = []
        for case_id, stored in rows:
            frame = bytes(stored)
            named = zstandard.get_frame_parameters(frame).dict_id if frame.startswith(_ZSTD_MAGIC) else 0
            if named:
                plain = compressor.compress(dictionaries[named].decompress(frame))
                rewritten.append({"id": case_id, "workflow": plain})
        if rewritten:
            bind.execute(write, rewritten)
        after = rows[-1][0]


def downgrade() -> None:
    _plain_frames()
    append_only.allow_changes("state_dictionary")
    op.drop_table("state_dictionary")
