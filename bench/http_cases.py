"""Whole cases through the real server over HTTP: how many per second, what one completion costs, and
the server's memory.

Each client — a person holding every role, so every task of the case is theirs — signs in to
``python -m web`` (Waitress, as ``make run`` serves it, in a subprocess, on a fresh SQLite
file or a PostgreSQL schema) and, case after case, does what a person does in the browser: posts
the start form (``/casos/nuevo?procedimiento=…``), opens the case page and its first task, then
for every task opens the task page and posts its form with valid data; completing a task leads
straight to the next one of the same case, until the case has none. With ``--clients N``, N
people do so at once, each on a thread and a connection of their own, sharing the cases out.
Every request is timed at the client; the server's resident memory is read from /proc when it
is up (idle), after the warm-up, and at the end, with its peak. The procedure is whatever is given:

    .venv/bin/python bench/http_cases.py [--cases 200] [--warmup 20] [--clients 1] [--flows posts pages]
        [--database-url postgresql://… [--network-delay-ms 0.25]] [--profile]
        [--diagrams processes/*.bpmn --forms forms --process atencion_correo_web]
        [--start start.json] [--submissions forms.json] [--direccion planificacion_urbana]

By default: every diagram of processes/ and every form of forms/, the e-mail/web procedure,
the start form of the first demo case (a queja by e-mail) and ``engine.demo.seed.SAMPLE_SUBMISSIONS``
for the task forms (``--start``/``--submissions`` take JSON files that replace or add to them).
``--network-delay-ms`` puts PostgreSQL as if on another machine: every chunk between the
server and it waits that long each way (``network_delay``). ``--profile`` also runs 20 cases
in-process with Flask's test client under cProfile and prints where the time goes by library.
The last line printed is one JSON object.
Targets: ≥ 30 cases/s for a 4-user-task procedure, ≤ 10 ms per task completion.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import re
import statistics
import sys
import threading
import time
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402
import live_server  # noqa: E402
import network_delay  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine.access.accounts import create_user  # noqa: E402
from engine.access.roles import ROLES  # noqa: E402
from engine.db.models import HumanTask  # noqa: E402
from engine.db.store import Store  # noqa: E402
from engine.demo import seed as demo  # noqa: E402
from engine.facade import FORMS_DIR, PROCESSES_DIR, Atiende  # noqa: E402
from engine.forms import schemas as form_schemas  # noqa: E402

USER, PASSWORD = "bench", "bench-clave-2026"
TASK_LINK = re.compile(r'href="/tareas/([0-9a-f-]{36})"')
FORM_NAME = re.compile(r'data-formulario="([^"]*)"')


def encode(values: dict) -> dict:
    """Form values as a browser posts them: ticked boxes «on», rows as campo.N.subcampo."""
    posted: dict = {}
    for name, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            posted[name] = "on"
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, row in enumerate(value):
                posted.update(encode({f"{name}.{i}.{key}": cell for key, cell in row.items()}))
        else:
            posted[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return posted


def people(clients: int) -> list[str]:
    """The usernames of the clients: «bench», or «bench1» … «benchN»."""
    return [USER] if clients == 1 else [f"{USER}{n}" for n in range(1, clients + 1)]


def prepare(db, diagrams: list[Path], forms_dir: Path, direccion: str, clients: int) -> None:
    """A fresh database with the procedure deployed and one person holding every role per client."""
    store = common.prepared_store(db)
    atiende = Atiende(store)
    files = {path.name: path.read_text(encoding="utf-8") for path in diagrams}
    atiende.deploy(files, form_schemas.load_directory(forms_dir), "sistema", note="bench/http_cases.py")
    with store.unit_of_work() as s:
        for username in people(clients):
            create_user(s, username, "Persona de prueba", PASSWORD, sorted(ROLES), direccion=direccion)
    store.dispose()


class Desk:
    """Takes whole cases through the web as one person, timing each kind of request.

    With ``pages`` the person opens every task page before posting its form (the form's name is
    read from the page); without, they post each form straight after the previous one, as the
    completion's redirect names the next task, and the harness reads the task's form name from
    the database (read-only, not timed as a request).
    """

    def __init__(self, client, process: str, start: dict, submissions: dict[str, dict], pages: bool, store: Store):
        self.client, self.process, self.start, self.submissions = client, process, start, submissions
        self.pages = pages
        self.store = store
        self.times: dict[str, list[float]] = {"start": [], "case_page": [], "task_page": [], "complete": []}
        self.tasks = 0

    def form_of(self, task_id: str) -> str:
        if self.pages:
            page = self.client.get(f"/tareas/{task_id}")
            self.times["task_page"].append(page.seconds)
            return FORM_NAME.search(page.body).group(1)
        with self.store.read() as s:
            return s.scalar(select(HumanTask.form).where(HumanTask.id == task_id)) or ""

    def one_case(self) -> None:
        response = self.client.post(f"/casos/nuevo?procedimiento={self.process}", encode(self.start))
        if response.status != 302:
            raise RuntimeError(f"the start form was refused ({response.status}): {_errors(response.body)}")
        self.times["start"].append(response.seconds)
        case_page = self.client.get(response.location)
        self.times["case_page"].append(case_page.seconds)
        link = TASK_LINK.search(case_page.body)
        while link:
            task_id = link.group(1)
            form = self.form_of(task_id)
            done = self.client.post(f"/tareas/{task_id}", encode(self.submissions.get(form, {})))
            if done.status != 302:
                raise RuntimeError(f"form «{form}» was refused ({done.status}): {_errors(done.body)}")
            self.times["complete"].append(done.seconds)
            self.tasks += 1
            link = re.match(r"/tareas/([0-9a-f-]{36})$", done.location)
            if link is None:  # back to the bandeja: the case has no task of mine (or none at all)
                link = TASK_LINK.search(self.client.get(response.location).body)


def _errors(body: str) -> str:
    return "; ".join(re.findall(r'<p class="error"[^>]*><span class="sr">Error:</span> ([^<]+)</p>', body))[:500]


def run(desk: Desk, cases: int) -> float:
    began = time.perf_counter()
    for _ in range(cases):
        desk.one_case()
    return time.perf_counter() - began


def run_together(desks: list[Desk], cases: int) -> float:
    """``cases`` shared out among the desks, each on a thread of its own; the seconds until the last ends."""
    failures: list[BaseException] = []

    def work(desk: Desk, share: int) -> None:
        try:
            run(desk, share)
        except BaseException as exc:  # noqa: BLE001 - reported after every thread ended
            failures.append(exc)

    shares = [cases // len(desks) + (1 if n < cases % len(desks) else 0) for n in range(len(desks))]
    threads = [threading.Thread(target=work, args=(d, share)) for d, share in zip(desks, shares, strict=True)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - began


def memory(server) -> dict:
    """The server's resident memory now and its peak, in MB: of its process tree, with the child that
    lays out documents when one is at work, and of the server process alone."""
    now, _peaks = live_server.tree_rss_mb(server.pid)
    return {
        "rss_mb": round(now, 1),
        "process_rss_mb": round(live_server.rss_mb(server.pid), 1),
        "peak_mb": round(live_server.peak_rss_mb(server.pid), 1),
    }


def profile_in_process(db_url: str, args, start, submissions) -> dict:
    """The same flow through Flask's test client in this process, under cProfile."""
    from web import create_app

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": db_url})

    class TestClient:
        def __init__(self):
            self._client = app.test_client()
            self.token = None

        def _wrap(self, response, seconds):
            location = response.headers.get("Location")
            return live_server.Response(response.status_code, location, response.get_data(as_text=True), seconds)

        def get(self, path):
            began = time.perf_counter()
            response = self._client.get(path)
            return self._wrap(response, time.perf_counter() - began)

        def post(self, path, form):
            began = time.perf_counter()
            response = self._client.post(path, data={**form, "csrf_token": self.token})
            return self._wrap(response, time.perf_counter() - began)

    client = TestClient()
    client.token = live_server.TOKEN.search(client.get("/ingresar").body).group(1)
    client.post("/ingresar", {"usuario": USER, "contrasena": PASSWORD})
    client.token = live_server.TOKEN.search(client.get("/").body).group(1)
    desk = Desk(client, args.process, start, submissions, True, app.extensions["atiende"].store)
    run(desk, 5)
    profiler = cProfile.Profile()
    profiler.enable()
    run(desk, 20)
    profiler.disable()
    app.extensions["atiende"].store.dispose()
    return common.summarize(
        profiler,
        [
            ("request, whole (Flask)", "flask/app.py", "wsgi_app"),
            ("template rendering (Jinja)", "flask/templating.py", "render_template"),
            ("sign-in check: user loader", "web/auth.py", "_load_user"),
            ("Atiende.start_case", "engine/facade.py", "start_case"),
            ("Atiende.complete_task", "engine/facade.py", "complete_task"),
            ("attachments/rows: reading the form", "web/ui/submission.py", "read"),
            ("task page (read side)", "web/tasks.py", "_page"),
            ("case page (read side)", "web/cases.py", "_case_page"),
        ],
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--diagrams", nargs="+", type=Path, default=sorted(PROCESSES_DIR.glob("*.bpmn")))
    parser.add_argument("--forms", type=Path, default=FORMS_DIR)
    parser.add_argument("--process", default=common.PROCESS)
    parser.add_argument("--start", type=Path, help="JSON file: the start form's values")
    parser.add_argument("--submissions", type=Path, help="JSON file: form name → valid values")
    parser.add_argument("--direccion", default="planificacion_urbana", help="the dirección of the person (an enlace)")
    parser.add_argument("--clients", type=int, default=1, help="people working at once, each on a connection")
    parser.add_argument("--flows", nargs="+", choices=("posts", "pages"), default=["posts", "pages"])
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (a schema of its own), not SQLite")
    parser.add_argument("--network-delay-ms", type=float, help="PostgreSQL only: milliseconds added each way")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    start = json.loads(args.start.read_text()) if args.start else demo.DEMO_CASES[0]
    submissions = {**demo.SAMPLE_SUBMISSIONS, **(json.loads(args.submissions.read_text()) if args.submissions else {})}
    postgres = common.postgres_url(args.database_url)
    if args.network_delay_ms and not postgres:
        parser.error("--network-delay-ms needs a PostgreSQL server (--database-url)")
    database = "SQLite"
    if postgres:
        database = f"PostgreSQL (+{args.network_delay_ms:g} ms each way)" if args.network_delay_ms else "PostgreSQL"
    result: dict = {
        "bench": "http_cases",
        "process": args.process,
        "cases": args.cases,
        "clients": args.clients,
        "server": f"python -m web (Waitress, 1 process), {database}",
        "network_delay_ms": args.network_delay_ms or 0,
    }
    delayed = network_delay.relayed(postgres, args.network_delay_ms) if postgres and args.network_delay_ms else None
    with (
        delayed or contextlib.nullcontext(postgres) as postgres,
        common.postgres_database(postgres) if postgres else common.sqlite_database() as db,
    ):
        prepare(db, args.diagrams, args.forms, args.direccion, args.clients)
        store = Store(db.url)
        with live_server.web_server(db.url) as server:
            result["memory_idle"] = memory(server)
            clients = []
            for username in people(args.clients):
                clients.append(live_server.Client(server))
                clients[-1].sign_in(username, PASSWORD)
            for flow in args.flows:
                pages = flow == "pages"
                run_together([Desk(c, args.process, start, submissions, pages, store) for c in clients], args.warmup)
                result.setdefault("memory_after_warmup", memory(server))
                desks = [Desk(c, args.process, start, submissions, pages, store) for c in clients]
                seconds = run_together(desks, args.cases)
                times = {kind: [t for d in desks for t in d.times[kind]] for kind in desks[0].times}
                per_case = sum(d.tasks for d in desks) / args.cases
                result[flow] = {
                    "requests_per_case": round(2 + (2 if pages else 1) * per_case, 2),
                    "cases_per_s": round(args.cases / seconds, 2),
                    **{
                        f"{kind}_{name}_ms": round(1000 * value(values), 2)
                        for kind, values in times.items()
                        if values
                        for name, value in (
                            ("median", statistics.median),
                            ("p95", lambda v: live_server.percentile(v, 0.95)),
                        )
                    },
                }
            result["memory_end"] = memory(server)
            result["server_peak_rss_mb"] = result["memory_end"]["peak_mb"]
            for client in clients:
                client.close()
        store.dispose()
        result["tasks_per_case"] = round(per_case, 2)
        result.update(
            {
                f"{key}": value
                for key, value in result[args.flows[0]].items()
                if key in ("cases_per_s", "complete_median_ms", "complete_p95_ms")
            }
        )
        if args.profile:
            summary = profile_in_process(db.url, args, start, submissions)
    result["target_cases_per_s"], result["target_complete_ms"] = 30, 10
    result["targets_met"] = result["cases_per_s"] >= 30 and result["complete_median_ms"] <= 10
    print(
        f"{args.process}: {args.cases} cases per flow after {args.warmup} warm-up, {per_case:g} user tasks per case, "
        f"{args.clients} client(s), {result['server']}."
    )
    for flow, title in (
        ("posts", "start, case page, then each form posted"),
        ("pages", "the same, opening each task page first"),
    ):
        if flow not in result:
            continue
        figures = result[flow]
        print(
            f"{flow}: {title}; {figures['requests_per_case']:g} requests per case; "
            f"{figures['cases_per_s']} cases/s (target ≥ 30)"
        )
        for kind in ("start", "case_page", "task_page", "complete"):
            if f"{kind}_median_ms" in figures:
                print(
                    f"  {kind:10s} median {figures[f'{kind}_median_ms']:7.2f} ms   "
                    f"p95 {figures[f'{kind}_p95_ms']:7.2f} ms" + ("   (target ≤ 10 ms)" if kind == "complete" else "")
                )
    print(
        "server memory (resident, MB): idle {idle}, after the warm-up {warm}, at the end {end} "
        "(the server process alone {alone}); peak {peak}".format(
            idle=result["memory_idle"]["rss_mb"],
            warm=result["memory_after_warmup"]["rss_mb"],
            end=result["memory_end"]["rss_mb"],
            alone=result["memory_end"]["process_rss_mb"],
            peak=result["server_peak_rss_mb"],
        )
    )
    if args.profile:
        print("In-process profile of 20 cases (Flask test client, cProfile):")
        common.print_summary(summary, 20, "case")
        print(summary["top"])
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
