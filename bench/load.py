"""Concurrent clients against the real server (Locust): throughput, latency per kind, errors, memory.

The database holds a desk at work: ``--cases`` closed cases copied as bench/tasklist.py copies
them (varied people, places, types, subjects and dates, for the bandeja and the search to
work through), and ``--open`` open cases of the e-mail/web procedure run through the engine,
spread over its five user tasks. Office staff sign in (half operadores, a quarter
coordinadores, a quarter enlaces of the six direcciones; each client is a person) and, with no
pause between requests, do a weighted mix of what they do all day:

- the bandeja, with its filters and tabs (``bandeja``);
- a search: ticket, cédula, names, words (``search``);
- the page of a case seen in the bandeja or a search (``case_page``);
- a task from their bandeja: its page (``task_page``), then its form posted (``complete``);
  a task someone else completed first answers 409 and is counted as taken, not as an error;
- operadores only: the new-case form (``new_case_page``) and a new case posted (``start``).

The servers, each in its own processes, on the configurations ``--config`` names:

- ``sqlite1``: ``python -m web`` (Waitress, one process: ``make run``) on a SQLite file;
- ``pg1``, ``pg2``, ``pg4``: the production shape, ``gunicorn`` with 1, 2 or 4 processes of
  ``--threads`` threads (docs/operations.md) on a PostgreSQL schema of its own. The clients send
  each request on a connection of its own, as the shape's reverse proxy does.

For each configuration and each ``--clients`` count, a Locust process (this script with
``--drive``: Locust patches the standard library with gevent when imported, so it runs apart
from the seeding and the servers) signs everyone in, lets them work ``--warmup`` seconds, then
measures ``--seconds``. Reported: requests per second, p50/p95/p99 per kind (Locust's
percentiles: whole ms below 100 ms, tens of ms up to a second), errors, tasks taken by
someone else first, and the server's memory summed over its processes (/proc). The PostgreSQL
configurations share one database, seeded once and analyzed: each run adds the cases it started.

    .venv/bin/python bench/load.py [--config sqlite1 pg1 pg2 pg4] [--clients 8 32] [--seconds 45]
        [--warmup 10] [--cases 5000] [--open 600] [--threads 4]
        [--database-url postgresql://root@127.0.0.1:5432/postgres]

The last line printed is one JSON object. Targets at 32 clients on PostgreSQL with two
processes: no errors, p95 ≤ 150 ms for pages and ≤ 250 ms for completions, and two processes
≥ 1.6 times the requests per second of one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402
import http_cases  # noqa: E402
import live_server  # noqa: E402
import tasklist  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine.access import accounts  # noqa: E402
from engine.access.accounts import create_user  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db.models import HumanTask  # noqa: E402
from engine.demo.seed import SAMPLE_SUBMISSIONS  # noqa: E402
from engine.facade import Atiende  # noqa: E402

PASSWORD = "bench-clave-2026"
CONFIGS = {"sqlite1": ("sqlite", 1), "pg1": ("postgresql", 1), "pg2": ("postgresql", 2), "pg4": ("postgresql", 4)}
# Each client is a person; at most this many of each role (more clients share accounts).
ROLES = {"operador": 16, "coordinador": 8, "enlace": 8}
PAGES = ("bandeja", "search", "case_page", "task_page", "new_case_page")
COMPLETIONS = ("complete", "start")
TARGET_PAGE_P95_MS, TARGET_COMPLETION_P95_MS, TARGET_SCALE = 150, 250, 1.6


# -- the database -----------------------------------------------------------------------------
def staff() -> list[dict]:
    """The staff who sign in: (username, role, dirección), enlaces spread over the direcciones."""
    people = []
    for role, count in ROLES.items():
        for n in range(1, count + 1):
            direccion = common.DIRECCIONES[n % len(common.DIRECCIONES)] if role == "enlace" else None
            people.append({"username": f"{role}_{n}", "role": role, "direccion": direccion})
    return people


def seed(store, copies: int, open_cases: int, now: datetime) -> dict:
    """Procedures deployed, the staff, ``copies`` closed copies and ``open_cases`` real open cases."""
    began = time.perf_counter()
    built = tasklist.prepare(store, copies, 0, now)  # deploys; every copy closed: tasks only on real cases
    # One hash at the production cost for everyone (same password): the server verifies it at its
    # real cost and has nothing to replace at sign-in; the copies are hashed at Argon2's least.
    production_hash = accounts.hasher.hash(PASSWORD)
    production_hasher, accounts.hasher = accounts.hasher, PasswordHasher(1, 8, 1)
    with store.unit_of_work() as s:
        for person in staff():
            name = person["username"].replace("_", " ").title()
            user = create_user(s, person["username"], name, PASSWORD, [person["role"]], direccion=person["direccion"])
            user.password_hash = production_hash
    accounts.hasher = production_hasher
    atiende = Atiende(store, FrozenClock(now))
    for i in range(open_cases):
        case_id = atiende.start_case(common.PROCESS, common.start_form(i), common.OPERADOR).case_id
        for _ in range(i % 5):  # plantilla, hoja, aprobación, acuse, respuesta final: one stage each
            with store.read() as s:
                task = s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).first()
            atiende.complete_task(task.id, common.task_form(task.form, i), common.actor_for(task.lane, i))
    common.fresh_statistics(store)  # the open cases' tasks came after the copies' ANALYZE
    return {"cases": built["cases"] + open_cases, "seed_s": round(time.perf_counter() - began, 1)}


# -- the runs ---------------------------------------------------------------------------------
def drive(server, clients: int, seconds: float, warmup: float, queries: list[str], proxied: bool) -> dict:
    """One Locust run against ``server`` in its own process; its figures, and the server's memory after it.
    ``proxied``: each request on a connection of its own, as the production shape's reverse proxy sends them."""
    plan = {
        "host": f"http://{server.host}:{server.port}",
        "proxied": proxied,
        "clients": clients,
        "seconds": seconds,
        "warmup": warmup,
        "queries": queries,
        "accounts": staff(),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="atiende-load-") as file:
        json.dump(plan, file)
        file.flush()
        done = subprocess.run(
            [sys.executable, __file__, "--drive", file.name], capture_output=True, text=True, check=False
        )
    if done.returncode:
        raise RuntimeError(f"the Locust run failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    rss_now, rss_peak = live_server.tree_rss_mb(server.pid)
    figures["server_processes"] = len(live_server.process_tree(server.pid))
    figures["server_rss_mb"], figures["server_peak_rss_mb"] = round(rss_now, 1), round(rss_peak, 1)
    return figures


def run_config(name: str, db_url: str, args, queries: list[str]) -> list[dict]:
    kind, processes = CONFIGS[name]
    server = (
        live_server.web_server(db_url)
        if kind == "sqlite"
        else live_server.gunicorn_server(db_url, processes, threads=args.threads)
    )
    rows = []
    with server as running:
        for clients in args.clients:
            figures = drive(running, clients, args.seconds, args.warmup, queries, proxied=kind == "postgresql")
            rows.append({"config": name, "clients": clients, **figures})
            print_row(rows[-1])
    return rows


def print_row(row: dict) -> None:
    print(
        f"{row['config']:8s} {row['clients']:3d} clients: {row['rps']:6.1f} req/s, {row['errors']} errors, "
        f"{row['taken']} taken first by another, server {row['server_processes']} processes "
        f"{row['server_rss_mb']:.0f} MB (peaks {row['server_peak_rss_mb']:.0f} MB)"
    )
    for kind in (*PAGES, *COMPLETIONS):
        k = row["kinds"].get(kind)
        if k:
            print(
                f"    {kind:14s} {k['requests']:6d} req {k['rps']:6.1f}/s  p50 {k['p50_ms']:5.0f}  "
                f"p95 {k['p95_ms']:5.0f}  p99 {k['p99_ms']:5.0f} ms  failures {k['failures']}"
            )


def verdict(rows: list[dict]) -> dict:
    """The targets, at 32 clients on PostgreSQL: two processes against one."""
    by = {(r["config"], r["clients"]): r for r in rows}
    one, two = by.get(("pg1", 32)), by.get(("pg2", 32))
    if two is None:
        return {}
    worst_page = max(two["kinds"][k]["p95_ms"] for k in PAGES if k in two["kinds"])
    worst_completion = max(two["kinds"][k]["p95_ms"] for k in COMPLETIONS if k in two["kinds"])
    result = {
        "pg2_32_errors": two["errors"],
        "pg2_32_worst_page_p95_ms": worst_page,
        "pg2_32_worst_completion_p95_ms": worst_completion,
        "pg2_over_pg1_at_32": round(two["rps"] / one["rps"], 2) if one else None,
    }
    result["targets_met"] = (
        two["errors"] == 0
        and worst_page <= TARGET_PAGE_P95_MS
        and worst_completion <= TARGET_COMPLETION_P95_MS
        and (result["pg2_over_pg1_at_32"] or 0) >= TARGET_SCALE
    )
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--clients", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--cases", type=int, default=5000, help="closed cases, copied")
    parser.add_argument("--open", type=int, default=600, help="open cases, run through the engine")
    parser.add_argument("--threads", type=int, default=4, help="threads of each gunicorn process")
    parser.add_argument("--database-url", help="the PostgreSQL server (default DATABASE_URL)")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)  # the Locust process: its plan
    args = parser.parse_args(argv)
    if args.drive:
        return locust_run(json.loads(args.drive.read_text()))
    now = datetime.now(UTC).replace(microsecond=0)
    result: dict = {"bench": "load", "seconds": args.seconds, "warmup": args.warmup, "threads": args.threads}
    rows: list[dict] = []
    wanted = {CONFIGS[c][0] for c in args.config}
    if "sqlite" in wanted:
        with common.sqlite_database() as db:
            rows += seeded_runs(db, [c for c in args.config if CONFIGS[c][0] == "sqlite"], args, now, result)
    pg_url = common.postgres_url(args.database_url)
    if "postgresql" in wanted:
        if not pg_url:
            raise SystemExit("the PostgreSQL configurations need --database-url or DATABASE_URL")
        with common.postgres_database(pg_url) as db:
            rows += seeded_runs(db, [c for c in args.config if CONFIGS[c][0] == "postgresql"], args, now, result)
    result["runs"] = rows
    result.update(verdict(rows))
    if "targets_met" in result:
        print(
            f"At 32 clients, PostgreSQL, 2 processes: {result['pg2_32_errors']} errors, worst page p95 "
            f"{result['pg2_32_worst_page_p95_ms']} ms (≤ {TARGET_PAGE_P95_MS}), worst completion p95 "
            f"{result['pg2_32_worst_completion_p95_ms']} ms (≤ {TARGET_COMPLETION_P95_MS}), "
            f"{result['pg2_over_pg1_at_32']}× one process (≥ {TARGET_SCALE}): "
            f"targets {'met' if result['targets_met'] else 'NOT met'}."
        )
    print(json.dumps(result))
    return result


