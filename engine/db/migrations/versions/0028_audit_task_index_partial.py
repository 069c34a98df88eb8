"""the audit trail's index by task keeps only the events that name one

Revision ID: 0028
Revises: 0027

A task's completion is looked up by the task's id (``engine.audit.trail.completion_of``), so the
audit trail keeps an index on ``task_id``. About three events in five name no task (a case
opened, a status changed, a timer fired, mail queued), and both databases keep a row with a NULL
key in an index like any other. The index now holds the rows with a task only (``WHERE task_id IS
NOT NULL``); a lookup by a task's id uses it still, as both planners know that ``task_id = …`` is
never true of a NULL. ``bench/storage.py`` at 20,000 cases: 74 bytes a case less on SQLite
(19,330 → 19,256), 110 on PostgreSQL (21,113 → 21,003). Rebuilding it reads the whole table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

NAME, TABLE, COLUMN = "ix_audit_event_task_id", "audit_event", "task_id"
WITH_TASK = sa.text("task_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, [COLUMN], sqlite_where=WITH_TASK, postgresql_where=WITH_TASK)


def downgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, [COLUMN])
