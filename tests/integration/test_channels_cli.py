"""The channels' commands: Open311 keys, and one poll of the mailbox from the environment."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from engine import cli
from engine.db.models import IntakeItem
from engine.errors import Open311Error
from engine.intake import open311
from tests.fixtures import dovecot


def run(store, capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["--database-url", store.url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_open311_keys_are_created_listed_and_revoked(store, capsys):
    code, key, _ = run(store, capsys, "open311-clave", "crear", "App 311 móvil", "--by", "admin")
    assert code == 0 and len(key.strip()) >= 40
    with store.read() as s:
        [row] = open311.keys(s)
        assert row.key_hash != key.strip() and open311._client(s, key.strip()).name == "App 311 móvil"
    code, listing, _ = run(store, capsys, "open311-clave", "listar")
    assert f"{row.id}\tApp 311 móvil\tactiva" in listing
    assert run(store, capsys, "open311-clave", "revocar", str(row.id))[0] == 0
    assert "revocada" in run(store, capsys, "open311-clave", "listar")[1]
    with store.read() as s, pytest.raises(Open311Error):
        open311._client(s, key.strip())
    assert run(store, capsys, "open311-clave", "revocar", "999")[0] == 1


def test_the_mail_command_needs_its_configuration(store, capsys, monkeypatch):
    monkeypatch.delenv("ATIENDE_IMAP_HOST", raising=False)
    code, _, err = run(store, capsys, "correo", "--once")
    assert code == 1 and "ATIENDE_IMAP_HOST" in err


@pytest.mark.skipif(not dovecot.available(), reason=dovecot.MISSING)
def test_the_mail_command_polls_the_mailbox_once(store, capsys, monkeypatch):
    from engine.facade import Atiende

    Atiende(store).deploy_directory("prueba")
    server = dovecot.start()
    try:
        box = server.mailbox()
        msg = EmailMessage()
        msg["From"], msg["Subject"], msg["Message-ID"] = "vecino@example.com", "Ruido en la noche", "<cli1@example.com>"
        msg.set_content("Música a todo volumen hasta las 3 a. m.")
        box.append(bytes(msg))
        for name, value in {
            "HOST": "127.0.0.1",
            "PORT": str(box.port),
            "TLS": "none",
            "USER": box.user,
            "PASSWORD": box.password,
        }.items():
            monkeypatch.setenv(f"ATIENDE_IMAP_{name}", value)
        code, out, _ = run(store, capsys, "correo", "--once")
        assert code == 0 and "new_items=1" in out
        monkeypatch.setenv("ATIENDE_IMAP_PASSWORD", "mala")
        code, _, err = run(store, capsys, "correo", "--once")
        assert code == 1 and "no se pudo entrar al buzón" in err
    finally:
        server.stop()
    with store.read() as s:
        assert s.scalar(select(IntakeItem.subject)) == "Ruido en la noche"
