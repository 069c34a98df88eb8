"""Fixtures shared by every test: a database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.clock import FrozenClock
from engine.db.models import Base
from engine.db.store import Store
from engine.forms import catalogs

PG_URL = os.environ.get("ATIENDE_TEST_POSTGRES_URL")
PG_MISSING = "PostgreSQL not configured: set ATIENDE_TEST_POSTGRES_URL (CI sets it to the machine's server)"
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in Panamá


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated, seeded SQLite file that each test copies (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "atiende.sqlite3"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    with store.unit_of_work() as s:
        catalogs.seed(s)
    store.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url():
    """A private schema on the PostgreSQL server for this test run, dropped at the end."""
    if not PG_URL:
        pytest.skip(PG_MISSING)
    schema = f"atiende_test_{uuid.uuid4().hex[:10]}"
    admin = Store(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    store = Store(url)
    store.migrate()
    store.dispose()
    yield url
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path, sqlite_template):
    """An empty, migrated, seeded database: a copied SQLite file, or a truncated PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "atiende.sqlite3"
        shutil.copy(sqlite_template, path)
        store = Store(f"sqlite:///{path}")
    else:
        store = Store(request.getfixturevalue("pg_url"))
        _truncate_all(store)
        with store.unit_of_work() as s:
            catalogs.seed(s)
    yield store
    store.dispose()


def _truncate_all(store, attempts=5):
    """Empty every table; TRUNCATE's exclusive locks can deadlock with autovacuum, so try again."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    for attempt in range(attempts):
        try:
            with store.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def frozen_clock():
    return FrozenClock(START)
