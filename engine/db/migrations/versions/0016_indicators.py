"""indicator roll-ups kept as cases move

Revision ID: 0016
Revises: 0015

Creates the roll-ups of engine.indicators.rollup and fills them from the cases already there,
so that an office upgrading sees right figures from its first page.
"""

import sqlalchemy as sa
from alembic import op

from engine.db.models import ANSWER_DAYS
from engine.indicators import rollup

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _dimensions() -> list[sa.Column]:
    return [
        sa.Column("direccion", sa.String(length=100), nullable=False),
        sa.Column("case_type", sa.String(length=50), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("corregimiento", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "indicator_case",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("direccion", sa.String(length=100), nullable=False),
        sa.Column("case_type", sa.String(length=50), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("corregimiento", sa.String(length=100), nullable=False),
        sa.Column("opened_day", sa.Date(), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=True),
        sa.Column("closed_day", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("opened_month", sa.Date(), nullable=False),
        sa.Column("closed_month", sa.Date(), nullable=True),
        sa.Column("answer_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_indicator_case_closed", "indicator_case", ["outcome", "closed_day", "case_id"])
    op.create_index("ix_indicator_case_opened", "indicator_case", ["opened_day", "case_id"])
    op.create_index("ix_indicator_case_outcome_id", "indicator_case", ["outcome", "case_id"])
    op.create_table(
        "indicator_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *_dimensions(),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        *(sa.Column(f"a{days}", sa.Integer(), nullable=False) for days in range(ANSWER_DAYS + 1)),
        sa.Column("a_mas", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "grain",
            "day",
            "direccion",
            "case_type",
            "channel",
            "corregimiento",
            "process_id",
            name="uq_indicator_count_key",
        ),
    )
    op.create_index("ix_indicator_count_direccion", "indicator_count", ["grain", "direccion", "day"])
    op.create_table(
        "indicator_open",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("opened_day", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        *_dimensions(),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "grain",
            "opened_day",
            "due_day",
            "direccion",
            "case_type",
            "channel",
            "corregimiento",
            "process_id",
            name="uq_indicator_open_key",
        ),
    )
    rollup.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("indicator_open")
    op.drop_index("ix_indicator_count_direccion", table_name="indicator_count")
    op.drop_table("indicator_count")
    op.drop_index("ix_indicator_case_outcome_id", table_name="indicator_case")
    op.drop_index("ix_indicator_case_opened", table_name="indicator_case")
    op.drop_index("ix_indicator_case_closed", table_name="indicator_case")
    op.drop_table("indicator_case")
