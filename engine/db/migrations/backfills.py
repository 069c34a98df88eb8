"""Tables filled from the audit trail by the current code, once the schema is at this release's heads.

``step_time`` (``engine.indicators.steps``) is counted from the trail's completions. A migration that
ran that count itself would run today's code on yesterday's schema: 0018 did, and broke once 0034
stored kinds as bytes. So the count runs here, after every migration of an upgrade to the heads, when
the table is empty (a database that came from before 0018) and the trail holds events.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.indicators import steps


def run(connection: Connection) -> None:
    """Fill what is empty and has something to be filled from."""
    empty = connection.execute(sa.text("SELECT 1 FROM step_time LIMIT 1")).first() is None
    if empty and connection.execute(sa.text("SELECT 1 FROM audit_event LIMIT 1")).first() is not None:
        session = Session(bind=connection)
        try:
            steps.rebuild(session)
            session.flush()
        finally:
            session.close()
