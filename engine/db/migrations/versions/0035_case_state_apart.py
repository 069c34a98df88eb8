"""the cases' workflow states in a table of their own

Revision ID: 0035
Revises: 0034

``engine.db.models.CaseState``: a case's compressed workflow state (1–3 KB) was a column of its
row. SQLite keeps a row whole on one page when it fits, so a case row of 2–3 KB took a 4 KB
page alone and left the rest empty: a third of the ``cases`` table. Apart, states share their
pages, and so do the case rows (``bench/storage.py``: 0.66 KB a case less). PostgreSQL's TOAST
already kept the larger states apart: there the new table's rows and key cost 86 bytes a case.

Upgrade: ``case_state`` is made and filled from ``cases.workflow``, which is dropped (SQLite
rewrites the table; PostgreSQL only marks the column dropped, and ``VACUUM FULL cases`` gives the
room back). Downgrade: the column comes back holding each case's state, and the table goes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_state",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), primary_key=True, autoincrement=False),
        sa.Column("workflow", sa.LargeBinary(), nullable=False),
    )
    op.execute("INSERT INTO case_state (case_id, workflow) SELECT id, workflow FROM cases ORDER BY id")
    op.drop_column("cases", "workflow")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite adds a NOT NULL column only with a default (engine.db.migrations.rewrite)
    declared = "BLOB NOT NULL DEFAULT x''" if sqlite else "bytea"
    op.execute(f"ALTER TABLE cases ADD COLUMN workflow {declared}")
    empty = "x''" if sqlite else "''::bytea"  # a case with no state: none of the engine's (each step writes one)
    op.execute(
        "UPDATE cases SET workflow = "
        f"COALESCE((SELECT workflow FROM case_state WHERE case_state.case_id = cases.id), {empty})"
    )
    if not sqlite:
        op.execute("ALTER TABLE cases ALTER COLUMN workflow SET NOT NULL")
    op.drop_table("case_state")
