"""Signing in with a ceiling on failures, per username and per address, counted in the database.

Failures are counted with ``engine.access.ratelimit`` (rows in the database), so every server
process counts the same attempts and a restart forgets none. Past ``PER_USERNAME`` failures
for one username, or ``PER_ADDRESS`` from one address, within a window, the sign-in is
refused without even checking the password until the window ends.
"""

from __future__ import annotations

from datetime import timedelta

from engine.access.accounts import authenticate as check_password
from engine.access.ratelimit import Limit
from engine.db.models import User
from engine.errors import Throttled
from engine.facade import Atiende

PER_USERNAME = Limit("ingreso_usuario", hits=5, window=timedelta(minutes=15))
PER_ADDRESS = Limit("ingreso_direccion", hits=20, window=timedelta(minutes=15))


def authenticate(atiende: Atiende, username: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None; raises Throttled past the ceiling."""
    username = username.strip()
    counted = ((PER_USERNAME, username.lower()), (PER_ADDRESS, address or "desconocida"))
    now = atiende.now()
    with atiende.store.read() as s:
        for limit, key in counted:
            if limit.exceeded(s, key, now):
                raise Throttled(int(limit.window.total_seconds() // 60))
        user = check_password(s, username, password)
    if user is None:
        with atiende.unit_of_work() as s:
            for limit, key in counted:
                limit.record(s, key, now)
    return user
