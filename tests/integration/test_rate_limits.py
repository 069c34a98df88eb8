"""Rate limits under parallel requests and the policies they serve, on SQLite and PostgreSQL.

The parallel tests start every thread at one barrier against the engine and a real database:
a limit counts an attempt and checks it in one statement, so no thread slips between them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from engine.access import administration, ratelimit, signin
from engine.access.accounts import Actor
from engine.errors import FormErrors, Throttled, TooManyGuesses, TooManyReports
from engine.intake import public_status, web_report

ADMIN = Actor("admin", frozenset({"admin"}))
PASSWORD = "una-clave-larga"
REPORT = {
    "tipo_caso": "reporte",
    "ciudadano_nombre": "José Rodríguez",
    "ciudadano_cedula": "8-111-2222",
    "ciudadano_email": "jose.r@example.com",
    "lugar_notificaciones": "jose.r@example.com",
    "corregimiento": "san_francisco",
    "domicilio": "Vía Porras, frente al parque",
    "asunto": "Luminaria apagada",
    "descripcion": "La luminaria frente al parque está apagada desde hace un mes.",
}


def in_parallel(count: int, attempt: Callable[[int], object]) -> list[object]:
    """Run ``attempt(n)`` for n in range(count) on as many threads, all released at once;
    each result is what it returned or the refusal it raised."""
    barrier = threading.Barrier(count)

    def run(n: int) -> object:
        barrier.wait()
        try:
            return attempt(n)
        except (Throttled, TooManyGuesses, TooManyReports) as refused:  # anything else fails the test
            return refused

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def add_user(atiende, username: str = "olga", roles: tuple[str, ...] = ("operador",)) -> None:
    administration.add_user(
        atiende,
        {
            "usuario": username,
            "nombre": "Olga Operadora",
            "correo": f"{username}@example.com",
            "roles": list(roles),
            "direccion": "",
            "contrasena": PASSWORD,
        },
        ADMIN,
    )


def report(n: int, **changes) -> dict:
    """A valid report of citizen ``n`` (their own e-mail and cédula)."""
    email = f"ciudadano{n}@example.com"
    return {
        **REPORT,
        "ciudadano_email": email,
        "lugar_notificaciones": email,
        "ciudadano_cedula": f"8-{n}-1",
        **changes,
    }


# -- the counter --------------------------------------------------------------------------------


def test_a_take_counts_every_limit_or_none_and_a_give_back_returns_the_hit(store, frozen_clock):
    short = ratelimit.Limit("prueba_corta", hits=2, window=timedelta(minutes=10))
    long = ratelimit.Limit("prueba_larga", hits=3, window=timedelta(hours=1))
    now = frozen_clock.now()
    both = [(short, "a"), (long, "a")]
    assert ratelimit.take(store, now, both) is None
    assert ratelimit.take(store, now, both) is None
    assert ratelimit.take(store, now, both) == now + timedelta(minutes=10)  # the short one refuses...
    later = now + timedelta(minutes=10)
    assert ratelimit.take(store, later, both) is None  # ...and counted nothing: the long one is at 3 now
    assert ratelimit.take(store, later, both) == now + timedelta(hours=1)
    ratelimit.give_back(store, later, both)
    assert ratelimit.take(store, later, both) is None  # the hit given back is free again
    assert ratelimit.take(store, now, [(short, "b")]) is None  # keys count apart


def test_parallel_takes_admit_exactly_the_limit(store, frozen_clock):
    limit = ratelimit.Limit("prueba", hits=5, window=timedelta(minutes=10))
    results = in_parallel(20, lambda n: ratelimit.take(store, frozen_clock.now(), [(limit, "misma")]))
    assert results.count(None) == 5


# -- sign-in ------------------------------------------------------------------------------------


def test_parallel_sign_ins_check_at_most_the_limit_of_passwords(atiende, monkeypatch):
    add_user(atiende)
    checked = []
    check = signin.check_password

    def counting(session, username, password):
        checked.append(password)
        return check(session, username, password)

    monkeypatch.setattr(signin, "check_password", counting)
    results = in_parallel(30, lambda n: signin.authenticate(atiende, "olga", f"mala-{n}", "10.6.6.6"))
    assert results.count(None) == len(checked) <= signin.PER_ACCOUNT_AT_ADDRESS[0].hits


def test_an_attacker_cannot_lock_the_admin_out_from_another_address(atiende):
    add_user(atiende, "admin2", ("admin",))
    for attempt in range(signin.PER_ACCOUNT_AT_ADDRESS[0].hits):
        assert signin.authenticate(atiende, "admin2", f"mala-{attempt}", "10.6.6.6") is None
    with pytest.raises(Throttled):
        signin.authenticate(atiende, "admin2", PASSWORD, "10.6.6.6")  # the attacker's address waits
    assert signin.authenticate(atiende, "admin2", PASSWORD, "10.0.0.1").username == "admin2"


def test_failures_at_one_address_lock_it_out_for_longer_each_time(atiende, frozen_clock):
    add_user(atiende)
    first, second = signin.PER_ACCOUNT_AT_ADDRESS[0], signin.PER_ACCOUNT_AT_ADDRESS[1]
    for attempt in range(first.hits):
        assert signin.authenticate(atiende, "olga", f"mala-{attempt}", "10.0.0.1") is None
    with pytest.raises(Throttled) as locked:
        signin.authenticate(atiende, "olga", PASSWORD, "10.0.0.1")
    assert locked.value.minutes == 15
    frozen_clock.advance(minutes=15)
    for attempt in range(second.hits - first.hits):
        assert signin.authenticate(atiende, "olga", f"otra-{attempt}", "10.0.0.1") is None
    frozen_clock.advance(minutes=15)  # the short window is over, the longer one is not
    with pytest.raises(Throttled) as longer:
        signin.authenticate(atiende, "olga", PASSWORD, "10.0.0.1")
    assert longer.value.minutes == 30  # until the hour ends
    frozen_clock.advance(minutes=30)
    assert signin.authenticate(atiende, "olga", PASSWORD, "10.0.0.1").username == "olga"


def test_a_right_password_gives_its_hit_back(atiende):
    add_user(atiende)
    for _ in range(signin.PER_ACCOUNT_AT_ADDRESS[0].hits * 2):
        assert signin.authenticate(atiende, "olga", PASSWORD, "10.0.0.1").username == "olga"
    for attempt in range(signin.PER_ACCOUNT_AT_ADDRESS[0].hits):
        assert signin.authenticate(atiende, "olga", f"mala-{attempt}", "10.0.0.1") is None


# -- the citizen's status lookup ----------------------------------------------------------------


def test_the_owner_still_consults_a_ticket_after_wrong_guesses_from_everywhere(desk):
    case_id = desk.start(ciudadano_email="maria.perez@example.com")
    ticket = desk.case(case_id).ticket
    store, now = desk.atiende.store, desk.clock.now()
    for n in range(3 * public_status.PER_ADDRESS.hits):
        assert public_status.lookup(store, ticket, f"x{n}@example.com", f"10.0.{n}.1", now) is None
    assert public_status.lookup(store, ticket, "maria.perez@example.com", "10.9.9.9", now).ticket == ticket


def test_wrong_guesses_from_one_address_are_limited_in_parallel(desk):
    case_id = desk.start(ciudadano_email="maria.perez@example.com")
    ticket = desk.case(case_id).ticket
    store, now = desk.atiende.store, desk.clock.now()
    results = in_parallel(20, lambda n: public_status.lookup(store, ticket, f"x{n}@example.com", "10.6.6.6", now))
    assert results.count(None) <= public_status.PER_ADDRESS.hits
    with pytest.raises(TooManyGuesses):
        public_status.lookup(store, ticket, "maria.perez@example.com", "10.6.6.6", now)


def test_right_answers_do_not_count_against_the_address(desk):
    case_id = desk.start(ciudadano_email="maria.perez@example.com")
    ticket = desk.case(case_id).ticket
    store, now = desk.atiende.store, desk.clock.now()
    for _ in range(public_status.PER_ADDRESS.hits + 1):
        assert public_status.lookup(store, ticket, "maria.perez@example.com", "10.0.0.1", now) is not None


# -- Reporte Ciudadano --------------------------------------------------------------------------


def test_parallel_reports_from_one_address_are_held_to_the_burst_limit(atiende):
    results = in_parallel(20, lambda n: web_report.submit(atiende, report(n), True, [], "10.6.6.6"))
    accepted = [r for r in results if not isinstance(r, TooManyReports)]
    assert 0 < len(accepted) <= web_report.PER_ADDRESS[0].hits


def test_a_kiosk_files_thirty_citizens_reports_in_an_hour(atiende, frozen_clock):
    for n in range(30):
        web_report.submit(atiende, report(n), True, [], "10.1.1.1")
        frozen_clock.advance(minutes=2)


def test_one_citizen_is_limited_from_any_address(atiende):
    limit = web_report.PER_CITIZEN.hits
    for n in range(limit):
        web_report.submit(atiende, report(0), True, [], f"10.0.0.{n}")
    with pytest.raises(TooManyReports):
        web_report.submit(atiende, report(0), True, [], "10.0.0.99")
    with pytest.raises(TooManyReports):  # the same cédula under another e-mail
        web_report.submit(atiende, report(1, ciudadano_cedula="8-0-1"), True, [], "10.0.0.99")
    web_report.submit(atiende, report(1), True, [], "10.0.0.99")  # another citizen is not


def test_all_reports_together_have_a_ceiling(atiende, monkeypatch):
    monkeypatch.setattr(web_report, "ALL", ratelimit.Limit(web_report.ALL.bucket, hits=3, window=timedelta(hours=1)))
    for n in range(3):
        web_report.submit(atiende, report(n), True, [], f"10.0.0.{n}")
    with pytest.raises(TooManyReports):
        web_report.submit(atiende, report(9), True, [], "10.0.0.9")


def test_an_invalid_report_counts_nothing(atiende):
    for _ in range(web_report.PER_ADDRESS[0].hits + 1):
        with pytest.raises(FormErrors):
            web_report.submit(atiende, report(0, corregimiento=""), True, [], "10.0.0.1")
    web_report.submit(atiende, report(0), True, [], "10.0.0.1")
