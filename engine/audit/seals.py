"""Seals: the audit chain's head, signed with a key kept outside the database, and checked against the chain.

The hash chain (``chain``) shows an edited event, but someone who can write to the database
can edit an event and recompute every hash after it, or delete the newest events, and the
chain is whole again. A seal fixes the head at a moment: its number, when, the newest
event's id and hash, and how many events there are up to it, signed with an Ed25519 key
whose file (``ATIENDE_AUDIT_KEY``) is not in the database. Each seal is a row (listed and
printed under Auditoría), a line e-mailed to every auditor through the outbox (a copy
outside the system), and an event of the chain itself.

``check`` holds every seal against the chain, with the public key only
(``ATIENDE_AUDIT_PUBLIC_KEY``, or the private key's public half): a signature that does not
verify (a seal written by hand), a missing seal number (a seal deleted), a sealed event that
is gone or has another hash (events deleted, or edited and the hashes recomputed), or a
different count (events deleted or inserted before it) is named with its seal. Events after
the newest seal are held by the chain alone until the next seal: the timer worker seals once a
day (``SEAL_EVERY``), ``atiende audit sellar`` at any time.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import chain
from engine.audit import trail as audit
from engine.clock import PANAMA
from engine.db.models import AuditEvent, AuditSeal, User, UserRole
from engine.errors import SealError
from engine.mail import outbox
from engine.mail import texts as mail_templates
from engine.settings import Settings

SEAL_EVERY = timedelta(days=1)  # how often the timer worker seals the head
TEMPLATE = "sello_auditoria"  # engine/mail/correo/sello_auditoria.txt
_MARK = "SELLO-ATIENDE"
_LINE = re.compile(
    _MARK + r" n=(?P<number>\d+) fecha=(?P<sealed_at>\S+) evento=(?P<last_event_id>\d+) "
    r"huella=(?P<head_hash>[0-9a-f]{64}) eventos=(?P<event_count>\d+) clave=(?P<key_id>[0-9a-f]+) "
    r"firma=(?P<signature>[A-Za-z0-9+/=]+)"
)


# -- keys -----------------------------------------------------------------------------------------
def public_path(private_path: Path) -> Path:
    """Where ``atiende audit clave`` writes the public half: beside the key, ``.pub`` added."""
    return private_path.with_name(private_path.name + ".pub")


def generate_key(path: Path) -> Path:
    """Write a new Ed25519 key to ``path``, readable by its owner only, and its public half beside it.

    An existing key is never replaced: the seals it signed could no longer be checked.
    """
    if path.exists():
        raise SealError(f"ya existe {path}: una clave nueva dejaría sin comprobar los sellos firmados con esa")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(pem)
    public = public_path(path)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return public


def private_key(settings: Settings) -> Ed25519PrivateKey:
    """The signing key ``ATIENDE_AUDIT_KEY`` names; refused if others than its owner may read it."""
    path = settings.audit_key
    if path is None:
        raise SealError("no hay clave para sellar: configure ATIENDE_AUDIT_KEY (créela con «atiende audit clave»)")
    try:
        if path.stat().st_mode & 0o077:
            raise SealError(f"la clave {path} la pueden leer otros usuarios: déjela solo para su dueño (chmod 600)")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SealError(f"no se puede leer la clave ATIENDE_AUDIT_KEY ({path}): {exc.strerror}") from exc
    except ValueError as exc:
        raise SealError(f"{path} no es una clave PEM sin contraseña") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SealError(f"{path} no es una clave Ed25519")
    return key


def public_key(settings: Settings) -> Ed25519PublicKey | None:
    """The key seals are checked with: ``ATIENDE_AUDIT_PUBLIC_KEY``, else the signing key's half; None if neither."""
    path = settings.audit_public_key
    if path is None:
        return private_key(settings).public_key() if settings.audit_key is not None else None
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise SealError(f"no se puede leer la clave ATIENDE_AUDIT_PUBLIC_KEY ({path}): {exc.strerror}") from exc
    except ValueError as exc:
        raise SealError(f"{path} no es una clave pública PEM") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SealError(f"{path} no es una clave pública Ed25519")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key: the start of the SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# -- a seal -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seal:
    """What a seal says, as a row, a printed line or an e-mailed one carries it."""

    number: int
    sealed_at: datetime
    last_event_id: int
    head_hash: str
    event_count: int
    key_id: str
    signature: str

    def signed(self) -> bytes:
        """The bytes the signature covers: every fact of the seal but the signature itself."""
        when = self.sealed_at.astimezone(UTC).isoformat()
        facts = ("atiende-sello-1", self.number, when, self.last_event_id, self.head_hash, self.event_count)
        return "\n".join(str(fact) for fact in facts).encode()

    @property
    def line(self) -> str:
        """The seal on one line, to e-mail, print, and give back to ``atiende audit verify --sellos``."""
        return (
            f"{_MARK} n={self.number} fecha={self.sealed_at.astimezone(UTC).isoformat()} evento={self.last_event_id} "
            f"huella={self.head_hash} eventos={self.event_count} clave={self.key_id} firma={self.signature}"
        )

    @classmethod
    def of(cls, row: AuditSeal) -> Seal:
        return cls(
            row.number, row.sealed_at, row.last_event_id, row.head_hash, row.event_count, row.key_id, row.signature
        )


