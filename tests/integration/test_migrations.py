"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.cases.search import include_name
from engine.db.models import Base
from engine.db.store import Store


def test_models_and_migrations_agree(store):
    with store.engine.connect() as conn:
        assert (
            compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata) == []
        )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()
