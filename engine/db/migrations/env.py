"""Alembic environment: runs on the connection the Store hands over, or on the URL."""

from alembic import context
from sqlalchemy import create_engine

from engine.cases.finding.search import include_name  # the search index is kept outside the models
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


run_migrations_online()
