"""Seals anchor the audit chain outside the database: an intruder who edits events and recomputes
every hash, deletes the newest events or writes a seal by hand is caught by ``atiende audit verify``,
which also holds each case row against its events."""

from __future__ import annotations

import stat
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine import cli
from engine.access.accounts import create_user
from engine.audit import chain as audit_chain
from engine.audit import reconcile, seals
from engine.audit import trail as audit
from engine.db.models import AuditSeal, Case, OutboxMessage
from engine.errors import SealError
from engine.facade import Atiende
from engine.settings import Settings
from tests.integration.test_audit_chain import events, tamper, verdict


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "clave" / "sellos.pem"
    seals.generate_key(path)
    return path


@pytest.fixture
def sealer(desk, store, frozen_clock, key, monkeypatch):
    """The engine with the signing key configured (and the command's environment naming it), two auditors."""
    monkeypatch.setenv("ATIENDE_AUDIT_KEY", str(key))
    with store.unit_of_work() as s:
        create_user(s, "auditora", "Ana Auditora", "x", ["auditor"], email="ana@auditoria.example")
        create_user(s, "auditor2", "Beto Auditor", "x", ["auditor", "coordinador"], email="beto@auditoria.example")
        create_user(s, "jubilado", "Ex Auditor", "x", ["auditor"], email="ex@auditoria.example").active = False
        create_user(s, "coord", "Carla Coordinadora", "x", ["coordinador"], email="carla@atiende.example")
    desk.to_follow_up(desk.start())  # en seguimiento, with its legal deadline
    closed = desk.start()
    desk.to_follow_up(closed)
    desk.do(closed, "Task_respuesta_final")
    desk.start()
    desk.wait(days=30, seconds=1)  # the third, escalated by its timer (the first two too)
    return Atiende(store, frozen_clock, settings=Settings(audit_key=key))


