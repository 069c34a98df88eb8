"""Passwords are kept as scrypt hashes at the production cost; a hash names its own cost."""

from __future__ import annotations

import pytest

from engine.access import accounts
from tests.conftest import CHEAP_PASSWORD_COST


@pytest.mark.real_password_cost
def test_a_password_is_hashed_at_the_production_cost_and_verifies():
    stored = accounts.hash_password("atiende2026")
    assert stored.startswith(f"scrypt${2**14}$8$1$")
    assert accounts.verify_password(stored, "atiende2026")
    assert not accounts.verify_password(stored, "atiende2027")
    assert stored != accounts.hash_password("atiende2026")  # a salt of its own


def test_a_hash_made_at_another_cost_verifies_by_the_cost_it_names_and_a_broken_one_never_does():
    n, r, p = CHEAP_PASSWORD_COST  # what the tests hash at
    stored = accounts.hash_password("clave")
    assert stored.startswith(f"scrypt${n}${r}${p}$") and accounts.verify_password(stored, "clave")
    assert not accounts.verify_password(stored.replace(f"scrypt${n}$", f"scrypt${n * 2}$", 1), "clave")
    assert not accounts.verify_password("no es un hash", "clave")
    assert not accounts.verify_password("scrypt$x$8$1$AAAA$AAAA", "clave")
