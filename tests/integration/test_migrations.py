"""The Alembic migrations build exactly the schema the models describe, on both databases; only
`atiende migrate` (and `python -m web`) runs them, every other process refuses a schema not current."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine import cli
from engine.cases.finding.search import include_name
from engine.db.models import Base
from engine.db.store import Store, alembic_config, migration_heads
from engine.errors import SchemaOutdated
from engine.facade import Atiende


def test_models_and_migrations_agree(store):
    with store.engine.connect() as conn:
        assert (
            compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata) == []
        )


def test_no_index_is_the_beginning_of_another(store):
    """An index whose columns begin another index of its table answers nothing that one does not,
    and costs every insert an entry (0025 dropped the audit trail's index by case alone)."""
    inspector = inspect(store.engine)
    redundant = []
    for table in inspector.get_table_names():
        indexes = {
            i["name"]: tuple(i["column_names"])
            for i in inspector.get_indexes(table)
            if not i.get("unique") and i.get("dialect_options", {}).get(f"{store.engine.dialect.name}_where") is None
        }
        redundant += [
            f"{table}.{name} {columns} begins {other} {longer}"
            for name, columns in indexes.items()
            for other, longer in indexes.items()
            if other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
        ]
    assert not redundant


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def tables(url: str) -> set[str]:
    store = Store(url)
    try:
        return set(inspect(store.engine).get_table_names())
    finally:
        store.dispose()


def revisions(url: str) -> set[str]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        store.dispose()


def migrate_to(url: str, revision: str, down: bool = False) -> None:
    """Upgrade the database at ``url`` to ``revision`` (``down``: downgrade to it)."""
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            cfg = alembic_config(store.url)
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)
    finally:
        store.dispose()


def test_the_engine_refuses_a_database_never_migrated_and_creates_nothing(bare_url):
    with pytest.raises(SchemaOutdated, match="tiene ninguno.*Ejecute «atiende migrate»"):
        Atiende.open(bare_url)
    assert tables(bare_url) == set()


def test_the_engine_refuses_an_older_schema_and_leaves_it_as_it_is(bare_url):
    migrate_to(bare_url, "0009")
    with pytest.raises(SchemaOutdated, match="tiene 0009"):
        Atiende.open(bare_url)
    assert revisions(bare_url) == {"0009"}


def test_only_the_migrate_command_changes_the_schema(bare_url, capsys):
    """`audit verify` (like every other command) on an older schema says what to run and leaves it."""
    migrate_to(bare_url, "0009")
    assert cli.main(["--database-url", bare_url, "audit", "verify"]) == 2
    assert "Ejecute «atiende migrate»" in capsys.readouterr().err
    assert revisions(bare_url) == {"0009"}
    assert cli.main(["--database-url", bare_url, "migrate"]) == 0
    assert revisions(bare_url) == migration_heads()
    assert cli.main(["--database-url", bare_url, "timers", "--once"]) == 0