def parse(text: str) -> list[Seal]:
    """Every seal line in ``text`` (a saved e-mail, a printed page typed back), in order."""
    found = []
    for match in _LINE.finditer(text):
        try:
            sealed_at = datetime.fromisoformat(match["sealed_at"])
        except ValueError:
            continue
        found.append(
            Seal(
                int(match["number"]),
                sealed_at,
                int(match["last_event_id"]),
                match["head_hash"],
                int(match["event_count"]),
                match["key_id"],
                match["signature"],
            )
        )
    return found


def seal(atiende, actor: str = audit.SYSTEM) -> Seal:
    """Seal the chain's head now: the row, the e-mail to each auditor and the event, in one transaction.

    The events since the previous seal are checked first: a seal must not vouch for a chain
    that is already broken.
    """
    key = private_key(atiende.settings)
    with atiende.unit_of_work() as session:
        now = atiende.now().replace(microsecond=0)
        head = chain.locked_head(session)
        if head is None:
            raise SealError("el registro de auditoría está vacío: no hay nada que sellar")
        previous = session.scalar(select(AuditSeal).order_by(AuditSeal.number.desc()).limit(1))
        verdict = chain.verify(session, (previous.last_event_id, previous.head_hash) if previous else None)
        if not verdict.intact:
            raise SealError(f"no se sella una cadena rota. {verdict}")
        last_event_id, head_hash, event_count = head
        unsigned = Seal(
            (previous.number if previous else 0) + 1,
            now,
            last_event_id,
            head_hash,
            event_count,
            key_id(key.public_key()),
            "",
        )
        signature = base64.b64encode(key.sign(unsigned.signed())).decode()
        made = replace(unsigned, signature=signature)
        session.add(AuditSeal(**asdict(made), sealed_by=actor))
        recipients = _auditors(session)
        message = _mail(session, made, recipients, atiende.settings, now)
        audit.record(
            session,
            now,
            actor,
            "cadena_sellada",
            detail={
                "sello": made.number,
                "evento": last_event_id,
                "huella": head_hash,
                "eventos": event_count,
                "clave": made.key_id,
                "para": message.recipients,
                "message_id": message.message_id,
            },
        )
    return made


def seal_if_due(atiende) -> Seal | None:
    """Seal when a signing key is configured and the newest seal is SEAL_EVERY old (the timer worker's call)."""
    if atiende.settings.audit_key is None:
        return None
    with atiende.store.read() as session:
        newest = session.scalar(select(func.max(AuditSeal.sealed_at)))
    if newest is not None and atiende.now() - newest < SEAL_EVERY:
        return None
    return seal(atiende)


def _auditors(session: Session) -> list[str]:
    query = (
        select(User.email)
        .join(UserRole)
        .where(UserRole.role == "auditor", User.active.is_(True), User.email.is_not(None))
        .order_by(User.email)
    )
    return list(session.scalars(query))


