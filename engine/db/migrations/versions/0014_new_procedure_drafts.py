"""new procedure drafts: a draft may exist before its procedure's first version (created in the editor)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedure_draft") as batch:
        batch.alter_column("base_version_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM procedure_draft WHERE base_version_id IS NULL")
    with op.batch_alter_table("procedure_draft") as batch:
        batch.alter_column("base_version_id", existing_type=sa.Integer(), nullable=False)
