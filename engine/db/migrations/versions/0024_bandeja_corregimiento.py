"""indexes for the bandeja filtered by corregimiento and for the possible duplicates at a million cases

Revision ID: 0024
Revises: 0023

A corregimiento holds a twentieth of a desk, and with a channel besides a hundredth: too few tasks
for the capped counts to stop early, so counting them walked the whole lane (a couple of hundred
thousand index entries at a million cases) to find a couple of thousand. As 0023 does for the
columns the bandeja sorts by, each index here starts with the lane (a person's bandeja) or not
(the whole team's), then the corregimiento, the due date and the id, and holds the other columns
the filters read, so the counts and the page read only that corregimiento's entries.

The possible duplicates of a case are the open cases of its corregimiento and case type opened
within 90 days of it (``engine.cases.finding.duplicates``). 0023's index holds the closed ones too, and
PostgreSQL reads a case's row to see its status: some four thousand rows for a case page, for
none or a few open ones. ``ix_cases_duplicates_open`` holds the open cases alone and replaces it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

COVERED = ["assignee", "direccion", "case_type", "channel"]  # the other filters, as 0004 and 0023 cover them
OPEN = sa.text("status <> 'cerrado'")
DUPLICATES = ["corregimiento", "case_type", "opened_at"]


def upgrade() -> None:
    op.create_index(
        "ix_human_task_lane_corregimiento", "human_task", ["lane", "corregimiento", "due_at", "id", *COVERED]
    )
    op.create_index(
        "ix_human_task_corregimiento_due", "human_task", ["corregimiento", "due_at", "id", "lane", *COVERED]
    )
    op.create_index("ix_cases_duplicates_open", "cases", DUPLICATES, sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index("ix_cases_duplicates", table_name="cases")
    # Statistics for the new indexes, or SQLite does not know they are narrower than the lane's.
    op.execute("ANALYZE human_task")


def downgrade() -> None:
    op.create_index("ix_cases_duplicates", "cases", [*DUPLICATES, "status"])
    op.drop_index("ix_cases_duplicates_open", table_name="cases")
    op.drop_index("ix_human_task_corregimiento_due", table_name="human_task")
    op.drop_index("ix_human_task_lane_corregimiento", table_name="human_task")
