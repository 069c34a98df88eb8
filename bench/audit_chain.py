"""What the audit trail's hash chain costs: appending a chained event, and verifying the chain.

Every audit event is hashed and linked to the one before, under the chain's lock (SQLite's
writer lock; an advisory lock on PostgreSQL), inside the transaction of the change. This
measures one transaction that records one event, chained and plain (the same insert
without the chain), the five events of a typical task step, and the time ``atiende audit
verify`` takes over a log of ``--events`` events. Prints figures, then one JSON line.

    .venv/bin/python bench/audit_chain.py [--events 50000] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import time

from common import START, median, postgres_database, postgres_url, prepared_store, rounded, sqlite_database

from engine.audit import chain as audit_chain
from engine.audit import trail as audit
from engine.db.models import AuditEvent

DETAIL = {
    "tarea": "Task_confeccionar_hoja",
    "nombre": "Confeccionar hoja de trámite",
    "datos": {
        "direccion": "planificacion_urbana",
        "resumen": "Ciudadana reporta falta de recolección.",
        "prioridad": "normal",
    },
    "antes": {},
}


def timed(store, events_per_transaction: int, chained: bool, repeat: int) -> float:
    """Median milliseconds of a transaction that records ``events_per_transaction`` events."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        with store.unit_of_work() as s:
            for _ in range(events_per_transaction):
                if chained:
                    audit.record(s, START, "operador", "tarea_completada", detail=DETAIL)
                else:
                    s.add(AuditEvent(at=START, actor="operador", kind="tarea_completada", detail=DETAIL))
                    s.flush()
        times.append((time.perf_counter() - began) * 1000)
    return median(times)


def fill(store, total: int, batch: int = 500) -> None:
    with store.read() as s:
        have = s.query(AuditEvent).count()
    while have < total:
        with store.unit_of_work() as s:
            for _ in range(min(batch, total - have)):
                audit.record(s, START, "operador", "tarea_completada", detail=DETAIL)
        have += batch


def measure(db, events: int) -> dict:
    store = prepared_store(db)
    try:
        # Plain (unchained) inserts first: the chain's head is then always the newest row, as in use.
        one_plain = timed(store, 1, False, 300)
        one_chained = timed(store, 1, True, 300)
        step = timed(store, 5, True, 200)
    finally:
        store.dispose()
    return {
        "one_event_chained_ms": rounded(one_chained, 3),
        "one_event_plain_ms": rounded(one_plain, 3),
        "five_events_chained_ms": rounded(step, 3),
        **verify_figures(db, events),
    }


def verify_figures(db, events: int) -> dict:
    with sqlite_database() if db.label == "sqlite" else postgres_database(db.url.split("?")[0]) as fresh:
        store = prepared_store(fresh)
        try:
            began = time.perf_counter()
            fill(store, events)
            fill_s = time.perf_counter() - began
            began = time.perf_counter()
            with store.read() as s:
                verdict = audit_chain.verify(s)
            verify_s = time.perf_counter() - began
        finally:
            store.dispose()
    assert verdict.intact and verdict.checked >= events, verdict
    return {
        "events": verdict.checked,
        "fill_events_per_s": rounded(verdict.checked / fill_s, 0),
        "verify_s": rounded(verify_s, 2),
        "verify_events_per_s": rounded(verdict.checked / verify_s, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--postgres", help="PostgreSQL URL (default: DATABASE_URL)")
    args = parser.parse_args()
    results = {}
    with sqlite_database() as db:
        results["sqlite"] = measure(db, args.events)
    pg = postgres_url(args.postgres)
    if pg:
        with postgres_database(pg) as db:
            results["postgresql"] = measure(db, args.events)
    for label, figures in results.items():
        print(f"{label}:")
        print(
            f"  one transaction, one event: chained {figures['one_event_chained_ms']} ms, "
            f"plain {figures['one_event_plain_ms']} ms (median)"
        )
        print(f"  one transaction, five chained events (a task step): {figures['five_events_chained_ms']} ms")
        print(
            f"  {figures['events']} chained events written at {figures['fill_events_per_s']}/s; "
            f"verified in {figures['verify_s']} s ({figures['verify_events_per_s']} events/s)"
        )
    print(json.dumps({"benchmark": "audit_chain", **results}))


if __name__ == "__main__":
    main()
