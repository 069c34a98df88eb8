"""the calendar's questions answered by index: follow-ups by dirección, sugerencias, a case's events by kind

Revision ID: 0021
Revises: 0020

A calendar run must cost what it starts, not what the database holds. Its selectors and the
consolidado ask for the open cases of a status by dirección (which direcciones owe a follow-up,
and each one's cases), for the sugerencias waiting for a meeting, and for the follow-up reports
among the events of those cases. Without these indexes each answer read every case of the
dirección, every case in a status, or every completed task of the audit trail, closed work
included.
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_status_direccion", "cases", ["status", "direccion", "opened_at"])
    op.create_index("ix_cases_status_type", "cases", ["status", "case_type", "procedure_version_id"])
    op.create_index("ix_audit_event_case_kind", "audit_event", ["case_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_case_kind", table_name="audit_event")
    op.drop_index("ix_cases_status_type", table_name="cases")
    op.drop_index("ix_cases_status_direccion", table_name="cases")
