"""shared subprocesses: each procedure version records the version of each procedure it calls

Revision ID: 0015
Revises: 0014

Existing versions are filled in by comparing the called process each bundles with the versions
deployed of it (the same spec, serialized the same way, is the same version).
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True)


def upgrade() -> None:
    op.add_column("procedure_version", sa.Column("calls", JSON_TYPE, nullable=False, server_default="{}"))
    versions = sa.table(
        "procedure_version",
        sa.column("id", sa.Integer),
        sa.column("process_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("spec", sa.JSON),
        sa.column("calls", JSON_TYPE),
    )
    bind = op.get_bind()
    rows = list(bind.execute(sa.select(versions.c.id, versions.c.process_id, versions.c.version, versions.c.spec)))
    own = {(_canonical(spec["spec"]), pid): number for _id, pid, number, spec in rows}
    deployed = {pid for _id, pid, _number, _spec in rows}
    for row_id, pid, _number, spec in rows:
        calls = {
            name: own[(_canonical(called), name)]
            for name, called in spec["subprocess_specs"].items()
            if name in deployed and name != pid and (_canonical(called), name) in own
        }
        if calls:
            bind.execute(versions.update().where(versions.c.id == row_id).values(calls=calls))


def downgrade() -> None:
    with op.batch_alter_table("procedure_version") as batch_op:
        batch_op.drop_column("calls")
