"""task list: drafts, internal notes, attachments, bandeja indexes, full-text search of cases

Revision ID: 0004
Revises: 0002

The search index lives outside the models (engine.cases.finding.search.include_name hides it from the
models/migrations comparison): on SQLite an FTS5 table, on PostgreSQL a table of tsvector
documents with a GIN index, both kept by triggers on cases (engine.db.migrations.search_index).
Both fold case and accents, so «perez» finds «Pérez».
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from engine.db.migrations import search_index

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WORKLIST_FILTERS = ["assignee", "direccion", "case_type", "channel", "corregimiento"]


_SQLITE, _POSTGRESQL = search_index.in_record("sqlite"), search_index.in_record("postgresql")
SQLITE_SEARCH = search_index.sqlite_table(_SQLITE) + search_index.sqlite_triggers(_SQLITE)
POSTGRES_SEARCH = search_index.pg_table(_POSTGRESQL) + search_index.pg_triggers(_POSTGRESQL)


def upgrade() -> None:
    op.create_table(
        "task_draft",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("form_values", JSON, nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_task.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "author"),
    )
    op.create_table(
        "case_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_note_case_id", "case_note", ["case_id"])
    op.create_table(
        "stored_file",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["sha256"], ["stored_file.sha256"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachment_sha256", "attachment", ["sha256"])
    op.create_index("ix_attachment_unclaimed", "attachment", ["case_id", "uploaded_at"])
    # The bandeja: the case's filter columns mirrored on its tasks, and covering indexes.
    op.add_column("human_task", sa.Column("case_type", sa.String(length=50), nullable=True))
    op.add_column("human_task", sa.Column("channel", sa.String(length=50), nullable=True))
    op.add_column("human_task", sa.Column("corregimiento", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE human_task SET "
        + ", ".join(
            f"{column} = (SELECT cases.{column} FROM cases WHERE cases.id = human_task.case_id)"
            for column in ("case_type", "channel", "corregimiento")
        )
    )
    op.drop_index("ix_human_task_lane_due", table_name="human_task")
    op.create_index("ix_human_task_worklist", "human_task", ["lane", "due_at", "id", *WORKLIST_FILTERS])
    op.create_index("ix_human_task_due", "human_task", ["due_at", "id", "lane", *WORKLIST_FILTERS])
    for statement in SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    search_index.drop_triggers()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION case_fts_refresh()")
    op.execute("DROP TABLE case_fts")
    op.drop_index("ix_human_task_due", table_name="human_task")
    op.drop_index("ix_human_task_worklist", table_name="human_task")
    op.create_index("ix_human_task_lane_due", "human_task", ["lane", "due_at"])
    for column in ("corregimiento", "channel", "case_type"):
        with op.batch_alter_table("human_task") as batch:
            batch.drop_column(column)
    op.drop_table("attachment")
    op.drop_table("stored_file")
    op.drop_table("case_note")
    op.drop_table("task_draft")