def seeded_runs(db, configs: list[str], args, now: datetime, result: dict) -> list[dict]:
    store = common.prepared_store(db)
    seeded = seed(store, args.cases, args.open, now)
    queries = [query for _person, query in tasklist.search_queries(store)]
    store.dispose()
    result[f"{db.label}_seed"] = seeded
    print(f"{db.label} {db.where}: {seeded['cases']:,} cases seeded in {seeded['seed_s']} s")
    rows = []
    for name in configs:
        rows += run_config(name, db.url, args, queries)
    return rows


# -- the Locust process -----------------------------------------------------------------------
def locust_run(plan: dict) -> dict:
    """Run the clients of ``plan`` with Locust in this process; print its figures as one JSON line."""
    import random
    import re
    from collections import Counter
    from itertools import count
    from urllib.parse import quote_plus

    import gevent
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    task_link, case_link = re.compile(r'href="/tareas/([0-9a-f-]{36})"'), re.compile(r'href="/casos/(\d+)"')
    today = datetime.now(UTC).date().isoformat()
    taken: Counter = Counter()
    signed_in: list[str] = []
    numbers = count(100_000)
    roster = {role: [p for p in plan["accounts"] if p["role"] == role] for role in ROLES}
    turns = {role: count() for role in ROLES}

    def submission(form: str) -> dict:
        values = common.task_form(form, random.randrange(60)) if form in common.TASK_FORMS else {}
        values = {**SAMPLE_SUBMISSIONS.get(form, {}), **values}
        for field in ("fecha_recibo", "fecha_respuesta"):
            if field in values:
                values[field] = today  # the real clock: not before the case was opened
        return http_cases.encode(values)

    class Staff(FastHttpUser):
        abstract = True
        host = plan["host"]
        wait_time = constant(0)
        # A reverse proxy opens a connection to the processes for each request (nginx's default), and
        # whichever process accepts it first serves it. A client's own kept connection would stay with
        # the process that accepted it at sign-in: 28 clients on one of two processes and 4 on the other
        # were seen, the first ones' requests waiting five times as long.
        default_headers = {"Connection": "close"} if plan["proxied"] else None
        role = ""
        filters = ("",)

        def on_start(self):
            people = roster[self.role]
            self.person = people[next(turns[self.role]) % len(people)]
            page = self.client.get("/ingresar", name="sign_in")
            self.token = live_server.TOKEN.search(page.text).group(1)
            self.post("/ingresar", {"usuario": self.person["username"], "contrasena": PASSWORD}, "sign_in")
            self.cases: list[str] = []
            self.bandeja()
            signed_in.append(self.person["username"])

        def post(self, path: str, form: dict, name: str, expected=(302,)):
            with self.client.post(
                path, data={**form, "csrf_token": self.token}, name=name, allow_redirects=False, catch_response=True
            ) as response:
                if response.status_code == 409:
                    taken[name] += 1
                    response.success()
                elif response.status_code in expected:
                    response.success()
                else:
                    response.failure(f"{response.status_code}: {http_cases._errors(response.text or '')}")
                return response

        def page(self, path: str, name: str) -> str:
            with self.client.get(path, name=name, catch_response=True) as response:
                if response.status_code == 409:  # a task completed by someone else since the bandeja
                    taken[name] += 1
                    response.success()
                    return ""
                if response.status_code != 200:
                    response.failure(str(response.status_code))
                    return ""
                text = response.text
                token = live_server.TOKEN.search(text)
                if token:
                    self.token = token.group(1)
                self.cases = (case_link.findall(text) or self.cases)[:20]
                return text

        @task(35)
        def bandeja(self) -> str:
            return self.page(f"/?{random.choice(self.filters)}", "bandeja")

        @task(15)
        def search(self):
            self.page(f"/buscar/?q={quote_plus(random.choice(plan['queries']))}", "search")

        @task(20)
        def case_page(self):
            if self.cases:
                self.page(f"/casos/{random.choice(self.cases)}", "case_page")

        @task(20)
        def complete(self):
            tasks = task_link.findall(self.page("/", "bandeja"))
            if not tasks:
                return
            task_id = random.choice(tasks)
            form = http_cases.FORM_NAME.search(self.page(f"/tareas/{task_id}", "task_page"))
            if form:
                self.post(f"/tareas/{task_id}", submission(form.group(1)), "complete")

    class Operador(Staff):
        weight, role = 2, "operador"
        filters = tuple(query for person, query in tasklist.BANDEJA if person == "operador")

        @task(10)
        def new_case(self):
            path = f"/casos/nuevo?procedimiento={common.PROCESS}"
            self.page(path, "new_case_page")
            self.post(path, http_cases.encode(common.start_form(next(numbers))), "start")

    class Coordinador(Staff):
        weight, role = 1, "coordinador"
        filters = tuple(query for person, query in tasklist.BANDEJA if person == "coordinador")

    class Enlace(Staff):
        weight, role = 1, "enlace"
        filters = tuple(query for person, query in tasklist.BANDEJA if person == "enlace")

    env = Environment(user_classes=[Operador, Coordinador, Enlace])
    runner = env.create_local_runner()
    runner.start(plan["clients"], spawn_rate=plan["clients"])
    deadline = time.monotonic() + 180
    while len(signed_in) < plan["clients"]:  # sign-ins hash at Argon2's cost: before the warm-up, not in it
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(signed_in)} of {plan['clients']} clients signed in: {env.stats.errors}")
        gevent.sleep(0.2)
    gevent.sleep(plan["warmup"])
    env.stats.reset_all()
    taken.clear()
    began = time.monotonic()
    gevent.sleep(plan["seconds"])
    elapsed = time.monotonic() - began
    kinds = {
        name: {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": round(entry.num_requests / elapsed, 1),
            **{f"p{p}_ms": entry.get_response_time_percentile(p / 100) for p in (50, 95, 99)},
        }
        for (name, _method), entry in sorted(env.stats.entries.items())
        if entry.num_requests
    }
    errors = [{"kind": e.name, "error": str(e.error), "count": e.occurrences} for e in env.stats.errors.values()]
    runner.quit()
    figures = {
        "seconds": round(elapsed, 1),
        "requests": env.stats.total.num_requests,
        "rps": round(env.stats.total.num_requests / elapsed, 1),
        "errors": sum(e["count"] for e in errors),
        "error_kinds": errors[:10],
        "taken": sum(taken.values()),
        "kinds": kinds,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
