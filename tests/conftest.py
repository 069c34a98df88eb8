"""Fixtures shared by every test: a database per test on SQLite and on PostgreSQL.

PostgreSQL is the server ATIENDE_TEST_POSTGRES_URL names or, when it names none, a throwaway
one that this file starts from the machine's binaries before the tests and removes after them
(tests/fixtures/postgres.py); under xdist the controller starts it and every worker uses it,
each in a schema of its own. Passwords are hashed at a token cost, except where a test is
marked ``real_password_cost``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.access import accounts
from engine.cases.finding import worklist
from engine.clock import FrozenClock
from engine.db.models import Base
from engine.db.store import Store
from engine.forms import catalogs
from tests.fixtures import postgres

# The server the PostgreSQL tests use: the variable's, or (set by pytest_configure below, and by
# then in the environment the xdist workers inherit) the throwaway one. None: they are skipped,
# PG_MISSING naming the binary that is missing.
PG_URL = os.environ.get("ATIENDE_TEST_POSTGRES_URL")
PG_MISSING = "" if PG_URL else postgres.find_binaries()[1]
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in Panamá
REAL_HASHER = accounts.hasher
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # Argon2's least: every test signs in


def pytest_configure(config):
    """Outside xdist's workers, with no server named: start the throwaway one (a second or so)."""
    global PG_URL
    if PG_URL or hasattr(config, "workerinput"):
        return
    bin_dir, _missing = postgres.find_binaries()
    if bin_dir is None:
        return
    try:
        server = postgres.start(bin_dir)
    except (OSError, RuntimeError, subprocess.SubprocessError) as failed:
        raise pytest.UsageError(f"could not start a throwaway PostgreSQL from {bin_dir}: {failed}") from failed
    config.add_cleanup(server.stop)  # also when tests fail or the run is interrupted
    PG_URL = os.environ["ATIENDE_TEST_POSTGRES_URL"] = server.url


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Argon2 at its least cost in this process (a hash names its parameters, so any hash still verifies)."""
    accounts.hasher = CHEAP_HASHER
    yield
    accounts.hasher = REAL_HASHER


@pytest.fixture
def count_cap(monkeypatch):
    """Set the bandeja's count cap for the test: the statements built with the cap are built again."""

    def set_cap(cap: int) -> None:
        worklist._statements.cache_clear()
        monkeypatch.setattr(worklist, "COUNT_CAP", cap)
        monkeypatch.setattr(worklist.Counts, "CAP", cap)

    yield set_cap
    worklist._statements.cache_clear()  # before the cap is restored: none outlives the test's cap


@pytest.fixture(autouse=True)
def _real_password_cost(request, monkeypatch):
    """Tests marked ``real_password_cost`` hash at the production cost."""
    if request.node.get_closest_marker("real_password_cost"):
        monkeypatch.setattr(accounts, "hasher", REAL_HASHER)


# What a test's database holds when it starts, by the fixture that asks for it (the store picks its
# template by the fixtures of the test): every store the catalogs; `atiende` (tests/integration)
# the procedures of processes/ deployed by analista; `app` (tests/web) the demo data. Each template
# is made once per process by the code those fixtures ran for every test before, then copied.
TEMPLATE_OF_FIXTURE = {"app": "demo", "atiende": "deployed"}


def template_of(request) -> str:
    for fixture, kind in TEMPLATE_OF_FIXTURE.items():
        if fixture in request.fixturenames:
            return kind
    return "catalogs"


def fill_template(kind: str, store: Store) -> None:
    """Bring a migrated, empty database to the state ``kind`` names, at START."""
    with store.unit_of_work() as s:
        catalogs.seed(s)
    if kind == "deployed":
        from engine.facade import Atiende

        Atiende(store, FrozenClock(START)).deploy_directory("analista", note="prueba")
    elif kind == "demo":
        from engine.demo import seed as demo
        from web import create_app

        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "clave-de-prueba",
                "DATABASE_URL": store.url,
                "ATIENDE_CLOCK": FrozenClock(START),
            }
        )
        demo.seed(app.extensions["atiende"])
        app.extensions["atiende"].store.dispose()


