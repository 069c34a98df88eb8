"""the audit events' details, the documents' facts and the mail's bodies stored packed

Revision ID: 0029
Revises: 0028

``engine.db.packing``: each value becomes a Zstandard frame with a fixed dictionary, about two
fifths of its text for a detail and a quarter for a body. Every stored value is converted here,
a batch of rows at a time; what the engine reads from them does not change, nor does the audit
chain (its hashes are of the details' content, not of how it is stored).

Both databases add a binary column, fill it, drop the old one and rename the new. SQLite adds
a NOT NULL column only with a default, so on SQLite ``detail`` and ``body`` keep an empty one in
the schema (every insert of the engine names them). The audit trail's append-only triggers are
set aside for the fill and put back as they were. The freed room stays in the file (SQLite) or
the table (PostgreSQL) for new rows until ``VACUUM``. Going back, text the columns before 0029
cannot hold (a lone surrogate, which a broken mail header may leave) is written with «?» in its
place.
"""

from alembic import op

from engine.db.migrations import append_only, rewrite
from engine.db.packing import Packed

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# (table, column, dictionary, holds JSON, NOT NULL)
_COLUMNS = (
    ("audit_event", "detail", "audit_detail", True, True),
    ("document", "snapshot", "document_snapshot", True, False),
    ("outbox_message", "body", "outbox_body", False, True),
)


def _each(convert) -> None:
    """Every column of ``_COLUMNS`` through ``convert(table, column, dictionary, holds JSON, NOT NULL)``,
    the audit trail's append-only triggers set aside meanwhile."""
    append_only.allow_changes("audit_event")
    for spec in _COLUMNS:
        convert(*spec)
    append_only.refuse_changes("audit_event")


def _packed(table: str, column: str, dictionary: str, holds_json: bool, required: bool) -> None:
    declared = "BLOB" if op.get_bind().dialect.name == "sqlite" else "bytea"
    rewrite.replace_column(
        table, column, declared, rewrite.to_packed(Packed(dictionary, holds_json)), required=required
    )


def _plain(table: str, column: str, dictionary: str, holds_json: bool, required: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    declared = ("JSON" if sqlite else "jsonb") if holds_json else ("TEXT" if sqlite else "text")
    rewrite.replace_column(table, column, declared, rewrite.to_plain(Packed(dictionary, holds_json)), required=required)


def upgrade() -> None:
    _each(_packed)


def downgrade() -> None:
    _each(_plain)
