"""open tasks mirror their case's procedure version and opening

Revision ID: 0019
Revises: 0018

The time per step counts the tasks waiting at each element of a procedure, and the indicators
count the enlaces' backlog by age: with the version and the opening on the task row (as the
dirección and the case type already are), neither joins the open tasks to their cases. The
heatmap's index becomes (element, version), which answers its count alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("procedure_version_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("opened_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE human_task SET "
        "procedure_version_id = (SELECT cases.procedure_version_id FROM cases WHERE cases.id = human_task.case_id), "
        "opened_at = (SELECT cases.opened_at FROM cases WHERE cases.id = human_task.case_id)"
    )
    op.drop_index("ix_human_task_bpmn", table_name="human_task")
    op.create_index("ix_human_task_bpmn", "human_task", ["bpmn_id", "procedure_version_id"])


def downgrade() -> None:
    op.drop_index("ix_human_task_bpmn", table_name="human_task")
    op.create_index("ix_human_task_bpmn", "human_task", ["bpmn_id", "case_id"])
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("opened_at")
        batch.drop_column("procedure_version_id")
