"""Bytes per case at 100,000 mixed cases: the whole database, each table, and the workflow state alone.

Real cases of the e-mail/web procedure go through the engine, one per case type, all opened
at the same moment of a frozen clock; their rows are snapshotted along their lives:

* open, at each stage: the template of the case type, the hoja de trámite, its approval, the
  acuse de recibo, then waiting for the final answer;
* long-waiting: still waiting for the final answer 1 to 5 weeks later, each weekly follow-up
  and fortnightly review worked as it came (the timers fired by ``run_timer_sweep``), escalated
  after the 30-day legal term;
* closed: answered right after the acuse, or after 1, 2, 3 or 5 weeks of follow-up.

Before them, as an office that runs ``atiende estados compactar`` would have, three rounds of
the same real cases are made and a dictionary is learnt from their states' shape
(``engine.bpm.state.compaction``); the snapshotted cases' states are written with it. It is learnt
from other cases than the copied ones, whose task ids every copy repeats byte for byte
(``--no-dictionary``: plain frames).

A snapshot holds every row of the case in every table that belongs to a case (the case, its
open tasks, its audit trail, documents, outgoing mail, indicator rows …: every table with a
foreign key to ``cases``, and the tables hanging from those). ``--cases`` copies of the
snapshots are then bulk-inserted, ``--open`` of them open, with SQLAlchemy Core
``executemany``: each copy gets new ids, its own ticket, and its template's rows otherwise
as stored (the workflow state byte for byte, the audit events with their hashes: nothing
here reads the chain). The search index fills from its triggers, as for any case.

Measured: the database's size (SQLite: its pages; PostgreSQL: ``pg_total_relation_size`` of
every table of the schema) and each table's share with its indexes, divided by the cases;
and the workflow state alone (``case_state.workflow``: stored bytes; on PostgreSQL also what
TOAST keeps of it). Rendered PDFs are not counted: the document rows are, but their bytes
are made after the step by the rendering worker, which the benchmark does not run.

    .venv/bin/python bench/storage.py [--cases 100000] [--open 20000] [--no-dictionary]
                      [--database-url postgresql://root@127.0.0.1:5432/test]

SQLite by default (a fresh file in a temporary directory); PostgreSQL with --database-url (a
schema of its own, dropped at the end). The last line printed is one JSON object with every
figure.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402
from sqlalchemy import Integer, String, Table, func, insert, select, text  # noqa: E402

from engine.bpm.state import compaction  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db.models import Base, Case, HumanTask, StateDictionary  # noqa: E402
from engine.demo.seed import SAMPLE_SUBMISSIONS  # noqa: E402
from engine.facade import Atiende  # noqa: E402
from engine.indicators import rollup, steps  # noqa: E402

CHUNK = 2000  # copies per executemany round
PAST_ROUNDS = 3  # rounds of real cases before the copied ones: the states a dictionary learns from
WEEK = timedelta(days=7)
CLOSED_AFTER = (0, 1, 2, 3, 5)  # weeks of follow-up before the final answer, one case type each
WAITING_WEEKS = 5
# (snapshot kind, share of its group): the mix the copies follow.
CLOSED_MIX = [("cerrado_0", 0.30), ("cerrado_1", 0.25), ("cerrado_2", 0.20), ("cerrado_3", 0.15), ("cerrado_5", 0.10)]
OPEN_MIX = [
    ("plantilla", 0.05),
    ("hoja", 0.04),
    ("aprobacion", 0.04),
    ("acuse", 0.07),
    ("espera_0", 0.20),
    ("espera_1", 0.18),
    ("espera_2", 0.14),
    ("espera_3", 0.12),
    ("espera_4", 0.09),
    ("espera_5", 0.07),
]
OPEN_STAGES = ("plantilla", "hoja", "aprobacion", "acuse", "espera_0")


def case_tables() -> list[Table]:
    """``cases`` and every table whose rows belong to a case (a foreign key to it, or to such a table)."""
    bound = [Case.__table__]
    for table in Base.metadata.sorted_tables:  # parents before children
        if table is not Case.__table__ and any(fk.column.table in bound for fk in table.foreign_keys):
            bound.append(table)
    return bound


# -- the real cases the copies are made of ------------------------------------------------
def submission(form: str, i: int) -> dict:
    return common.task_form(form, i) if form in common.TASK_FORMS else dict(SAMPLE_SUBMISSIONS[form])


def work(atiende: Atiende, case_id: int, i: int, bpmn_ids: tuple[str, ...] | None = None) -> int:
    """Complete the case's open tasks (those of ``bpmn_ids`` only, if given); returns how many."""
    with atiende.store.read() as s:
        tasks = sorted(s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)), key=lambda t: t.bpmn_id)
    done = 0
    for task in tasks:
        if bpmn_ids is None or task.bpmn_id in bpmn_ids:
            atiende.complete_task(task.id, submission(task.form, i), common.actor_for(task.lane, i))
            done += 1
    return done


