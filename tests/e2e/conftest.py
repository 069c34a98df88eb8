"""What every browser test starts from: the application with its demo data, served on a free port."""

from __future__ import annotations

import pytest

from tests.fixtures import live
from web import create_app


@pytest.fixture
def served(tmp_path, frozen_clock, sqlite_templates):
    """(app, base URL): the demo data (a copy of its template) on a temporary SQLite file, the app
    served by Waitress."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "clave-de-prueba",
            "DATABASE_URL": sqlite_templates.copy("demo", tmp_path / "atiende.sqlite3"),
            "ATIENDE_CLOCK": frozen_clock,
        }
    )
    with live.serving(app) as url:
        yield app, url
    app.extensions["atiende"].store.dispose()
