"""the audit events' previous hash not stored: the event before holds it

Revision ID: 0033
Revises: 0032

``engine.audit.chain``: each event's hash covers its content and the hash it is chained to, that
of the newest hashed event before it (ids follow chain order). Every event also stored that hash,
32 bytes of each of a case's 15 or so events, though the event before already holds it. The chain
is checked against the event before, as it was; the log's CSV export still shows each event's
previous hash (``engine.audit.chain.previous_hash``).

Upgrade: the column is dropped, the append-only triggers set aside meanwhile (SQLite rewrites the
table; PostgreSQL only marks the column dropped, and its rows give the room back when rewritten).
Downgrade: the column comes back holding what the chain had written there: for each hashed event,
the hash of the newest hashed event before it, or the genesis for the first; nothing for an event
with no hash.
"""

import sqlalchemy as sa
from alembic import op

from engine.db.migrations import append_only

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_TABLE = "audit_event"


def upgrade() -> None:
    append_only.allow_changes(_TABLE)
    op.drop_column(_TABLE, "prev_hash")
    append_only.refuse_changes(_TABLE)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(_TABLE, sa.Column("prev_hash", sa.LargeBinary(), nullable=True))
    genesis = "zeroblob(32)" if sqlite else "decode(repeat('00', 32), 'hex')"  # engine.audit.chain.GENESIS
    append_only.allow_changes(_TABLE)
    op.execute(
        f"UPDATE {_TABLE} SET prev_hash = COALESCE(("
        f"SELECT earlier.hash FROM {_TABLE} AS earlier WHERE earlier.id < {_TABLE}.id AND earlier.hash IS NOT NULL "
        f"ORDER BY earlier.id DESC LIMIT 1), {genesis}) WHERE hash IS NOT NULL"
    )
    append_only.refuse_changes(_TABLE)