FOLLOW_UP = ("Task_seguimiento_semanal", "Task_revision_quincenal", "Task_atender_escalado")


def snapshot(store, tables: list[Table], case_id: int) -> dict[str, list[dict]]:
    """Every row of the case, by table."""
    rows: dict[str, list[dict]] = {}
    with store.engine.connect() as conn:
        for table in tables:
            key = table.c.id if table is Case.__table__ else table.c.get("case_id")
            if key is None:
                continue
            rows[table.name] = [dict(r) for r in conn.execute(select(table).where(key == case_id)).mappings()]
        for table in tables:  # the tables hanging from the case's own rows (an attachment of its mail …)
            if table.name in rows:
                continue
            found: dict[tuple, dict] = {}  # by primary key: a row may hang from two of the case's rows
            for fk in table.foreign_keys:
                ids = [r[fk.column.name] for r in rows.get(fk.column.table.name, [])]
                for r in conn.execute(select(table).where(fk.parent.in_(ids))).mappings() if ids else ():
                    found[tuple(r[c.name] for c in table.primary_key)] = dict(r)
            rows[table.name] = list(found.values())
    return rows


def make_templates(atiende: Atiende, frozen: FrozenClock) -> dict[str, list[dict]]:
    """Snapshots of real cases by kind (``OPEN_MIX`` and ``CLOSED_MIX``): one case per case type at each."""
    store, tables = atiende.store, case_tables()
    kinds: dict[str, list[dict]] = {kind: [] for kind, _share in OPEN_MIX + CLOSED_MIX}
    opened = frozen.now()
    cases = []
    for i, _tipo in enumerate(common.TIPOS):
        for closing in (None, *CLOSED_AFTER):
            cases.append(
                (atiende.start_case(common.PROCESS, common.start_form(i), common.OPERADOR).case_id, i, closing)
            )
    for stage in OPEN_STAGES:
        for case_id, i, closing in cases:
            if closing is None:
                kinds[stage].append(snapshot(store, tables, case_id))
            if stage != "espera_0":
                work(atiende, case_id, i)
    for week in range(WAITING_WEEKS + 1):
        if week:
            frozen.set(opened + week * WEEK + timedelta(hours=1))
            atiende.run_timer_sweep()
            for case_id, i, closing in cases:
                if closing is None or closing >= week:
                    work(atiende, case_id, i, FOLLOW_UP)
            kinds[f"espera_{week}"] += [snapshot(store, tables, c) for c, _i, closing in cases if closing is None]
        for case_id, i, closing in cases:
            if closing == week:
                work(atiende, case_id, i, ("Task_respuesta_final",))
                kinds[f"cerrado_{week}"].append(snapshot(store, tables, case_id))
    return kinds


