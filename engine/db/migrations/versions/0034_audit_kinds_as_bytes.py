"""the audit events' kinds stored as one byte

Revision ID: 0034
Revises: 0033

``engine.db.models.EventKind``: an event's kind, a word such as ``tarea_completada`` (16 bytes on
average), held in its row and in the two indexes by kind, is stored as the one byte
``engine.db.event_kinds`` numbers it by; a kind without a number, as a marker byte and its text.
The engine reads and compares kinds as text, as before; the audit chain hashes the text.

Both databases: the indexes by kind go, the column is converted a batch at a time
(``engine.db.migrations.rewrite``), the audit trail's append-only triggers set aside meanwhile, and
the indexes come back.
"""

from alembic import op

from engine.db import event_kinds
from engine.db.migrations import append_only, rewrite

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_TABLE = "audit_event"
_INDEXES = {"ix_audit_event_kind": "kind", "ix_audit_event_case_kind": "case_id, kind"}


def _convert(declared: str, change) -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name=_TABLE)
    append_only.allow_changes(_TABLE)
    rewrite.replace_column(_TABLE, "kind", declared, change, required=True)
    append_only.refuse_changes(_TABLE)
    for name, columns in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {_TABLE} ({columns})")


def upgrade() -> None:
    binary = "BLOB" if op.get_bind().dialect.name == "sqlite" else "bytea"
    _convert(binary, event_kinds.stored)


def downgrade() -> None:
    _convert("VARCHAR(50)", lambda stored: event_kinds.read(bytes(stored)))
