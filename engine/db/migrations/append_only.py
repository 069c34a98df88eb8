"""Tables the database itself keeps append-only: it refuses UPDATE and DELETE on them.

For the audit trail (migration 0002) and the states' dictionaries (0027): rows that other rows'
meaning rests on, which no application path alters. Someone with direct access to the database
can drop the triggers; what that would allow is each table's own concern (the audit chain's
hashes and seals; a state's frame naming its dictionary).
"""

from alembic import op

_ACTIONS = ("UPDATE", "DELETE")


def refuse_changes(table: str) -> None:
    """Triggers that refuse UPDATE and DELETE on ``table`` with the message «<table> is append-only»."""
    message = f"{table} is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{message}'; END $$;
        """)
        for action in _ACTIONS:
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )
    else:
        for action in _ACTIONS:
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def allow_changes(table: str) -> None:
    """Drop what ``refuse_changes`` made."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for action in _ACTIONS:
        op.execute(f"DROP TRIGGER {table}_no_{action.lower()}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute(f"DROP FUNCTION {table}_append_only()")
