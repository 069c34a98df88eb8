"""a version of who may do what, for the signed-in people each web process keeps

Revision ID: 0022
Revises: 0021

A web process keeps the signed-in person (roles, dirección, session generation) instead of
reading them on every request. ``access_version`` is one row every change to a person counts up
in its own transaction; a process compares it with the version its people were read at, one read
by key per request, and reads a person again only when it moved.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    access_version = op.create_table(
        "access_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(access_version, [{"id": 1, "version": 1}])


def downgrade() -> None:
    op.drop_table("access_version")
