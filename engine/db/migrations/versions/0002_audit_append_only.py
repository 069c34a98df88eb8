"""audit_event is append-only: the database itself refuses UPDATE and DELETE

Revision ID: 0002
Revises: 0001
"""

from engine.db.migrations import append_only

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    append_only.refuse_changes("audit_event")


def downgrade() -> None:
    append_only.allow_changes("audit_event")
