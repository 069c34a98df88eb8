"""SQLite: every time stored as microseconds since 1970, an integer, not 26 characters of text

Revision ID: 0030
Revises: 0029

``engine.db.models.UTCDateTime``: on SQLite a time was SQLAlchemy's text
(``2026-12-06 22:03:42.123456``), now it is an 8-byte integer, in the rows and in the indexes on
those columns. The columns stay declared DATETIME. Each column is converted by one UPDATE of its
text values, the audit trail's and the states' dictionaries' append-only triggers set aside
meanwhile; an index on the column is dropped first and built again after (one sort instead of
moving every entry). The room freed stays in the file for new rows until ``VACUUM``.

PostgreSQL keeps its ``timestamp`` columns (already 8 bytes): nothing changes there.
"""

from alembic import op

from engine.db.migrations import append_only

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# Every UTCDateTime column of the schema at this revision.
_COLUMNS = {
    "attachment": ("uploaded_at",),
    "audit_event": ("at",),
    "audit_seal": ("sealed_at",),
    "case_link": ("created_at",),
    "case_note": ("written_at",),
    "cases": ("opened_at", "due_at", "closed_at", "timer_due_at"),
    "day_off": ("added_at",),
    "document": ("created_at",),
    "human_task": ("created_at", "due_at", "opened_at"),
    "inbound_mail": ("taken_at",),
    "incident": ("first_seen_at", "last_seen_at", "resolved_at"),
    "intake_item": ("received_at", "handled_at"),
    "open311_key": ("created_at", "revoked_at"),
    "open311_request": ("created_at",),
    "outbox_message": ("created_at", "next_attempt_at", "claimed_at", "handed_over_at", "sent_at"),
    "procedure_draft": ("updated_at",),
    "procedure_scenarios": ("updated_at",),
    "procedure_version": ("deployed_at",),
    "rate_limit_window": ("window_start",),
    "schedule": ("next_run_at", "last_run_at"),
    "state_dictionary": ("trained_at",),
    "survey_invitation": ("created_at", "expires_at"),
    "task_draft": ("saved_at",),
}
_APPEND_ONLY = ("audit_event", "state_dictionary")


def _to_integer(column: str) -> str:
    """SQLAlchemy's text (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC) as microseconds since 1970."""
    return (
        f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 "
        f"+ CAST(substr({column} || '000000', 21, 6) AS INTEGER)"
    )


def _unreadable(table: str, column: str) -> None:
    """Refuse (and so roll back) a conversion that left text SQLite's ``strftime`` cannot read: one
    written by hand in another form. Such a value, left as text, would sort after every integer."""
    found = op.get_bind().exec_driver_sql(f"SELECT {column} FROM {table} WHERE typeof({column}) = 'text' LIMIT 1")
    left = found.scalar()
    if left is not None:
        raise RuntimeError(f"{table}.{column}: «{left}» no es una fecha y hora que esta migración sepa leer")


def _to_text(column: str) -> str:
    """Microseconds since 1970 as SQLAlchemy's text; floor division, so times before 1970 come back too."""
    fraction = f"(({column} % 1000000) + 1000000) % 1000000"
    seconds = f"({column} - {fraction}) / 1000000"
    return f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.' || printf('%06d', {fraction})"


def _convert(stored_as: str, expression) -> None:
    """Every column of ``_COLUMNS`` whose values are of SQLite type ``stored_as`` rewritten by ``expression``."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in _APPEND_ONLY:
        append_only.allow_changes(table)
    for table, columns in _COLUMNS.items():
        indexes = bind.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        ).all()
        touched = [
            (name, sql)
            for name, sql in indexes
            if any(row[2] in columns for row in bind.exec_driver_sql(f'PRAGMA index_info("{name}")'))
        ]
        for name, _sql in touched:
            op.execute(f'DROP INDEX "{name}"')
        for column in columns:
            readable = f"typeof({column}) = '{stored_as}' AND {expression(column)} IS NOT NULL"
            op.execute(f"UPDATE {table} SET {column} = {expression(column)} WHERE {readable}")
            if stored_as == "text":
                _unreadable(table, column)
        for _name, sql in touched:
            op.execute(sql)
    for table in _APPEND_ONLY:
        append_only.refuse_changes(table)


def upgrade() -> None:
    _convert("text", _to_integer)


def downgrade() -> None:
    _convert("integer", _to_text)
