"""channels: mailbox intake, rate limits, links between cases, Open311 keys and requests

Revision ID: 0006
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "intake_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("sender_email", sa.String(length=254), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("ticket_mentioned", sa.String(length=32), nullable=True),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("handled_by", sa.String(length=100), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("discard_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("intake_item") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_item_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_item_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_item_status"), ["status"], unique=False)

    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("sender_email", sa.String(length=254), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("intake_item_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["intake_item_id"], ["intake_item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )

    op.create_table(
        "rate_limit_window",
        sa.Column("bucket", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key", "window_start"),
    )

    op.create_table(
        "case_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("other_case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["other_case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "other_case_id"),
    )
    with op.batch_alter_table("case_link") as batch_op:
        batch_op.create_index(batch_op.f("ix_case_link_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_link_other_case_id"), ["other_case_id"], unique=False)

    op.create_table(
        "open311_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )

    op.create_table(
        "open311_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("address_string", sa.String(length=300), nullable=True),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["key_id"], ["open311_key.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("open311_request") as batch_op:
        batch_op.create_index(batch_op.f("ix_open311_request_key_id"), ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("open311_request") as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_request_key_id"))
    op.drop_table("open311_request")
    op.drop_table("open311_key")
    with op.batch_alter_table("case_link") as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_link_other_case_id"))
        batch_op.drop_index(batch_op.f("ix_case_link_case_id"))
    op.drop_table("case_link")
    op.drop_table("rate_limit_window")
    op.drop_table("inbound_mail")
    with op.batch_alter_table("intake_item") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_item_status"))
        batch_op.drop_index(batch_op.f("ix_intake_item_received_at"))
        batch_op.drop_index(batch_op.f("ix_intake_item_case_id"))
    op.drop_table("intake_item")
