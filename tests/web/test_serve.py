"""``python -m web``: the server starts with its workers, as ``make run`` starts it."""

from __future__ import annotations

import threading

import pytest
import waitress

from web.serving import embedded as served


@pytest.mark.parametrize("smtp_host", ["", "127.0.0.1"], ids=["sin SMTP", "con SMTP"])
def test_the_server_starts_its_workers_with_or_without_smtp(tmp_path, monkeypatch, smtp_host):
    """With SMTP the outbox worker runs (it also lays out documents); without, a documents worker does."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'atiende.sqlite3'}")
    monkeypatch.setenv("ATIENDE_SMTP_HOST", smtp_host)
    monkeypatch.setenv("ATIENDE_SECRET_KEY", "clave-de-prueba")
    for unset in ("ATIENDE_IMAP_HOST", "PORT", "ATIENDE_THREADS"):
        monkeypatch.delenv(unset, raising=False)
    served_on = {}

    def serve(app, **options):
        served_on.update(options, workers={t.name for t in threading.enumerate()})
        app.extensions["atiende"].store.dispose()

    monkeypatch.setattr(waitress, "serve", serve)
    monkeypatch.setattr(served.demo_desk, "CASES", 4)  # the whole desk is tests/integration/test_demo_desk.py's
    served.main()
    assert (served_on["port"], served_on["threads"]) == (5000, 8)
    worker = "atiende-correo" if smtp_host else "atiende-documentos"
    assert {"atiende-temporizadores", worker} <= served_on["workers"]
