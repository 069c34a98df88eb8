"""Passwords are kept as Argon2id hashes (argon2-cffi); signing in costs the same whether or not the user exists.

Hashes made before Argon2 (scrypt, ``scrypt$n$r$p$salt$digest``) still verify and are replaced
by an Argon2id hash at the next successful sign-in, the only moment the password is at hand;
so is an Argon2 hash made with parameters older than today's.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from argon2 import PasswordHasher

from engine.access import accounts
from engine.db.models import User


def scrypt_hash(password: str) -> str:
    """A hash as this project stored them before Argon2 (scrypt at n=2**14, r=8, p=1)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _person(store, password_hash: str | None = None) -> int:
    with store.unit_of_work() as s:
        user = accounts.create_user(s, "ana", "Ana Operadora", "clave-correcta", ["operador"])
        if password_hash is not None:
            user.password_hash = password_hash
        return user.id


def _stored_hash(store, user_id: int) -> str:
    with store.read() as s:
        return s.get(User, user_id).password_hash


@pytest.mark.real_password_cost
def test_a_password_is_hashed_with_argon2id_at_the_production_cost_and_verifies():
    stored = accounts.hash_password("atiende2026")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.verify_password(stored, "atiende2026")
    assert not accounts.verify_password(stored, "atiende2027")
    assert stored != accounts.hash_password("atiende2026")  # a salt of its own


def test_a_broken_or_unknown_hash_never_verifies():
    assert accounts.verify_password(accounts.hash_password("clave"), "clave")
    for broken in ("no es un hash", "", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA", "scrypt$x$8$1$AAAA$AAAA"):
        assert not accounts.verify_password(broken, "clave")


def test_an_unknown_user_and_a_wrong_password_cost_the_same_number_of_hashes(store, monkeypatch):
    """Counted, not timed: every call that derives a key from a password, Argon2 or scrypt."""
    calls: list[str] = []

    class Counting(PasswordHasher):
        def hash(self, password, *, salt=None):
            calls.append("argon2")
            return super().hash(password, salt=salt)

        def verify(self, hash, password):
            calls.append("argon2")
            return super().verify(hash, password)

    scrypt = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *args, **kwargs: calls.append("scrypt") or scrypt(*args, **kwargs))
    monkeypatch.setattr(accounts, "hasher", Counting(time_cost=1, memory_cost=8, parallelism=1), raising=False)
    user_id = _person(store)

    def hashes_to_refuse(username: str) -> list[str]:
        calls.clear()
        assert accounts.authenticate(store, username, "no-es-la-clave") is None
        return list(calls)

    hashes_to_refuse("nadie")  # a new hasher's first refusal makes its hash of nobody (in production: at import)
    wrong_password = hashes_to_refuse("ana")
    with store.unit_of_work() as s:
        s.get(User, user_id).active = False
    assert hashes_to_refuse("nadie") == hashes_to_refuse("ana") == wrong_password == ["argon2"]


def test_a_legacy_scrypt_hash_verifies_and_becomes_argon2id_at_the_next_sign_in(store):
    legacy = scrypt_hash("clave-correcta")
    user_id = _person(store, legacy)
    assert accounts.authenticate(store, "ana", "no-es-la-clave") is None
    assert _stored_hash(store, user_id) == legacy  # a wrong password changes nothing
    assert accounts.authenticate(store, "ana", "clave-correcta").id == user_id
    upgraded = _stored_hash(store, user_id)
    assert upgraded.startswith("$argon2id$") and accounts.verify_password(upgraded, "clave-correcta")
    assert accounts.authenticate(store, "ana", "clave-correcta").id == user_id


def test_an_argon2_hash_at_other_parameters_is_rehashed_at_todays_at_the_next_sign_in(store):
    older = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1).hash("clave-correcta")
    user_id = _person(store, older)
    assert accounts.authenticate(store, "ana", "clave-correcta") is not None
    rehashed = _stored_hash(store, user_id)
    assert rehashed != older and not accounts.hasher.check_needs_rehash(rehashed)


def test_a_password_reset_while_the_old_one_is_being_rehashed_stands(store, monkeypatch):
    """The rehash is computed outside any transaction; a reset that lands meanwhile must win,
    or the old password would come back."""
    user_id = _person(store, scrypt_hash("clave-vieja"))
    hash_password = accounts.hash_password

    def reset_meanwhile(password: str) -> str:
        with store.unit_of_work() as s:
            s.get(User, user_id).password_hash = hash_password("clave-nueva")
        return hash_password(password)

    monkeypatch.setattr(accounts, "hash_password", reset_meanwhile)
    assert accounts.authenticate(store, "ana", "clave-vieja") is not None
    assert accounts.verify_password(_stored_hash(store, user_id), "clave-nueva")