# -- the copies ---------------------------------------------------------------------------
class Copier:
    """Inserts copies of snapshots with new keys: integer ids counted on, text ids drawn anew, the
    foreign keys among the copied rows following their parents' new keys."""

    def __init__(self, store, tables: list[Table]):
        self.store, self.tables = store, tables
        self.next_id: dict[str, int] = {}
        with store.engine.connect() as conn:
            for table in tables:
                if "id" in table.c and isinstance(table.c.id.type, Integer):
                    self.next_id[table.name] = (conn.scalar(select(func.max(table.c.id))) or 0) + 1
        self.buffers: dict[str, list[dict]] = {table.name: [] for table in tables}

    def add(self, rows: dict[str, list[dict]], ticket: str, opened) -> None:
        """One copy of a snapshot, as the case ``ticket``, its times moved to start at ``opened``."""
        new: dict[tuple[str, str, object], object] = {}  # (table, column, old value) → new value
        template = rows["cases"][0]
        shift = opened - template["opened_at"]
        for table in self.tables:
            for row in rows.get(table.name, ()):
                copy = dict(row)
                for column in table.c:
                    value = row[column.name]
                    if value is None:
                        continue
                    fk = next(iter(column.foreign_keys), None)
                    if fk is not None and (fk.column.table.name, fk.column.name, value) in new:
                        copy[column.name] = new[(fk.column.table.name, fk.column.name, value)]
                    elif column.primary_key and column.name == "id":
                        if table.name in self.next_id:
                            copy["id"] = self.next_id[table.name]
                            self.next_id[table.name] += 1
                        elif isinstance(column.type, String):
                            copy["id"] = uuid.uuid4().hex[: len(value)] if len(value) < 36 else str(uuid.uuid4())
                        new[(table.name, "id", value)] = copy["id"]
                    elif column.unique and isinstance(value, str):  # the ticket, a Message-ID …
                        copy[column.name] = value.replace(template["ticket"], ticket)
                        if copy[column.name] == value:  # the same length, its start drawn anew
                            copy[column.name] = uuid.uuid4().hex[: min(12, len(value))] + value[12:]
                    elif hasattr(value, "tzinfo") and hasattr(value, "hour"):
                        copy[column.name] = value + shift
                if table is Case.__table__:
                    copy["data"] = {**row["data"], "ticket": ticket}
                self.buffers[table.name].append(copy)

    def flush(self, conn) -> int:
        rows = 0
        for table in self.tables:
            buffer = self.buffers[table.name]
            if buffer:
                conn.execute(insert(table), buffer)
                rows += len(buffer)
                buffer.clear()
        return rows


def build(store, templates: dict[str, list[dict]], cases: int, open_cases: int, seed: int = 7) -> dict:
    """Insert ``cases`` copies, ``open_cases`` of them open, opened over the last 16 months."""
    rng = random.Random(seed)
    plan = []
    for mix, total in ((OPEN_MIX, open_cases), (CLOSED_MIX, cases - open_cases)):
        counts = [round(total * share) for _kind, share in mix]
        counts[0] += total - sum(counts)
        plan += [kind for (kind, _share), count in zip(mix, counts, strict=True) for _ in range(count)]
    rng.shuffle(plan)
    copier = Copier(store, case_tables())
    newest = max(t["cases"][0]["opened_at"] for group in templates.values() for t in group)
    began = time.perf_counter()
    rows = 0
    for start in range(0, len(plan), CHUNK):  # a transaction per chunk: SQLite's WAL stays small
        with store.engine.begin() as conn:
            for number, kind in enumerate(plan[start : start + CHUNK], start=start + 1):
                opened = newest - timedelta(days=480 * (len(plan) - number) / len(plan), hours=number % 24)
                copier.add(rng.choice(templates[kind]), f"AC-{opened.year}-{number:06d}", opened)
            rows += copier.flush(conn)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            for table, next_id in copier.next_id.items():
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {next_id})"))
    return {"copies": len(plan), "rows": rows, "build_s": time.perf_counter() - began}


