"""procedure drafts and scenarios; audit events chained by hash (existing events hashed in place)

Revision ID: 0007
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from engine.audit import chain as audit_chain
from engine.db.models import UTCDateTime

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# Migration 0002's SQLite trigger, re-created after the backfill (SQLite cannot disable a trigger).
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)


def upgrade() -> None:
    op.create_table(
        "procedure_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=False),
        sa.Column("bpmn", JSON, nullable=False),
        sa.Column("forms", JSON, nullable=False),
        sa.Column("scenarios", JSON, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["base_version_id"], ["procedure_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_id"),
    )
    op.create_table(
        "procedure_scenarios",
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("scenarios", JSON, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    # Plain ADD COLUMN (not a batch copy), so SQLite keeps the append-only triggers of 0002.
    op.add_column("audit_event", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_event", sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_events()


def _chain_existing_events() -> None:
    """Hash the events written before this revision, in id order, so the chain starts at the first."""
    bind = op.get_bind()
    events = sa.table(
        "audit_event",
        sa.column("id", sa.Integer),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("kind", sa.String),
        sa.column("case_id", sa.Integer),
        sa.column("task_id", sa.String),
        sa.column("detail", JSON),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    rows = bind.execute(sa.select(events).order_by(events.c.id)).all()
    if not rows:
        return
    postgres = bind.dialect.name == "postgresql"
    op.execute(
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update"
        if postgres
        else "DROP TRIGGER audit_event_no_update"
    )
    previous = audit_chain.GENESIS
    for row in rows:
        current = audit_chain.digest(previous, row.at, row.actor, row.kind, row.case_id, row.task_id, row.detail)
        bind.execute(events.update().where(events.c.id == row.id).values(prev_hash=previous, hash=current))
        previous = current
    op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update" if postgres else SQLITE_NO_UPDATE)


def downgrade() -> None:
    op.drop_column("audit_event", "hash")
    op.drop_column("audit_event", "prev_hash")
    op.drop_table("procedure_scenarios")
    op.drop_table("procedure_draft")
