"""time spent per diagram element

Revision ID: 0018
Revises: 0017

``step_time`` counts the completions of each element of a procedure per month and duration
bucket (engine.indicators.steps); an index on the open tasks by element serves the heatmap's
waiting counts. The table is back-filled from the audit trail's completions once the schema is at
the heads (``engine.db.migrations.backfills``): the back-fill runs the current code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_time",
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("bpmn_id", sa.String(length=100), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("process_id", "bpmn_id", "month", "bucket"),
    )
    op.create_index("ix_human_task_bpmn", "human_task", ["bpmn_id", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_human_task_bpmn", table_name="human_task")
    op.drop_table("step_time")
