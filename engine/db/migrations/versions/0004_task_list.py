"""task list: drafts, internal notes, attachments, bandeja indexes, full-text search of cases

Revision ID: 0004
Revises: 0002

The search index lives outside the models (engine.cases.finding.search.include_name hides it from the
models/migrations comparison): on SQLite an FTS5 table, on PostgreSQL a table of tsvector
documents with a GIN index, both kept by triggers on cases. Both fold case and accents, so
«perez» finds «Pérez».
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WORKLIST_FILTERS = ["assignee", "direccion", "case_type", "channel", "corregimiento"]


def _fts_values(row: str) -> str:
    """The four FTS columns of a case row (``new`` or ``old``); delete must repeat insert exactly."""
    return (
        f"{row}.id, {row}.ticket, coalesce({row}.citizen_cedula, ''), coalesce({row}.citizen_name, ''), "
        f"coalesce({row}.subject, '') || ' ' || coalesce({row}.citizen_email, '') || ' ' || "
        f"coalesce(json_extract({row}.data, '$.descripcion'), '')"
    )


_FTS_CHANGED = (
    " OR ".join(
        f"old.{c} IS NOT new.{c}" for c in ("ticket", "citizen_cedula", "citizen_name", "subject", "citizen_email")
    )
    + " OR json_extract(old.data, '$.descripcion') IS NOT json_extract(new.data, '$.descripcion')"
)

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE case_fts USING fts5(ticket, cedula, nombre, texto, content='', "
    "tokenize='unicode61 remove_diacritics 2')",
    f"INSERT INTO case_fts(rowid, ticket, cedula, nombre, texto) SELECT {_fts_values('cases')} FROM cases",
    f"CREATE TRIGGER case_fts_insert AFTER INSERT ON cases BEGIN "
    f"INSERT INTO case_fts(rowid, ticket, cedula, nombre, texto) VALUES ({_fts_values('new')}); END",
    f"CREATE TRIGGER case_fts_update AFTER UPDATE ON cases WHEN {_FTS_CHANGED} BEGIN "
    f"INSERT INTO case_fts(case_fts, rowid, ticket, cedula, nombre, texto) VALUES ('delete', {_fts_values('old')}); "
    f"INSERT INTO case_fts(rowid, ticket, cedula, nombre, texto) VALUES ({_fts_values('new')}); END",
    f"CREATE TRIGGER case_fts_delete AFTER DELETE ON cases BEGIN "
    f"INSERT INTO case_fts(case_fts, rowid, ticket, cedula, nombre, texto) "
    f"VALUES ('delete', {_fts_values('old')}); END",
]


def _pg_document(row: str) -> str:
    """The text search document of a case row on PostgreSQL: accents folded, and - . @ _ / splitting
    words as SQLite's unicode61 tokenizer does (PostgreSQL's parser keeps «-000002» or an e-mail whole)."""
    text = " || ' ' || ".join(
        f"coalesce({row}.{c}, '')" for c in ("ticket", "citizen_cedula", "citizen_name", "subject", "citizen_email")
    )
    # strip(): no word positions (nothing ranks or matches phrases), a third fewer pages to read.
    return (
        f"strip(to_tsvector('simple'::regconfig, translate(lower({text} || ' ' || "
        f"coalesce({row}.data ->> 'descripcion', '')), 'áàâäéèêëíìîïóòôöúùûüñç-.@_/', 'aaaaeeeeiiiioooouuuunc     ')))"
    )


_PG_CHANGED = (
    " OR ".join(
        f"OLD.{c} IS DISTINCT FROM NEW.{c}"
        for c in ("ticket", "citizen_cedula", "citizen_name", "subject", "citizen_email")
    )
    + " OR OLD.data ->> 'descripcion' IS DISTINCT FROM NEW.data ->> 'descripcion'"
)

# A narrow table of documents rather than an expression index on cases: the index finds the
# matches, and reading a match's row (to order and page) touches a small row, not a case.
POSTGRES_SEARCH = [
    "CREATE TABLE case_fts (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX case_fts_document ON case_fts USING gin (document)",
    f"INSERT INTO case_fts (case_id, document) SELECT id, {_pg_document('cases')} FROM cases",
    f"""CREATE FUNCTION case_fts_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO case_fts (case_id, document) VALUES (NEW.id, {_pg_document("NEW")})
          ON CONFLICT (case_id) DO UPDATE SET document = EXCLUDED.document;
          RETURN NULL;
        END $$""",
    "CREATE TRIGGER case_fts_insert AFTER INSERT ON cases FOR EACH ROW EXECUTE FUNCTION case_fts_refresh()",
    f"CREATE TRIGGER case_fts_update AFTER UPDATE ON cases FOR EACH ROW WHEN ({_PG_CHANGED}) "
    "EXECUTE FUNCTION case_fts_refresh()",
]


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
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER case_fts_{trigger}")
        op.execute("DROP TABLE case_fts")
    else:
        for trigger in ("insert", "update"):
            op.execute(f"DROP TRIGGER case_fts_{trigger} ON cases")
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
