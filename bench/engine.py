"""Whole cases per second: bare SpiffWorkflow in memory vs the engine on SQLite (and PostgreSQL).

Every path drives the same diagram (processes/atencion_correo_web.bpmn) along the same
route: start form → template of the case type → hoja de trámite → approval (aprobar) →
acuse de recibo by the enlace of the case's dirección → respuesta final, which closes the
case. Form data is valid for every schema; case type and dirección rotate with the case.

(a) memory:  parse once; per case BpmnWorkflow + initial data (start form, ticket,
             fecha_inicio), do_engine_steps, then complete each READY user task with
             set_data / run / do_engine_steps until the workflow completes. Form data is
             validated once beforehand (bare SpiffWorkflow validates nothing).
(a') mem+dumps: (a) plus InstanceSerializer.dumps after every step — the floor of any
             engine that persists each step (not a target, a yardstick).
(b) sqlite:  Atiende.start_case, then complete_task for each task the per-case task
             projection (human_task rows) returns, as the actor of the task's lane.
(c) postgres: the same as (b) on a fresh schema, when DATABASE_URL or --database-url is set.

Both paths must complete exactly the same user tasks, case by case; this is asserted.

    .venv/bin/python bench/engine.py [--cases 200] [--warmup 20] [--repeat 3]
                      [--database-url postgresql://root@127.0.0.1:5432/test] [--profile]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402  (it also takes bench/ off sys.path: "engine" is the package, not this file)
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from engine import clock
from engine.bpm import parsing as bpmn  # noqa: E402
from engine.bpm.scripting import sandbox
from engine.bpm.state.serializer import InstanceSerializer  # noqa: E402
from engine.cases import queries
from engine.clock import FrozenClock  # noqa: E402
from engine.db.models import Case, CaseState  # noqa: E402
from engine.facade import FORMS_DIR, PROCESSES_DIR, Atiende  # noqa: E402
from engine.forms import catalogs
from engine.forms import schemas as form_schemas  # noqa: E402

ROUTE_END_STATUS = "cerrado"


@dataclass
class Run:
    """The timings of one path over a batch of cases."""

    path: str
    cases: int = 0
    seconds: float = 0.0
    start_s: list = field(default_factory=list)  # per case: start (ms)
    task_s: list = field(default_factory=list)  # per task completion (s)
    lookup_s: list = field(default_factory=list)  # per task-list read (engine paths)
    routes: dict = field(default_factory=dict)  # case index → [bpmn ids completed]

    @property
    def cases_per_s(self):
        return self.cases / self.seconds if self.seconds else None

    @property
    def ms_per_task(self):
        return 1000 * sum(self.task_s) / len(self.task_s) if self.task_s else None

    @property
    def ms_per_start(self):
        return 1000 * sum(self.start_s) / len(self.start_s) if self.start_s else None

    @property
    def ms_per_case(self):
        return 1000 * self.seconds / self.cases if self.cases else None


# -- valid data, cleaned as the engine cleans it -------------------------------------------
class Submissions:
    """Every submission of every case, validated once with the engine's own form code."""

    def __init__(self):
        self.schemas = form_schemas.load_directory(FORMS_DIR)
        seed = json.loads(catalogs.SEED.read_text(encoding="utf-8"))
        self.codes = {name: {item["code"] for item in items} for name, items in seed.items()}
        self._cache: dict = {}

    def clean(self, form: str, submitted: dict) -> dict:
        return form_schemas.clean(self.schemas[form], submitted, self.codes)

    def start(self, i: int) -> dict:
        key = ("__start__", i)
        if key not in self._cache:
            self._cache[key] = self.clean("captura_correo_web", common.start_form(i))
        return self._cache[key]

    def task(self, form: str, i: int) -> dict:
        key = (form, i)
        if key not in self._cache:
            self._cache[key] = self.clean(form, common.task_form(form, i))
        return self._cache[key]


# -- (a) bare SpiffWorkflow in memory -------------------------------------------------------
def parse_once():
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(PROCESSES_DIR.glob("*.bpmn"))}
    parser = bpmn.parser_for(files)
    return parser.get_spec(common.PROCESS), parser.get_subprocess_specs(common.PROCESS)


