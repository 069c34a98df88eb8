"""Alembic environment: runs on the connection the Store hands over, or on the URL.

An upgrade that ends at this release's heads then fills what the current code fills from the audit
trail (``engine.db.migrations.backfills``).
"""

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from engine.cases.finding.search import include_name  # the search index is kept outside the models
from engine.db.migrations import backfills
from engine.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, include_name=include_name
        )
        with context.begin_transaction():
            context.run_migrations()
            _back_fill_at_heads(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None  # engine.db.store.alembic_config, the only maker of the configuration, sets it
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=target_metadata, render_as_batch=True, include_name=include_name
        )
        with context.begin_transaction():
            context.run_migrations()
            _back_fill_at_heads(conn)


def _back_fill_at_heads(connection) -> None:
    if set(context.get_context().get_current_heads()) == set(ScriptDirectory.from_config(config).get_heads()):
        backfills.run(connection)


run_migrations_online()