class SqliteTemplates:
    """Migrated SQLite files, one per template, made when first asked for; a test copies one."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._paths: dict[str, Path] = {}

    def path(self, kind: str = "catalogs") -> Path:
        if kind not in self._paths:
            path = self.directory / f"{kind}.sqlite3"
            if kind == "catalogs":
                store = Store(f"sqlite:///{path}")
                store.migrate()
                store.dispose()
            else:
                shutil.copy(self.path("catalogs"), path)  # the catalogs again below: seeding is idempotent
                store = Store(f"sqlite:///{path}")
            fill_template(kind, store)
            store.dispose()
            wal = path.with_name(f"{path.name}-wal")
            if wal.exists() and wal.stat().st_size:
                raise RuntimeError(f"{wal} left behind: a copy of {path} alone would miss what it holds")
            self._paths[kind] = path
        return self._paths[kind]

    def copy(self, kind: str, path: Path) -> str:
        shutil.copy(self.path(kind), path)
        return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory):
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def sqlite_template(sqlite_templates):
    """A migrated SQLite file with the catalogs seeded."""
    return sqlite_templates.path("catalogs")


class PgSchema:
    """A private schema on the PostgreSQL server for this process, migrated once. A template is a
    schema beside it holding a copy of every table's rows; a test's database is the schema emptied
    and refilled from one, its sequences set where the template left them (one round trip)."""

    def __init__(self, server_url: str):
        self.name = f"atiende_test_{uuid.uuid4().hex[:10]}"
        self.admin = Store(server_url)
        with self.admin.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        sep = "&" if "?" in server_url else "?"
        self.url = f"{server_url}{sep}options={quote(f'-csearch_path={self.name}')}"
        store = Store(self.url)
        store.migrate()
        store.dispose()
        self._restore: dict[str, str] = {}
        self._templates: list[str] = []
        # What the migrations wrote (the business calendar, the access and calendar version rows), as
        # a SQLite template file and a production database hold it: every template starts from it.
        self._migrated = self._snapshot("migrated")

    def _snapshot(self, kind: str) -> str:
        """Copy the schema's rows into a template schema; the SQL that empties the schema and puts them back."""
        template = f"{self.name}_{kind}"
        self._templates.append(template)
        tables = ", ".join(f'"{self.name}"."{t.name}"' for t in Base.metadata.sorted_tables)
        statements = [f"SET LOCAL lock_timeout = '10s'; TRUNCATE {tables} RESTART IDENTITY CASCADE;"]
        with self.admin.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{template}"'))
            for table in Base.metadata.sorted_tables:
                source, copy = f'"{self.name}"."{table.name}"', f'"{template}"."{table.name}"'
                if conn.execute(text(f"SELECT EXISTS (SELECT FROM {source})")).scalar():
                    conn.execute(text(f"CREATE TABLE {copy} AS SELECT * FROM {source}"))
                    columns = ", ".join(f'"{c.name}"' for c in table.columns)
                    statements.append(
                        f"INSERT INTO {source} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM {copy};"
                    )
            sequences = conn.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s AND last_value IS NOT NULL"
                ),
                {"s": self.name},
            )
            statements += [f'SELECT setval(\'"{self.name}"."{seq}"\', {value});' for seq, value in sequences]
        return "\n".join(statements)

    def fresh(self, kind: str) -> Store:
        """A store on the schema, holding exactly what template ``kind`` holds."""
        store = Store(self.url)
        if kind not in self._restore:
            _run(store, self._migrated)
            fill_template(kind, store)
            self._restore[kind] = self._snapshot(kind)
        else:
            _run(store, self._restore[kind])
        return store

    def drop(self) -> None:
        with self.admin.engine.begin() as conn:
            for schema in (*self._templates, self.name):
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


def _run(store: Store, sql: str, attempts: int = 5) -> None:
    """Run statements in one transaction; TRUNCATE's exclusive locks can deadlock with autovacuum, so try again."""
    for attempt in range(attempts):
        try:
            with store.engine.begin() as conn:
                conn.exec_driver_sql(sql)
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture(scope="session")
def pg_schema():
    """This process's schema on the PostgreSQL server (see PgSchema), dropped at the end."""
    if not PG_URL:
        pytest.skip(PG_MISSING)
    schema = PgSchema(PG_URL)
    yield schema
    schema.drop()


@pytest.fixture(scope="session")
def pg_url(pg_schema):
    """The URL of this process's private, migrated schema on the PostgreSQL server."""
    return pg_schema.url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path, sqlite_templates):
    """A migrated database of the test's own, seeded as its fixtures need (template_of): a copied
    SQLite file, or the process's PostgreSQL schema refilled."""
    kind = template_of(request)
    if request.param == "sqlite":
        store = Store(sqlite_templates.copy(kind, tmp_path / "atiende.sqlite3"))
    else:
        store = request.getfixturevalue("pg_schema").fresh(kind)
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_url(request, tmp_path):
    """An empty database (no schema): to run the migrations step by step, or to see what refuses it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bare.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip(PG_MISSING)
    schema = f"atiende_bare_{uuid.uuid4().hex[:10]}"
    admin = Store(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def frozen_clock():
    return FrozenClock(START)
