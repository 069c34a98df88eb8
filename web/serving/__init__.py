"""How the application is served: one process with its workers beside it, or N gunicorn processes.

``embedded`` is ``python -m web`` (``make run``): Waitress, the schema migrated first, the demo
desk on an empty database, and the timer, mailbox and documents workers as threads of the same
process. ``gunicorn_conf`` is the production shape (docs/operations.md): web processes only,
the workers run as ``atiende`` commands of their own.
"""