def run_memory(spec, subprocess_specs, indexes, frozen: FrozenClock, subs: Submissions, serializer=None) -> Run:
    """Path (a); with ``serializer``, also dump the instance after every step, as the engine does."""
    run = Run("memory" if serializer is None else "mem+dumps")
    dump = serializer.dumps if serializer is not None else (lambda _workflow: None)
    for i in indexes:  # prepare the data outside the timed loop
        subs.start(i)
        for form in common.TASK_FORMS:
            subs.task(form, i)
    fecha_inicio = frozen.now().astimezone(clock.PANAMA).isoformat()
    gc.collect()
    with clock.using(frozen):
        began = time.perf_counter()
        for n, i in enumerate(indexes):
            t0 = time.perf_counter()
            data = {**subs.start(i), "ticket": f"AC-2026-{n + 1:06d}", "fecha_inicio": fecha_inicio}
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=sandbox.script_engine())
            workflow.task_tree.data.update(data)
            workflow.do_engine_steps()
            dump(workflow)
            run.start_s.append(time.perf_counter() - t0)
            route = []
            while True:
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                if not ready:
                    break
                task = min(ready, key=lambda t: t.task_spec.bpmn_id)
                t0 = time.perf_counter()
                task.set_data(**subs.task(bpmn.form_of(task.task_spec), i))  # 3.2 has no Task.update_data
                task.run()
                workflow.do_engine_steps()
                dump(workflow)
                run.task_s.append(time.perf_counter() - t0)
                route.append(task.task_spec.bpmn_id)
            if not workflow.is_completed():
                raise AssertionError(f"memory case {i}: the workflow waits with no READY user task")
            run.routes[i] = route
        run.seconds = time.perf_counter() - began
    run.cases = len(indexes)
    return run


# -- (b)/(c) the engine -------------------------------------------------------------------
def engine_for(store, frozen: FrozenClock) -> Atiende:
    atiende = Atiende(store, frozen)
    atiende.deploy_directory("bench", note="benchmark")
    return atiende


def run_engine(atiende: Atiende, indexes, label: str) -> Run:
    run = Run(label)
    store = atiende.store
    case_ids = {}
    gc.collect()
    began = time.perf_counter()
    for i in indexes:
        t0 = time.perf_counter()
        case_id = atiende.start_case(common.PROCESS, common.start_form(i), common.OPERADOR).case_id
        run.start_s.append(time.perf_counter() - t0)
        route = []
        while True:
            t0 = time.perf_counter()
            with store.read() as s:
                tasks = queries.open_tasks(s, case_id)
            run.lookup_s.append(time.perf_counter() - t0)
            if not tasks:
                break
            task = min(tasks, key=lambda t: t.bpmn_id)
            t0 = time.perf_counter()
            atiende.complete_task(task.id, common.task_form(task.form, i), common.actor_for(task.lane, i))
            run.task_s.append(time.perf_counter() - t0)
            route.append(task.bpmn_id)
        run.routes[i] = route
        case_ids[i] = case_id
    run.seconds = time.perf_counter() - began
    run.cases = len(indexes)
    with store.read() as s:  # outside the timing: every case must have been closed
        statuses = dict(s.execute(select(Case.id, Case.status).where(Case.id.in_(case_ids.values()))).all())
    wrong = {i: statuses.get(cid) for i, cid in case_ids.items() if statuses.get(cid) != ROUTE_END_STATUS}
    if wrong:
        raise AssertionError(f"{label}: cases not {ROUTE_END_STATUS!r} at the end: {dict(list(wrong.items())[:5])}")
    return run


def same_routes(reference: Run, other: Run) -> None:
    for i, route in reference.routes.items():
        if other.routes.get(i) != route:
            raise AssertionError(
                f"case {i}: {reference.path} completed {route}, {other.path} completed {other.routes.get(i)}"
            )


