"""indexes whose columns begin another index of their table dropped

Revision ID: 0025
Revises: 0024

An index on (a) answers nothing that an index on (a, b, …) does not: the longer one's leftmost
column serves every question on ``a`` alone. Four such were left as wider indexes came
(0021: a case's events by kind, the cases by status and dirección or type; 0023: a person's own
tasks, the whole team's by dirección) and only cost every insert an entry and the disk its pages:
the audit trail's index by case (a dozen events a case, about 0.3 KB), the cases' by status, and
the open tasks' by assignee and by dirección. ``tests/integration/test_migrations.py`` keeps it so.
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

DROPPED = [  # (index, table, its column)
    ("ix_audit_event_case_id", "audit_event", "case_id"),
    ("ix_cases_status", "cases", "status"),
    ("ix_human_task_assignee", "human_task", "assignee"),
    ("ix_human_task_direccion", "human_task", "direccion"),
]


def upgrade() -> None:
    for name, table, _column in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in DROPPED:
        op.create_index(name, table, [column])