def verify(store, capsys, *extra) -> tuple[int, str]:
    code = cli.main(["--database-url", store.url, "audit", "verify", *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def recompute_hashes_from(store, first_id: int) -> None:
    """What an intruder with database access does after an edit: every hash from the edit on, made again."""
    chain = events(store)
    previous = next((e.hash for e in reversed(chain) if e.id < first_id), audit_chain.GENESIS)
    for event in chain:
        if event.id < first_id:
            continue
        new = audit_chain.digest(
            previous, event.at, event.actor, event.kind, event.case_id, event.task_id, event.detail
        )
        tamper(
            store,
            "UPDATE audit_event SET hash = :h WHERE id = :id",
            h=bytes.fromhex(new),
            id=event.id,
        )
        previous = new


def test_a_seal_is_signed_stored_and_mailed_to_each_active_auditor_and_a_clean_chain_passes(sealer, store, capsys):
    head = events(store)[-1]
    made = seals.seal(sealer)

    assert (made.number, made.last_event_id, made.head_hash, made.event_count) == (
        1,
        head.id,
        head.hash,
        len(events(store)) - 1,
    )
    with store.read() as s:
        [row] = s.scalars(select(AuditSeal))
        [message] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sello_auditoria"))
    assert seals.Seal.of(row) == made
    assert message.recipients == ["ana@auditoria.example", "beto@auditoria.example"]
    assert message.state == "pendiente"
    assert made.line in message.body and "Sello n.º 1" in message.subject
    assert events(store)[-1].kind == "cadena_sellada" and events(store)[-1].detail["sello"] == 1

    code, said = verify(store, capsys)
    assert code == 0, said
    assert "Sellos íntegros: 1 comprobados" in said and "concuerdan con sus eventos" in said


def test_an_event_edited_before_a_seal_with_every_later_hash_recomputed_fails_naming_the_seal(sealer, store, capsys):
    seals.seal(sealer)
    victim = events(store)[3]
    tamper(store, "UPDATE audit_event SET actor = 'intruso' WHERE id = :id", id=victim.id)
    recompute_hashes_from(store, victim.id)
    assert verdict(store).intact  # the chain alone is fooled

    code, said = verify(store, capsys)

    assert code == 1
    assert "Sello n.º 1: el evento" in said and "ya no tiene la huella sellada" in said


def test_deleting_the_newest_sealed_events_fails_naming_the_seal(sealer, store, capsys):
    made = seals.seal(sealer)
    tamper(store, "DELETE FROM audit_event WHERE id >= :id", id=made.last_event_id - 1)
    assert verdict(store).intact  # the newest events gone: the chain alone is fooled

    code, said = verify(store, capsys)

    assert code == 1
    assert f"Sello n.º 1: el evento #{made.last_event_id} que selló ya no existe" in said


def test_a_seal_row_written_by_hand_fails_its_signature(sealer, store, capsys):
    made = seals.seal(sealer)
    victim = events(store)[2]
    tamper(store, "UPDATE audit_event SET detail = '{}' WHERE id = :id", id=victim.id)
    recompute_hashes_from(store, victim.id)
    new_head = events(store)[-1]
    with store.unit_of_work() as s:  # the intruder re-seals the recomputed chain, without the key
        row = s.scalar(select(AuditSeal))
        row.last_event_id, row.head_hash, row.event_count = new_head.id, new_head.hash, len(events(store))

    code, said = verify(store, capsys)

    assert code == 1
    assert f"Sello n.º {made.number}: la firma no es válida" in said


def test_a_seal_deleted_from_the_database_is_caught_with_the_copy_the_auditors_received(
    sealer, store, capsys, tmp_path, frozen_clock
):
    first = seals.seal(sealer)
    with store.unit_of_work() as s:
        audit.record(s, frozen_clock.now(), "ana", "sesion_iniciada")
    seals.seal(sealer)
    with store.read() as s:
        mail = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sello_auditoria")).all()[-1]
    saved = tmp_path / "correo.txt"
    saved.write_text(mail.body, encoding="utf-8")
    with store.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_seal WHERE number = 2"))
    tamper(store, "DELETE FROM audit_event WHERE id > :id", id=first.last_event_id)
    assert verify(store, capsys)[0] == 0  # the newest seal and events gone: the database alone cannot tell

    code, said = verify(store, capsys, "--sellos", str(saved))

    assert code == 1
    assert "Sello n.º 2 (copia externa): el evento" in said


def test_a_case_row_edited_past_the_engine_is_reported(sealer, store, capsys):
    with store.unit_of_work() as s:
        first, _closed, third, *_scheduled_runs = s.scalars(select(Case).order_by(Case.id))
        tickets = first.ticket, third.ticket
        first.status = "cerrado"
        third.due_at += timedelta(days=10)
    with store.read() as s:
        found = reconcile.mismatches(s)
    assert found == [
        f"Caso {tickets[0]}: su estado es «cerrado» y según sus eventos es «escalado a la unidad».",
        f"Caso {tickets[1]}: su plazo es 11/04/2026 09:00:00 y según sus eventos es 01/04/2026 09:00:00.",
    ]

    code, said = verify(store, capsys)
    assert code == 1 and all(ticket in said for ticket in tickets)


def test_the_seals_are_checked_with_the_public_key_alone(sealer, store, capsys, key, monkeypatch, tmp_path):
    seals.seal(sealer)
    monkeypatch.delenv("ATIENDE_AUDIT_KEY")
    code, said = verify(store, capsys)
    assert code == 1 and "configure ATIENDE_AUDIT_PUBLIC_KEY" in said  # seals that cannot be checked are no pass

    monkeypatch.setenv("ATIENDE_AUDIT_PUBLIC_KEY", str(seals.public_path(key)))
    code, said = verify(store, capsys)
    assert code == 0, said

    other = tmp_path / "otra.pem"
    seals.generate_key(other)
    monkeypatch.setenv("ATIENDE_AUDIT_PUBLIC_KEY", str(seals.public_path(other)))
    code, said = verify(store, capsys)
    assert code == 1 and "Sello n.º 1: lo firmó otra clave" in said


def test_a_broken_chain_is_not_sealed(sealer, store):
    tamper(store, "UPDATE audit_event SET actor = 'intruso' WHERE id = :id", id=events(store)[1].id)
    with pytest.raises(SealError, match="no se sella una cadena rota"):
        seals.seal(sealer)
    with store.read() as s:
        assert s.scalar(select(AuditSeal)) is None


class _OneRound(threading.Event):
    """A stop signal that lets the worker run one round."""

    def wait(self, timeout=None):
        self.set()
        return True


def test_the_timer_worker_seals_once_a_day_when_a_key_is_configured(sealer, store, frozen_clock):
    cli.timer_worker(sealer, 0, _OneRound())
    with store.read() as s:
        assert [row.number for row in s.scalars(select(AuditSeal))] == [1]
    frozen_clock.advance(hours=23)
    assert seals.seal_if_due(sealer) is None
    frozen_clock.advance(hours=1)
    assert seals.seal_if_due(sealer).number == 2
    frozen_clock.advance(days=2)
    assert seals.seal_if_due(Atiende(store, frozen_clock)) is None  # no key configured: no seal


def test_the_key_is_made_for_its_owner_alone_and_never_replaced(tmp_path, capsys, monkeypatch):
    path = tmp_path / "sellos.pem"
    monkeypatch.setenv("ATIENDE_AUDIT_KEY", str(path))
    assert cli.main(["audit", "clave"]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert seals.public_path(path).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = path.read_bytes()

    assert cli.main(["audit", "clave"]) == 1
    assert path.read_bytes() == before and "ya existe" in capsys.readouterr().err
    path.chmod(0o644)
    with pytest.raises(SealError, match="chmod 600"):
        seals.private_key(Settings(audit_key=path))


def test_the_key_settings_name_files():
    settings = Settings.from_environ({"ATIENDE_AUDIT_KEY": "/srv/atiende/sellos.pem", "ATIENDE_AUDIT_PUBLIC_KEY": " "})
    assert str(settings.audit_key) == "/srv/atiende/sellos.pem" and settings.audit_public_key is None