# -- profile of the engine path -------------------------------------------------------------
FOCUS = [  # (label, file suffix, function name): inclusive time of the engine's main steps
    ("Atiende.start_case", "engine/facade.py", "start_case"),
    ("Atiende.complete_task", "engine/facade.py", "complete_task"),
    ("  Atiende.clean_form (form validation)", "engine/facade.py", "clean_form"),
    ("    forms.clean", "engine/forms/schemas.py", "clean"),
    ("    catalogs.codes (query)", "engine/forms/catalogs.py", "codes"),
    ("  tickets.next_ticket", "engine/cases/tickets.py", "next_ticket"),
    ("  Runtime._advance (engine steps + persist)", "engine/bpm/runtime.py", "_advance"),
    ("    BpmnWorkflow.do_engine_steps", "SpiffWorkflow/bpmn/workflow.py", "do_engine_steps"),
    ("    Task.run (all tasks, incl. inside engine steps)", "SpiffWorkflow/task.py", "run"),
    ("    Runtime._persist", "engine/bpm/runtime.py", "_persist"),
    ("      InstanceSerializer.dumps", "engine/bpm/state/serializer.py", "dumps"),
    ("      next_timer_due", "engine/bpm/runtime.py", "next_timer_due"),
    ("      Runtime._project_tasks", "engine/bpm/runtime.py", "_project_tasks"),
    ("  Session.flush (all)", "sqlalchemy/orm/session.py", "flush"),
    ("  Session.commit (+ savepoint releases)", "sqlalchemy/orm/session.py", "commit"),
    ("  Session.get", "sqlalchemy/orm/session.py", "get"),
    ("  Session.refresh", "sqlalchemy/orm/session.py", "refresh"),
    ("  Session.execute (queries)", "sqlalchemy/orm/session.py", "execute"),
    ("  sqlite3 execute (C)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("  sqlite3 commit (C)", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("  psycopg Cursor.execute", "psycopg/cursor.py", "execute"),
    ("  psycopg Connection.commit", "psycopg/connection.py", "commit"),
    ("  pool checkout (pre-ping on PostgreSQL)", "sqlalchemy/pool/base.py", "_checkout"),
    ("  Store.unit_of_work (enter+exit)", "engine/db/store.py", "unit_of_work"),
]


def profile_engine(atiende: Atiende, indexes, label: str) -> dict:
    profiler = cProfile.Profile()
    profiler.enable()
    run = run_engine(atiende, indexes, label)
    profiler.disable()
    summary = common.summarize(profiler, FOCUS)
    wall = wall_breakdown(atiende, [i + len(indexes) for i in indexes], label)
    return {
        "label": label,
        "statements": trace_statements(atiende, indexes[-1] + 1),
        "run": run,
        "summary": summary,
        "wall": wall,
    }


WALL_STEPS = [  # (label, owner, attribute): wrapped with a wall-clock timer during the breakdown
    ("Atiende.start_case", "engine.facade:Atiende", "start_case"),
    ("Atiende.complete_task", "engine.facade:Atiende", "complete_task"),
    ("  Atiende.clean_form (form validation + catalogue query)", "engine.facade:Atiende", "clean_form"),
    ("  tickets.next_ticket", "engine.cases.tickets", "next_ticket"),
    ("  Runtime.complete (set_data, run, audit, advance)", "engine.bpm.runtime:Runtime", "complete"),
    ("    BpmnWorkflow.do_engine_steps", "SpiffWorkflow.bpmn.workflow:BpmnWorkflow", "do_engine_steps"),
    ("    InstanceSerializer.dumps", "engine.bpm.state.serializer:InstanceSerializer", "dumps"),
    ("    runtime.next_timer_due", "engine.bpm.runtime", "next_timer_due"),
    ("    Runtime._project_tasks", "engine.bpm.runtime:Runtime", "_project_tasks"),
    ("    effects.apply (documents and mail)", "engine.paperwork.effects", "apply"),
    ("    audit_chain.append", "engine.audit.chain", "append"),
    ("  Atiende.check_start (who may start)", "engine.facade:Atiende", "check_start"),
    ("  incidents.passed (resolve the task's incident)", "engine.cases.incidents", "passed"),
    ("  Session.flush (every flush, autoflush included)", "sqlalchemy.orm.session:Session", "flush"),
    ("  SessionTransaction.commit (flush + COMMIT)", "sqlalchemy.orm.session:SessionTransaction", "commit"),
]


def wall_breakdown(atiende: Atiende, indexes, label: str) -> list[tuple[str, float, float]]:
    """Inclusive wall time of the engine's steps, with plain timers (far less distortion than cProfile)."""
    with common.wall_timers(WALL_STEPS) as spent:
        run = run_engine(atiende, indexes, label)
    n = run.cases
    return [("whole case (start + 5 tasks + task-list reads)", 1000 * run.seconds / n, 1)] + [
        (step, 1000 * secs / n, calls / n) for step, (secs, calls, _depth) in spent.items()
    ]


def trace_statements(atiende: Atiende, i: int) -> list[tuple[str, list[str]]]:
    """The SQL statements of each call of one case (start_case, then each complete_task); SQLite only.

    Most of them run on the driver's cursor (engine/db/statements.py), where SQLAlchemy's execution
    events do not see them; SQLite's own trace callback sees every one, BEGIN and COMMIT included.
    """
    store = atiende.store
    if not store.is_sqlite:
        return []
    log: list[str] = []

    def trace(dbapi_connection, _record, _proxy):
        dbapi_connection.set_trace_callback(lambda statement: log.append(" ".join(statement.split())[:110]))

    def untrace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(None)

    event.listen(store.engine, "checkout", trace)
    event.listen(store.engine, "checkin", untrace)
    try:
        calls = []
        case_id = atiende.start_case(common.PROCESS, common.start_form(i), common.OPERADOR).case_id
        calls.append(("start_case", list(log)))
        while True:
            with store.read() as s:
                tasks = queries.open_tasks(s, case_id)
            if not tasks:
                break
            task = min(tasks, key=lambda t: t.bpmn_id)
            log.clear()
            atiende.complete_task(task.id, common.task_form(task.form, i), common.actor_for(task.lane, i))
            calls.append((f"complete_task {task.bpmn_id}", list(log)))
        with store.read() as s:
            size = len(s.get(CaseState, case_id).workflow)
        calls.append((f"(workflow JSON of the closed case: {size} characters)", []))
        return calls
    finally:
        event.remove(store.engine, "checkout", trace)
        event.remove(store.engine, "checkin", untrace)


def print_profile(prof: dict) -> None:
    run = prof["run"]
    print(
        f"\nProfile of the {prof['label']} engine path ({run.cases} cases, under cProfile: "
        f"{run.ms_per_case:.1f} ms/case, i.e. slower than unprofiled)"
    )
    common.print_wall(prof["wall"], "case")
    common.print_summary(prof["summary"], run.cases, "case")
    if not prof["statements"]:
        print("SQL statements per call: traced on SQLite only")
    else:
        print(f"SQL statements per call (one case, {prof['label']}; BEGIN and COMMIT included):")
    for call, statements in prof["statements"]:
        print(f"  {call}: {len(statements)} statements" if statements else f"  {call}")
    first_complete = next((st for call, st in prof["statements"] if call.startswith("complete_task")), [])
    for statement in first_complete:
        print(f"      {statement}")
    print("Top 25 functions by self time:")
    print(prof["summary"]["top"])


# -- main ---------------------------------------------------------------------------------
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=200, help="cases per measured round (default 200)")
    ap.add_argument("--warmup", type=int, default=20, help="cases per path before measuring (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="measured rounds; medians are reported (default 3)")
    ap.add_argument("--database-url", help="PostgreSQL server for path (c); default: $DATABASE_URL")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="then, on each database, time the engine's steps over one more round and profile another with cProfile",
    )
    args = ap.parse_args(argv)

    pg_url = common.postgres_url(args.database_url)
    subs = Submissions()
    spec, subprocess_specs = parse_once()
    frozen = FrozenClock(common.START)

    paths = ["memory", "mem+dumps", "sqlite"] + (["postgres"] if pg_url else [])
    serializer = InstanceSerializer()
    runs: dict[str, list[Run]] = {p: [] for p in paths}
    profiles = []
    with (
        common.sqlite_database() as sqlite_db,
        common.postgres_database(pg_url) if pg_url else contextlib.nullcontext() as pg_db,
    ):
        engines = {"sqlite": engine_for(common.prepared_store(sqlite_db), frozen)}
        if pg_db is not None:
            engines["postgres"] = engine_for(common.prepared_store(pg_db), frozen)

        warm = list(range(args.warmup))
        ref = run_memory(spec, subprocess_specs, warm, frozen, subs)
        for label, atiende in engines.items():
            same_routes(ref, run_engine(atiende, warm, label))

        next_index = args.warmup
        for _round in range(args.repeat):
            indexes = list(range(next_index, next_index + args.cases))
            next_index += args.cases
            mem = run_memory(spec, subprocess_specs, indexes, frozen, subs)
            runs["memory"].append(mem)
            dumped = run_memory(spec, subprocess_specs, indexes, frozen, subs, serializer)
            same_routes(mem, dumped)
            runs["mem+dumps"].append(dumped)
            for label, atiende in engines.items():
                r = run_engine(atiende, indexes, label)
                same_routes(mem, r)
                runs[label].append(r)
        if args.profile:
            for label, atiende in engines.items():
                profiles.append(profile_engine(atiende, list(range(next_index, next_index + args.cases)), label))
                next_index += 2 * args.cases + 1
        for atiende in engines.values():
            atiende.store.dispose()

    # -- report ---------------------------------------------------------------------------
    def med(path, attr):
        return common.median([getattr(r, attr) for r in runs[path]]) if path in runs else None

    route = runs["memory"][0].routes[args.warmup]
    tasks_per_case = sum(len(r) for r in runs["memory"][0].routes.values()) / args.cases
    print(
        f"Diagram {common.PROCESS}: {args.cases} cases × {args.repeat} rounds "
        f"after {args.warmup} warm-up cases per path; "
        f"{tasks_per_case:.0f} user tasks per case (e.g. {' → '.join(route)}); every case ends '{ROUTE_END_STATUS}'."
    )
    print("Both paths completed the same user tasks in every case (asserted).")
    print(
        f"{'path':10s} {'cases/s':>9s} {'ms/case':>9s} {'ms/start':>9s} {'ms/task':>9s} {'ms/lookup':>10s}"
        "   cases/s per round"
    )
    for path in paths:
        lookup = (
            common.median([1000 * sum(r.lookup_s) / len(r.lookup_s) for r in runs[path]])
            if runs[path][0].lookup_s
            else None
        )
        per_round = ", ".join(f"{r.cases_per_s:.1f}" for r in runs[path])
        print(
            f"{path:10s} {med(path, 'cases_per_s'):9.1f} {med(path, 'ms_per_case'):9.2f} "
            f"{med(path, 'ms_per_start'):9.2f} "
            f"{med(path, 'ms_per_task'):9.2f} {(f'{lookup:10.2f}') if lookup else '         -'}   {per_round}"
        )
    ratio = med("memory", "cases_per_s") / med("sqlite", "cases_per_s")
    print(f"ratio memory/sqlite cases per second: {ratio:.2f} (target ≤ 3) — {'met' if ratio <= 3 else 'NOT met'}")
    if pg_url:
        print(f"ratio memory/postgres: {med('memory', 'cases_per_s') / med('postgres', 'cases_per_s'):.2f}")
    else:
        print("PostgreSQL: skipped (set DATABASE_URL or --database-url)")
    for prof in profiles:
        print_profile(prof)

    result = {
        "bench": "engine",
        "cases": args.cases,
        "rounds": args.repeat,
        "warmup": args.warmup,
        "tasks_per_case": tasks_per_case,
        "memory_cases_per_s": common.rounded(med("memory", "cases_per_s"), 1),
        "memory_ms_per_task": common.rounded(med("memory", "ms_per_task"), 3),
        "memory_with_dumps_cases_per_s": common.rounded(med("mem+dumps", "cases_per_s"), 1),
        "sqlite_cases_per_s": common.rounded(med("sqlite", "cases_per_s"), 1),
        "sqlite_ms_per_task": common.rounded(med("sqlite", "ms_per_task"), 3),
        "sqlite_ms_per_start": common.rounded(med("sqlite", "ms_per_start"), 3),
        "postgres_cases_per_s": common.rounded(med("postgres", "cases_per_s"), 1) if pg_url else None,
        "postgres_ms_per_task": common.rounded(med("postgres", "ms_per_task"), 3) if pg_url else None,
        "ratio_memory_over_sqlite": round(ratio, 2),
        "ratio_memory_over_postgres": round(med("memory", "cases_per_s") / med("postgres", "cases_per_s"), 2)
        if pg_url
        else None,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
