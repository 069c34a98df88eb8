"""documents rendered after commit: the step keeps a snapshot of the facts, the bytes come later

Revision ID: 0010
Revises: 0009
"""

import contextlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
RENDERED = {"size": sa.Integer(), "sha256": sa.String(length=64), "content": sa.LargeBinary()}


@contextlib.contextmanager
def _document_table_rebuilt():
    """Alter the document table; on SQLite, with the attachments that point at it set aside meanwhile.

    SQLite changes a column's NOT NULL by copying the table and dropping the old copy, and
    dropping a table that attachment rows point at fails (``PRAGMA foreign_keys=OFF`` is
    ignored inside the migration's transaction). The new copy keeps the ids, so the rows
    are put back as they were.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE outbox_attachment_aside AS SELECT * FROM outbox_attachment")
        op.execute("DELETE FROM outbox_attachment")
    with op.batch_alter_table("document") as batch_op:
        yield batch_op
    if sqlite:
        op.execute("INSERT INTO outbox_attachment SELECT * FROM outbox_attachment_aside")
        op.execute("DROP TABLE outbox_attachment_aside")


def upgrade() -> None:
    with _document_table_rebuilt() as batch_op:
        for column, type_ in RENDERED.items():
            batch_op.alter_column(column, existing_type=type_, nullable=True)
        batch_op.add_column(sa.Column("snapshot", JSON, nullable=True))
    pending = sa.text("content IS NULL")
    op.create_index("ix_document_pending", "document", ["id"], sqlite_where=pending, postgresql_where=pending)


def downgrade() -> None:
    """Back to bytes only; refused while documents wait to be rendered (their snapshot is all they have)."""
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM document WHERE content IS NULL")).scalar()
    if pending:
        raise RuntimeError(f"{pending} documents are not rendered yet: let the outbox worker render them first")
    op.drop_index("ix_document_pending", table_name="document")
    with _document_table_rebuilt() as batch_op:
        batch_op.drop_column("snapshot")
        for column, type_ in RENDERED.items():
            batch_op.alter_column(column, existing_type=type_, nullable=False)
