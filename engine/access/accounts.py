"""People who sign in: their password hashes (Argon2id), roles, dirección and session generation.

Every change to who a person is, and every deploy (which changes who may start what), counts up
``access_version`` in its own transaction (``access_changed``): the web processes keep the
signed-in people they read (``web.auth``), with what each may start, and read one again only when
that row moved, so nothing changes behind a kept person's back.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.access.roles import ROLES
from engine.db import listening
from engine.db.models import AccessVersion, User, UserRole
from engine.db.statements import Statement

if TYPE_CHECKING:
    from engine.db.store import Store
    from engine.facade import Atiende

_VERSION_ROW = 1  # the only row of access_version (migration 0022)
ACCESS_CHANNEL = "atiende_acceso"  # where a change to access_version is notified (engine.db.listening)

# Argon2id at argon2-cffi's defaults (RFC 9106's low-memory profile); the tests swap in a cheaper one.
# A hash names the parameters it was made with, so a change here still verifies every stored hash.
hasher = PasswordHasher()
_LEGACY_SCRYPT = "scrypt$"


@dataclass(frozen=True)
class Actor:
    """Who is acting, as plain values: what the engine needs to authorise and to audit."""

    username: str
    roles: frozenset[str]
    direccion: str | None = None
    # The office itself (a public channel, the scenario runner), never a signed-in person: it starts
    # whatever procedure its code names (``engine.access.permissions.start_refusal``).
    system: bool = False

    def has(self, role: str) -> bool:
        return role in self.roles


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; a broken hash never verifies."""
    if stored.startswith(_LEGACY_SCRYPT):
        return _verify_scrypt(stored, password)
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_scrypt(stored: str, password: str) -> bool:
    """Hashes made before Argon2 (``scrypt$n$r$p$salt$digest``): kept until their owner's next sign-in replaces them."""
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


@functools.cache
def _hash_of_nobody(current: PasswordHasher) -> str:
    """A hash at ``current``'s cost that no one's password matches: what an unknown username is checked against."""
    return current.hash(secrets.token_urlsafe(32))


_hash_of_nobody(hasher)  # made now, so no sign-in pays for it


def create_user(
    session: Session,
    username: str,
    full_name: str,
    password: str,
    roles: list[str],
    email: str | None = None,
    direccion: str | None = None,
) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"roles desconocidos: {sorted(unknown)}")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        direccion=direccion,
        password_hash=hash_password(password),
        roles=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    return user


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The active user with these credentials, or None: one password hash checked either way.

    An unknown or deactivated username is checked against a hash of nobody's password at
    today's cost, so how long a refusal takes does not tell which usernames exist. A hash
    made before Argon2 or with other parameters is replaced on a successful sign-in, the only
    moment the password is at hand. No connection is held while a hash is computed.
    """
    with store.read() as s:
        user: User | None = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        verify_password(_hash_of_nobody(hasher), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if user.password_hash.startswith(_LEGACY_SCRYPT) or hasher.check_needs_rehash(user.password_hash):
        rehashed = hash_password(password)
        with store.unit_of_work() as s:  # unless the password was changed meanwhile: that one stands
            s.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=rehashed)
            )
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of this user, in every browser.

    A session carries the generation it began in (``web.auth``) and counts only while the
    user's is the same, so moving it on ends them all, cookies copied elsewhere included.
    Done in SQL, so two changes at once both move it on.
    """
    session.execute(update(User).where(User.id == user_id).values(session_generation=User.session_generation + 1))
    access_changed(session)


def access_changed(session: Session) -> None:
    """Count a change to what people may do in ``access_version``, in the change's transaction: to a
    person (roles, dirección, name, active, sessions) or to the procedures in force (who may start
    what, ``engine.procedures.versions.deploy``); in SQL, so two changes at once both count."""
    counted = session.execute(
        update(AccessVersion).where(AccessVersion.id == _VERSION_ROW).values(version=AccessVersion.version + 1)
    )
    if not counted.rowcount:  # type: ignore[attr-defined]
        session.add(AccessVersion(id=_VERSION_ROW, version=1))
    listening.notify(session, ACCESS_CHANNEL)


_ACCESS_VERSION = Statement(select(AccessVersion.version).where(AccessVersion.id == _VERSION_ROW))


def access_version(store: Store) -> int:
    """The number of changes to people so far, asked before every signed-in request: on PostgreSQL kept
    by the process and read again when a change is notified (``engine.db.listening``), on SQLite read."""
    return store.listened(ACCESS_CHANNEL, functools.partial(_read_access_version, store)).value()


def _read_access_version(store: Store) -> int:
    """One read by key, in a read session (one round trip on PostgreSQL; a connection of its own would
    add BEGIN and ROLLBACK), on the driver's cursor: on SQLite every request reads, and SQLAlchemy's
    execution layer would nearly double the read's cost."""
    with store.read() as s:
        return _ACCESS_VERSION.scalar(s, {}) or 0


def sign_out(atiende: Atiende, user_id: int) -> None:
    """Sign a person out everywhere: a sign-out that left a session open elsewhere would be no sign-out."""
    with atiende.unit_of_work() as s:
        end_sessions(s, user_id)


def actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.role_codes), user.direccion)
