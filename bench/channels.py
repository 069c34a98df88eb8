"""How fast cases come in by the channels (issue 6), on SQLite.

- the mailbox: N messages APPENDed to a real Dovecot on loopback, then one poll takes them all
  (messages per second), and an idle poll (nothing new) costs how much;
- turning an intake item into a case (median ms);
- Open311: POST requests.json and GET requests.json over the Flask test client (p50, p95 ms);
- the public status lookup: a right and a wrong guess cost the same (median ms);
- possible duplicates of a case among ``CANDIDATES`` open look-alikes (median ms).

Ends with one JSON line. Run: ``.venv/bin/python bench/channels.py [--messages 300]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from email.message import EmailMessage

import common  # first: it puts the repository root first on sys.path

from engine.cases.finding import duplicates
from engine.db.models import Case, IntakeItem
from engine.facade import Atiende
from engine.intake import items, mailbox, open311, public_status
from engine.settings import ImapSettings
from tests.fixtures import dovecot
from web import create_app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(function, *args) -> float:
    """Milliseconds ``function(*args)`` took."""
    start = time.perf_counter()
    function(*args)
    return (time.perf_counter() - start) * 1000


def mail(i: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Ciudadano {i} <ciudadano{i}@example.com>"
    msg["Subject"] = f"Reporte {i}: basura acumulada en la calle {i % 40}"
    msg["Message-ID"] = f"<bench-{i}@example.com>"
    msg.set_content("Hace dos semanas no pasa el camión recolector; hay bolsas acumuladas.\n" * 5)
    if i % 5 == 0:
        msg.add_attachment(
            b"\xff\xd8\xff\xe0" + bytes(20_000), maintype="image", subtype="jpeg", filename=f"foto{i}.jpg"
        )
    return bytes(msg)


def bench_mailbox(atiende: Atiende, count: int) -> dict:
    server = dovecot.start()
    try:
        box = server.mailbox()
        imap = box.connect()
        for i in range(count):
            imap.append("INBOX", "", None, mail(i))
        imap.logout()
        settings = ImapSettings("127.0.0.1", box.user, box.password, port=box.port, tls="none")
        start = time.perf_counter()
        result = mailbox.poll(atiende, settings, limit=count)
        elapsed = time.perf_counter() - start
        assert result.new_items == count, result
        idle = statistics.median(timed(mailbox.poll, atiende, settings) for _ in range(5))
    finally:
        server.stop()
    return {"messages": count, "messages_per_s": round(count / elapsed, 1), "idle_poll_ms": round(idle, 1)}


def bench_convert(atiende: Atiende, count: int) -> dict:
    with atiende.store.read() as s:
        pending = items.pending(s)[:count]
    times = []
    for item in pending:
        values = {
            **items.start_form_values(item),
            "tipo_caso": "reporte",
            "corregimiento": "bella_vista",
            "lugar_notificaciones": item.sender_email,
        }
        times.append(timed(items.convert, atiende, item.id, values, common.OPERADOR))
    return {"conversions": len(times), "convert_median_ms": round(statistics.median(times), 2)}


def bench_open311(app, count: int) -> dict:
    engine = app.extensions["atiende"]
    key = open311.create_key(engine.store, "bench", "bench", engine.now())
    client = app.test_client()
    form = {
        "api_key": key,
        "service_code": "reporte",
        "lat": "8.98",
        "long": "-79.52",
        "first_name": "Marta",
        "last_name": "Núñez",
        "email": "marta@example.com",
        "description": "Hueco profundo en la vía.",
        "attribute[lugar_notificaciones]": "marta@example.com",
        "attribute[corregimiento]": "bella_vista",
    }
    posts, gets = [], []
    for n in range(count):
        if n and n % open311.PER_KEY[0].hits == 0:  # a client of its own for each burst a key may post
            form["api_key"] = open311.create_key(engine.store, f"bench {n}", "bench", engine.now())
        start = time.perf_counter()
        assert client.post("/open311/v2/requests.json", data=form).status_code == 200
        posts.append((time.perf_counter() - start) * 1000)
    for _ in range(20):
        start = time.perf_counter()
        assert client.get("/open311/v2/requests.json").status_code == 200
        gets.append((time.perf_counter() - start) * 1000)
    return {
        "open311_posts": count,
        "post_p50_ms": round(percentile(posts, 0.5), 2),
        "post_p95_ms": round(percentile(posts, 0.95), 2),
        "get_list_p50_ms": round(percentile(gets, 0.5), 2),
    }


def bench_status(atiende: Atiende) -> dict:
    """Right, wrong e-mail and unknown ticket; each guess on its own case and address, so the
    limits (rightly) never step in. The two failures must cost the same."""
    with atiende.store.read() as s:
        cases = s.query(Case).filter(Case.citizen_email.isnot(None)).limit(40).all()
    right, wrong, unknown = [], [], []
    for n, case in enumerate(cases):
        lookup, now = public_status.lookup, atiende.now()
        right.append(timed(lookup, atiende.store, case.ticket, case.citizen_email, f"10.0.{n}.1", now))
        wrong.append(timed(lookup, atiende.store, case.ticket, "otra@example.com", f"10.1.{n}.1", now))
        unknown.append(timed(lookup, atiende.store, f"AC-2026-9{n:05d}", case.citizen_email, f"10.2.{n}.1", now))
    return {
        "status_lookups": len(cases),
        "status_right_median_ms": round(statistics.median(right), 2),
        "status_wrong_email_median_ms": round(statistics.median(wrong), 2),
        "status_no_ticket_median_ms": round(statistics.median(unknown), 2),
    }


def bench_duplicates(atiende: Atiende) -> dict:
    with atiende.store.read() as s:
        case = s.query(Case).filter(Case.case_type == "reporte", Case.corregimiento == "bella_vista").first()
        times = [timed(duplicates.possible, s, case) for _ in range(20)]
        candidates = s.query(Case).filter(Case.case_type == "reporte", Case.corregimiento == "bella_vista").count()
    return {
        "duplicate_candidates": min(candidates - 1, duplicates.CANDIDATES),
        "duplicates_median_ms": round(statistics.median(times), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()
    with common.sqlite_database() as db:
        common.prepared_store(db).dispose()  # migrated and seeded: the app factory does not migrate
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": db.url})
        engine = app.extensions["atiende"]
        engine.deploy_directory("bench")
        figures = {"database": "sqlite"}
        figures.update(bench_mailbox(engine, args.messages))
        figures.update(bench_convert(engine, min(100, args.messages)))
        figures.update(bench_open311(app, args.posts))
        figures.update(bench_status(engine))
        figures.update(bench_duplicates(engine))
        with engine.store.read() as s:
            figures["intake_items_left"] = s.query(IntakeItem).filter(IntakeItem.status == "pendiente").count()
        engine.store.dispose()
    for name, value in figures.items():
        print(f"{name:>26}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
