"""What every browser test starts from: the application with its demo data, served on a free port."""

from __future__ import annotations

import shutil

import pytest

from engine.demo import seed as demo
from tests.fixtures import live
from web import create_app


@pytest.fixture
def served(tmp_path, frozen_clock, sqlite_template):
    """(app, base URL): the demo data on a temporary SQLite file, the app served by Waitress."""
    path = tmp_path / "atiende.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "clave-de-prueba",
            "DATABASE_URL": f"sqlite:///{path}",
            "ATIENDE_CLOCK": frozen_clock,
        }
    )
    demo.seed(app.extensions["atiende"])
    with live.serving(app) as url:
        yield app, url
    app.extensions["atiende"].store.dispose()
