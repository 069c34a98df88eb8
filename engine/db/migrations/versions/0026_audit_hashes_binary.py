"""the audit chain's hashes stored as their 32 bytes

Revision ID: 0026
Revises: 0025

Each audit event kept its hash and its predecessor's as 64 hexadecimal characters: 128 bytes
of a row of about 390, on each of a case's 19 or so events. Stored as bytes they take half
(``engine.db.models.Sha256`` still gives the engine their hexadecimal digits, so the chain,
its seals and what auditors read do not change). Every stored hash is converted here.

PostgreSQL changes both columns' type in place, converting as it rewrites the table (an
ALTER, which the append-only triggers do not see). SQLite cannot change a column's type, so
it adds binary columns, fills them a batch of rows at a time, drops the text ones and
renames; the append-only triggers are set aside for the fill and put back as they were. On
SQLite the freed pages stay in the file for new rows until ``VACUUM`` hands them back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_COLUMNS = ("prev_hash", "hash")
_BATCH = 5000  # events read, converted and written at a time


def _to_bytes(value):
    return bytes.fromhex(value) if value is not None else None


def _to_text(value):
    return bytes(value).hex() if value is not None else None


def _replace_columns(kind: str, change) -> None:
    """SQLite: both hash columns become columns of type ``kind`` holding ``change(old value)``."""
    bind = op.get_bind()
    triggers = bind.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")
    ).all()
    for name, _sql in triggers:
        op.execute(f"DROP TRIGGER {name}")
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE audit_event ADD COLUMN {column}_new {kind}")
    read = sa.text(f"SELECT id, prev_hash, hash FROM audit_event WHERE id > :after ORDER BY id LIMIT {_BATCH}")
    write = sa.text("UPDATE audit_event SET prev_hash_new = :prev, hash_new = :hash WHERE id = :id")
    after = 0
    while rows := bind.execute(read, {"after": after}).all():
        bind.execute(write, [{"id": id_, "prev": change(prev), "hash": change(hash_)} for id_, prev, hash_ in rows])
        after = rows[-1][0]
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE audit_event DROP COLUMN {column}")
        op.execute(f"ALTER TABLE audit_event RENAME COLUMN {column}_new TO {column}")
    for _name, sql in triggers:
        op.execute(sql)


def _change_type(sqlite_type: str, change, postgresql_type: str, conversion: str) -> None:
    """Both hash columns to a new type: on SQLite rebuilt with ``change``; on PostgreSQL ``conversion(column)``."""
    if op.get_bind().dialect.name == "sqlite":
        _replace_columns(sqlite_type, change)
        return
    op.execute(
        "ALTER TABLE audit_event "
        + ", ".join(f"ALTER COLUMN {c} TYPE {postgresql_type} USING {conversion}({c}, 'hex')" for c in _COLUMNS)
    )


def upgrade() -> None:
    _change_type("BLOB", _to_bytes, "bytea", "decode")


def downgrade() -> None:
    _change_type("VARCHAR(64)", _to_text, "varchar(64)", "encode")
