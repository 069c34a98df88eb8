"""incidents: steps that failed at run time, rolled back and recorded (engine.cases.incidents)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("open_key", sa.String(length=250), nullable=True, unique=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("procedure_version_id", sa.Integer(), sa.ForeignKey("procedure_version.id"), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("element_id", sa.String(length=100), nullable=False),
        sa.Column("element_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_incident_state", "incident", ["state"])
    op.create_index("ix_incident_case_id", "incident", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_case_id", table_name="incident")
    op.drop_index("ix_incident_state", table_name="incident")
    op.drop_table("incident")
