"""Signing in with a ceiling on failures, per account at an address and per address, in the database.

Attempts are counted with ``engine.access.ratelimit`` (rows in the database), so every server
process counts the same attempts and a restart forgets none. An attempt is counted before its
password is checked, in one statement with the check of the limit, so parallel attempts cannot
slip past it; a right password gives its attempt back, so only failures add up.

Who is held back is the account *at one address*: five wrong passwords from an attacker's
address lock that address out of the account, not the account's owner signing in from
another. Each pair has longer windows behind the first (``PER_ACCOUNT_AT_ADDRESS``): 5
failures wait out 15 minutes, 10 the hour, 20 the day, so a patient guesser from one address
gets 20 tries a day. An address also has a ceiling over every account (``PER_ADDRESS``),
which stops one address from trying many usernames. No limit is kept per account alone:
anyone could then lock the administrator out; a guesser with many addresses is slowed
per address, and the password rules do the rest.
"""

from __future__ import annotations

from datetime import timedelta

from engine.access import ratelimit
from engine.access.accounts import authenticate as check_password
from engine.access.ratelimit import Limit
from engine.db.models import User
from engine.errors import Throttled
from engine.facade import Atiende

PER_ACCOUNT_AT_ADDRESS = (
    Limit("ingreso_cuenta_direccion", hits=5, window=timedelta(minutes=15)),
    Limit("ingreso_cuenta_direccion_hora", hits=10, window=timedelta(hours=1)),
    Limit("ingreso_cuenta_direccion_dia", hits=20, window=timedelta(days=1)),
)
PER_ADDRESS = (
    Limit("ingreso_direccion", hits=20, window=timedelta(minutes=15)),
    Limit("ingreso_direccion_dia", hits=100, window=timedelta(days=1)),
)


def authenticate(atiende: Atiende, username: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None; raises Throttled past a ceiling."""
    username = username.strip()
    address = address or "desconocida"
    # An address holds no "/", so the pair's key is unambiguous.
    counted = [(limit, f"{address}/{username.lower()}") for limit in PER_ACCOUNT_AT_ADDRESS]
    counted += [(limit, address) for limit in PER_ADDRESS]
    now = atiende.now()
    until = ratelimit.take(atiende.store, now, counted)
    if until is not None:
        raise Throttled(ratelimit.seconds_until(until, now))
    user = check_password(atiende.store, username, password)
    if user is not None:
        ratelimit.give_back(atiende.store, now, counted)
    return user
