"""keep the key order of diagrams, forms, specs and scenarios on PostgreSQL (json, not jsonb)

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = {
    "procedure_version": ("bpmn", "forms", "spec"),
    "procedure_draft": ("bpmn", "forms", "scenarios"),
    "procedure_scenarios": ("scenarios",),
}


def _retype(to: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps JSON as text, in the order written
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {to} USING {column}::text::{to}")


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