# -- the measurement ----------------------------------------------------------------------
def sizes(store) -> dict[str, dict[str, int]]:
    """Bytes of each table: {"table": {"data": …, "indexes": …}}; the search index's own tables as one."""
    found: dict[str, dict[str, int]] = {}
    with store.engine.connect() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            owner = dict(conn.exec_driver_sql("SELECT name, tbl_name FROM sqlite_master").fetchall())
            kinds = dict(conn.exec_driver_sql("SELECT name, type FROM sqlite_master").fetchall())
            for name, size in conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                table = owner.get(name, name)
                if table.startswith("case_fts"):
                    table = "case_fts"
                part = "indexes" if kinds.get(name) == "index" else "data"
                entry = found.setdefault(table, {"data": 0, "indexes": 0})
                entry[part] += size
        else:
            query = text(
                "SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
            for name, data, indexes in conn.execute(query):
                found[name] = {"data": data, "indexes": indexes}
    return found


def workflow_bytes(store) -> dict[str, float]:
    """The workflow state per case: as stored, and on PostgreSQL as TOAST keeps it."""
    with store.engine.connect() as conn:
        if store.is_sqlite:
            stored = conn.scalar(text("SELECT AVG(LENGTH(CAST(workflow AS BLOB))) FROM case_state"))
            return {"workflow_bytes": stored}
        stored, kept = conn.execute(
            text("SELECT AVG(octet_length(workflow)), AVG(pg_column_size(workflow)) FROM case_state")
        ).one()
        return {"workflow_bytes": float(stored), "workflow_kept_bytes": float(kept)}


def measure(db, cases: int, open_cases: int, dictionary: bool = True) -> dict:
    store = common.prepared_store(db)
    frozen = FrozenClock(common.START)
    atiende = Atiende(store, frozen)
    atiende.deploy_directory("sistema", note="bench")
    t0 = time.perf_counter()
    trained_on = 0
    if dictionary:  # the office's earlier cases, which the dictionary learns from: not the ones copied
        for _past in range(PAST_ROUNDS):
            make_templates(atiende, frozen)
        compaction.train(store, atiende.serializer.codec, frozen.now())
        with store.read() as s:
            trained_on = s.scalar(select(StateDictionary.states)) or 0
    templates = make_templates(atiende, frozen)
    templates_s = time.perf_counter() - t0
    with store.read() as s:  # the template cases count among the cases, the open ones among the open
        made, made_open = s.execute(select(func.count(), func.count(Case.closed_at))).one()
    built = build(store, templates, cases - made, open_cases - (made - made_open))
    with store.unit_of_work() as s:  # the roll-ups of the figures, as `atiende indicadores reconstruir` makes them
        rollup.rebuild(s)
        steps.rebuild(s)
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    with store.read() as s:
        total_cases = s.scalar(select(func.count()).select_from(Case))
    by_table = sizes(store)
    state = workflow_bytes(store)
    store.dispose()
    total = sum(t["data"] + t["indexes"] for t in by_table.values())
    return {
        "database": db.label,
        "cases": total_cases,
        "dictionary_states": trained_on,
        "templates_s": round(templates_s, 1),
        "build_s": round(built["build_s"], 1),
        "rows": built["rows"],
        "total_mb": round(total / 1e6, 1),
        "bytes_per_case": round(total / total_cases),
        **{k: round(v) for k, v in state.items()},
        "tables": {
            name: {part: round(size / total_cases) for part, size in parts.items()}
            for name, parts in sorted(by_table.items(), key=lambda kv: -sum(kv[1].values()))
        },
    }


def report(figures: dict) -> None:
    print(
        f"{figures['database']}: {figures['cases']:,} cases, {figures['total_mb']:,} MB, "
        f"{figures['bytes_per_case']:,} bytes a case (built in {figures['templates_s']} s + {figures['build_s']} s)"
    )
    print(f"  {'table':28s}{'data':>10s}{'indexes':>10s}   bytes a case")
    for name, parts in figures["tables"].items():
        if parts["data"] + parts["indexes"] >= 1:
            print(f"  {name:28s}{parts['data']:>10,}{parts['indexes']:>10,}")
    kept = f", {figures['workflow_kept_bytes']:,} as TOAST keeps it" if "workflow_kept_bytes" in figures else ""
    learnt = figures["dictionary_states"]
    how = f"with a dictionary learnt from {learnt} earlier states" if learnt else "without a dictionary"
    print(f"  workflow state alone: {figures['workflow_bytes']:,} bytes a case{kept} ({how})")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--database-url", help="measure on a schema of its own on this PostgreSQL server")
    parser.add_argument(
        "--no-dictionary", action="store_true", help="states in plain frames, as before `atiende estados compactar`"
    )
    args = parser.parse_args(argv)
    database = common.postgres_database(args.database_url) if args.database_url else common.sqlite_database()
    with database as db:
        figures = measure(db, args.cases, args.open, dictionary=not args.no_dictionary)
    report(figures)
    result = {"bench": "storage", "open": args.open, **figures}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
