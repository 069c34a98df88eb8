"""the business calendar and the citizen's survey

Revision ID: 0017
Revises: 0016

The calendar is seeded with the days off the law gives (the ``holidays`` package's national
holidays of Panamá and the district's 15 August, as ``engine.calendar`` computed them until now)
for the years around the day the migration runs: three back, for the indicators of closed cases,
and three ahead, for the terms of new ones. The district's days are written here, not imported:
a migration keeps meaning what it meant the day it was written.
"""

from datetime import UTC, date, datetime

import holidays
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

DISTRICT = ((8, 15, "Fundación de la Ciudad de Panamá"),)  # Ley 14 de 1995
YEARS_BACK, YEARS_AHEAD = 3, 3


def upgrade() -> None:
    day_off = op.create_table(
        "day_off",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("decree", sa.String(length=200), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    calendar_year = op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    calendar_version = op.create_table(
        "calendar_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "survey_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_invitation_case_id", "survey_invitation", ["case_id"], unique=False)
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("direccion", sa.String(length=100), nullable=True),
        sa.Column("case_type", sa.String(length=100), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_answer_month", "survey_answer", ["month", "direccion"], unique=False)
    op.create_table(
        "survey_tally",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("direccion", sa.String(length=100), nullable=False),
        sa.Column("case_type", sa.String(length=100), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("satisfaction_sum", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "direccion", "case_type"),
    )

    today, now = date.today(), datetime.now(UTC).replace(tzinfo=None)
    years = range(today.year - YEARS_BACK, today.year + YEARS_AHEAD + 1)
    rows = []
    for year in years:
        days = dict(holidays.country_holidays("PA", years=year, language="es"))
        for month, day, name in DISTRICT:
            days.setdefault(date(year, month, day), name)
        rows += [
            {"day": d, "name": str(n)[:200], "kind": "ley", "decree": None, "added_by": "sistema", "added_at": now}
            for d, n in sorted(days.items())
        ]
    op.bulk_insert(day_off, rows)
    op.bulk_insert(calendar_year, [{"year": year} for year in years])
    op.bulk_insert(calendar_version, [{"id": 1, "version": 1}])


def downgrade() -> None:
    op.drop_table("survey_tally")
    op.drop_index("ix_survey_answer_month", table_name="survey_answer")
    op.drop_table("survey_answer")
    op.drop_index("ix_survey_invitation_case_id", table_name="survey_invitation")
    op.drop_table("survey_invitation")
    op.drop_table("calendar_version")
    op.drop_table("calendar_year")
    op.drop_table("day_off")