def _mail(session: Session, made: Seal, recipients: list[str], settings: Settings, now: datetime):
    local = made.sealed_at.astimezone(PANAMA)
    subject, body = mail_templates.render(
        TEMPLATE,
        {
            "numero": made.number,
            "fecha": local.strftime("%d/%m/%Y"),
            "fecha_hora": local.strftime("%d/%m/%Y %H:%M"),
            "evento": made.last_event_id,
            "eventos": made.event_count,
            "huella": made.head_hash,
            "clave": made.key_id,
            "linea": made.line,
        },
    )
    return outbox.enqueue(
        session,
        kind="sello_auditoria",
        to=recipients,
        subject=subject,
        body=body,
        now=now,
        sender=settings.smtp.sender,
        no_recipient_reason="no hay auditores activos con correo registrado",
    )


# -- checking ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SealState:
    """One seal as ``check`` found it: None as problem means it holds."""

    seal: Seal
    problem: str | None


@dataclass(frozen=True)
class SealReport:
    """The seals held against the chain; ``problems`` name each seal that does not hold."""

    states: list[SealState]
    problems: list[str]

    @property
    def holds(self) -> bool:
        return not self.problems

    @property
    def newest(self) -> Seal | None:
        return max((s.seal for s in self.states), key=lambda s: s.number, default=None)

    def __str__(self) -> str:
        if self.problems:
            return "Sellos que no se sostienen:\n" + "\n".join(f"  - {p}" for p in self.problems)
        newest = self.newest
        if newest is None:
            return "Sin sellos: la cadena no está anclada fuera de la base de datos (atiende audit sellar)."
        when = newest.sealed_at.astimezone(PANAMA).strftime("%d/%m/%Y %H:%M")
        return (
            f"Sellos íntegros: {len(self.states)} comprobados; el último, n.º {newest.number} del {when}, "
            f"cubre hasta el evento #{newest.last_event_id}."
        )


def check(session: Session, key: Ed25519PublicKey | None, outside: list[Seal] | None = None) -> SealReport:
    """Hold every stored seal, and those given from outside (e-mailed, printed), against the chain."""
    stored = {row.number: Seal.of(row) for row in session.scalars(select(AuditSeal).order_by(AuditSeal.number))}
    problems: list[str] = []
    if stored and key is None:
        problems.append(
            "no se pueden comprobar las firmas de los sellos: configure ATIENDE_AUDIT_PUBLIC_KEY (o ATIENDE_AUDIT_KEY)"
        )
    numbers = sorted(stored)
    for missing in sorted(set(range(1, (numbers[-1] if numbers else 0) + 1)) - set(numbers)):
        problems.append(f"Falta el sello n.º {missing}: se eliminó de la base de datos.")
    states = []
    for made in stored.values():
        problem = _fault(session, made, key)
        states.append(SealState(made, problem))
        if problem:
            problems.append(f"Sello n.º {made.number}: {problem}.")
    for given in outside or []:
        problem = _fault(session, given, key)
        kept = stored.get(given.number)
        if problem is None and kept is None:
            problem = "no está en la base de datos (se eliminó)"
        elif problem is None and kept != given:
            problem = "el guardado en la base de datos es distinto (se alteró)"
        if problem:
            problems.append(f"Sello n.º {given.number} (copia externa): {problem}.")
    return SealReport(states, problems)


def _fault(session: Session, made: Seal, key: Ed25519PublicKey | None) -> str | None:
    """Why a seal does not hold, or None."""
    if key is not None:
        if made.key_id != key_id(key):
            return f"lo firmó otra clave ({made.key_id}), no la configurada ({key_id(key)})"
        try:
            key.verify(base64.b64decode(made.signature, validate=True), made.signed())
        except (InvalidSignature, ValueError):
            return "la firma no es válida: el sello fue alterado o no lo firmó la clave de la oficina"
    sealed = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == made.last_event_id))
    if sealed is None:
        return f"el evento #{made.last_event_id} que selló ya no existe: se eliminaron eventos sellados"
    if sealed != made.head_hash:
        return (
            f"el evento #{made.last_event_id} ya no tiene la huella sellada: se modificaron eventos "
            "anteriores al sello y se recalcularon las huellas"
        )
    count = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.id <= made.last_event_id))
    if count != made.event_count:
        return (
            f"hay {count} eventos hasta el #{made.last_event_id} y se sellaron {made.event_count}: "
            "se eliminaron o intercalaron eventos"
        )
    return None
