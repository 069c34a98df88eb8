"""a citizen's e-mail as long as an address may be: 254 characters

Revision ID: 0036
Revises: 0035

``cases.citizen_email`` held 200 characters, while the capture forms and the intake's sender take
the 254 RFC 5321 allows: PostgreSQL refused the case of a longer valid address (SQLite does not
enforce a length). PostgreSQL widens a ``varchar`` in its catalogue, without rewriting the table;
SQLite declares a column's type once, so the column is made again beside the old one, filled, and
renamed (dropping the old one rewrites the table; ``VACUUM`` returns the room).
Either way the search index's triggers, which read the column, are dropped meanwhile.

Downgrade is refused while an address longer than 200 characters is stored: PostgreSQL would
refuse it, and cut it would no longer reach the citizen nor open the case's public status.
"""

import sqlalchemy as sa
from alembic import op

from engine.db.migrations import search_index

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def _email_column(length: int) -> None:
    search_index.drop_triggers()
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE cases ADD COLUMN citizen_email_new VARCHAR({length})")
        op.execute("UPDATE cases SET citizen_email_new = citizen_email")
        op.execute("ALTER TABLE cases DROP COLUMN citizen_email")
        op.execute("ALTER TABLE cases RENAME COLUMN citizen_email_new TO citizen_email")
    else:
        op.execute(f"ALTER TABLE cases ALTER COLUMN citizen_email TYPE varchar({length})")
    search_index.create_triggers(search_index.in_column)


def upgrade() -> None:
    _email_column(254)


def downgrade() -> None:
    longer = op.get_bind().execute(sa.text("SELECT count(*) FROM cases WHERE length(citizen_email) > 200")).scalar()
    if longer:
        raise RuntimeError(f"{longer} cases keep an e-mail longer than 200 characters: it would not fit")
    _email_column(200)
