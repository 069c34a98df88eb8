"""the audit events' task ids stored as a UUID's 16 bytes, not 36 characters of text

Revision ID: 0032
Revises: 0031

``engine.db.models.TaskId``: about two events in five name the task they completed or assigned,
each by a SpiffWorkflow task id, a UUID. Held as its 16 bytes, in the row and in the index by
task, instead of its text; any other text (written by hand) is kept behind a marker byte, as
written. The audit chain is unchanged: it hashes the id's text, which reads back the same.

Both databases: the index by task goes, the column is converted a batch at a time
(``engine.db.migrations.rewrite``), the audit trail's append-only triggers set aside meanwhile,
and the index comes back holding only the events that name a task, as 0028 made it.
"""

from alembic import op

from engine.db.migrations import append_only, rewrite
from engine.db.models import TaskId

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

_INDEX, _TABLE, _COLUMN = "ix_audit_event_task_id", "audit_event", "task_id"
_TASK_ID = TaskId()


def _convert(declared: str, change) -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
    append_only.allow_changes(_TABLE)
    rewrite.replace_column(_TABLE, _COLUMN, declared, change, required=False)
    append_only.refuse_changes(_TABLE)
    op.execute(f"CREATE INDEX {_INDEX} ON {_TABLE} ({_COLUMN}) WHERE {_COLUMN} IS NOT NULL")


def upgrade() -> None:
    binary = "BLOB" if op.get_bind().dialect.name == "sqlite" else "bytea"
    _convert(binary, lambda text: _TASK_ID.process_bind_param(text, None))


def downgrade() -> None:
    _convert("VARCHAR(36)", lambda stored: _TASK_ID.process_result_value(stored, None))
