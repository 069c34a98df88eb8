"""schedule: the calendar of each timer start event, for the scheduler

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("start_event", sa.String(length=100), nullable=False),
        sa.Column("cycle", sa.String(length=200), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_id", "start_event"),
    )
    with op.batch_alter_table("schedule") as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_next_run_at"), ["next_run_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_next_run_at"))
    op.drop_table("schedule")
