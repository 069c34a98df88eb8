"""People who sign in: their password hashes (scrypt), roles and dirección."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import ROLES
from engine.db.models import User, UserRole

_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class Actor:
    """Who is acting, as plain values: what the engine needs to authorise and to audit."""

    username: str
    roles: frozenset[str]
    direccion: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


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


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        verify_password(hash_password("x"), password)  # same cost whether or not the user exists
        return None
    return user if verify_password(user.password_hash, password) else None


def actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.role_codes), user.direccion)
