"""The indicators at 1,000,000 cases: seeding them fast, then p50/p95 of every indicators page over HTTP.

Seeding. The procedures are deployed for real (their versions are what ``cases.procedure_version_id``
points at), then ``--cases`` cases are written as plain rows, never through the engine: 3 years
of cases across the 6 direcciones, the case types, the 5 channels, 26 corregimientos and four
procedures (the e-mail/web, walk-in and telephone front doors, which call the common
tramitación, and Defensa del Usuario's own); ~85 % closed (most within the legal term, some
late, each dirección with its own lateness) and the rest open (some past their term, escalated),
each open case with its task in ``human_task``. Every case carries its audit trail as the engine
writes it: ``caso_creado``, ``tarea_completada`` of each main step it went through (its
``creada`` saying when the task opened), ``estado_cambiado`` when it is remitted, escalated and
closed (≈ 8 events a case). The events carry no hash: the chain (``engine.audit.chain``) is about
tampering, not about figures.

The rows go in chunks of 10,000 with a commit per chunk: on SQLite ``executemany`` of the
statement Core compiles for the table (values already in the form the column types store, so
no per-row type processing), on PostgreSQL ``COPY … FROM STDIN`` through psycopg's
``cursor.copy``. The secondary indexes of the three tables are dropped before and rebuilt after
(one sort instead of a B-tree update per row), foreign keys are not checked row by row (the rows
are consistent by construction), and statistics are refreshed at the end. Then the roll-ups the
pages read are rebuilt, timed apart: the indicators' as ``atiende indicadores reconstruir`` does
(``engine.indicators.rollup.rebuild``), the step times as migration 0018 back-fills them
(``engine.indicators.steps.rebuild``).

Measuring. The real server — ``python -m web``, Waitress, as ``make run`` serves it, in a
subprocess — serves that database; one coordinador signed in over HTTP asks, in turn, for the
indicators page with no filter and with each filter (dirección, case type, channel,
corregimiento, procedure, a past quarter), a drill-down to the cases behind a figure, the
heatmap of the common tramitación and the public /transparencia; each request is timed at the
client, from sending to the last byte. A page that answers 404 is reported as missing, not timed.

    .venv/bin/python bench/indicators.py [--cases 1000000] [--requests 30]
        [--database postgresql://root@127.0.0.1:5432/test]

Without ``--database``: a SQLite file in a temporary directory; with it: a schema of its own on
that server, dropped afterwards. The last line printed is one JSON object with every figure.
Target (issue 19): p95 ≤ 300 ms for each kind at 1,000,000 cases, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402
import live_server  # noqa: E402
from sqlalchemy import Table, func, insert, select, text  # noqa: E402

from engine.access.accounts import create_user  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db import event_kinds, packing  # noqa: E402
from engine.db.models import AuditEvent, Case, HumanTask, ProcedureVersion, TaskId, sqlite_instant  # noqa: E402
from engine.db.store import Store  # noqa: E402
from engine.facade import Atiende  # noqa: E402
from engine.indicators import rollup, steps  # noqa: E402

USER, PASSWORD = "coordinador", "bench-clave-2026"
TARGET_P95_MS = 300
CHUNK = 10_000
YEARS = 3
TIPOS = ["queja_reclamo", "solicitud_informacion", "sugerencia", "reporte"]
# (dirección, share of the cases, share of its closed cases answered late)
DIRECCIONES = [
    ("planificacion_urbana", 0.28, 0.10),
    ("gestion_ambiental", 0.20, 0.18),
    ("coordinacion_corregidores", 0.16, 0.30),
    ("call_center_311", 0.14, 0.06),
    ("obras_construcciones", 0.13, 0.25),
    ("participacion_ciudadana", 0.09, 0.12),
]
CORREGIMIENTOS = [
    "24_de_diciembre",
    "alcalde_diaz",
    "ancon",
    "bella_vista",
    "betania",
    "caimitillo",
    "calidonia",
    "chilibre",
    "curundu",
    "don_bosco",
    "el_chorrillo",
    "ernesto_cordoba_campos",
    "juan_diaz",
    "las_cumbres",
    "las_garzas",
    "las_mananitas",
    "pacora",
    "parque_lefevre",
    "pedregal",
    "pueblo_nuevo",
    "rio_abajo",
    "san_felipe",
    "san_francisco",
    "san_martin",
    "santa_ana",
    "tocumen",
]
# The front door of each channel (each calls tramitacion_comun) and its share of the cases.
CHANNELS = [
    ("correo_electronico", 0.30, "atencion_correo_web"),
    ("pagina_web", 0.20, "atencion_correo_web"),
    ("presencial", 0.20, "atencion_directa"),
    ("telefono", 0.15, "atencion_llamadas"),
    ("plataforma_311", 0.15, "atencion_llamadas"),
]
DEFENSA_SHARE = 0.08  # of the cases: Defensa del Usuario's own procedure (denuncias, quejas)
NAMES = ["María", "José", "Luisa", "Carlos", "Ana", "Pedro", "Itzel", "Abdiel", "Yarisel", "Rogelio"]
SURNAMES = ["Pérez", "Rodríguez", "Gómez", "Batista", "Castillo", "Núñez", "Samaniego", "Quintero", "Barría", "Chen"]
SUBJECTS = ["Basura sin recoger", "Luminaria apagada", "Hueco en la calle", "Fuga de agua", "Construcción sin permiso"]

# A step: (bpmn id, name, lane, form, its share of the case's time). Shares are of the whole case.
Step = tuple[str, str, str, str, float]
TRAMITACION: list[Step] = [
    ("Task_plantilla_{tipo}", "Llenar plantilla", "operador", "plantilla_{tipo}", 0.03),
    ("Task_confeccionar_hoja", "Confeccionar hoja de trámite", "operador", "hoja_de_tramite", 0.04),
    ("Task_aprobar_hoja", "Aprobar hoja de trámite", "coordinador", "aprobacion_hoja", 0.06),
    ("Task_acuse_recibo", "Confirmar acuse de recibo", "enlace", "acuse_recibo", 0.12),
    ("Task_respuesta_final", "Registrar respuesta final al ciudadano", "operador", "respuesta_final", 0.75),
]
LLAMADA: Step = (
    "Task_revisar_ticket_llamada",
    "Revisar ticket creado por el front",
    "operador",
    "revision_ticket_llamada",
    0.02,
)
DEFENSA: list[Step] = [
    ("Task_evaluar_denuncia", "Decidir inspección o remisión", "defensa", "evaluacion_denuncia", 0.10),
    ("Task_inspeccion", "Realizar la inspección y registrar su resultado", "defensa", "informe_inspeccion", 0.70),
    ("Task_notificar_resultado", "Notificar el resultado al ciudadano", "defensa", "respuesta_final", 0.20),
]
REMITTED_AFTER = {"Task_aprobar_hoja", "Task_evaluar_denuncia"}  # «en seguimiento» once these are done

# No workflow state (``case_state``) is written: the pages timed here never read one, and no timer is armed.
CASE_COLUMNS = (
    "id",
    "ticket",
    "procedure_version_id",
    "case_type",
    "channel",
    "citizen_name",
    "citizen_cedula",
    "citizen_email",
    "citizen_phone",
    "subject",
    "direccion",
    "corregimiento",
    "status",
    "opened_at",
    "due_at",
    "closed_at",
    "created_by",
    "data",
    "revision",
    "timer_due_at",
)
EVENT_COLUMNS = ("id", "at", "actor", "kind", "case_id", "task_id", "detail", "hash")
TASK_COLUMNS = (
    "id",
    "case_id",
    "bpmn_id",
    "name",
    "lane",
    "form",
    "direccion",
    "case_type",
    "channel",
    "corregimiento",
    "assignee",
    "created_at",
    "due_at",
    "procedure_version_id",
    "opened_at",
)
TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    "cases": (Case.__table__, CASE_COLUMNS),  # type: ignore[dict-item]
    "audit_event": (AuditEvent.__table__, EVENT_COLUMNS),  # type: ignore[dict-item]
    "human_task": (HumanTask.__table__, TASK_COLUMNS),  # type: ignore[dict-item]
}


# -- the data -----------------------------------------------------------------------------------
def _pick(rng: random.Random, weighted: list[tuple]) -> tuple:
    x = rng.random()
    for row in weighted:
        x -= row[1]
        if x < 0:
            return row
    return weighted[-1]


def _dumps(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


TASK_ID = TaskId()  # the events' task ids, written as the model stores them


class Generator:
    """Yields each case's rows (case, its events, its open task) as tuples in the columns' order.

    Times are naive UTC datetimes; ``stamp`` turns them into what the database driver takes
    (SQLite: microseconds since 1970, as ``UTCDateTime`` stores them; PostgreSQL: the datetime
    itself). ``detail``/``data`` are JSON text, serialized once per kind of step where they do not
    vary, and stored packed, as the engine stores them (``engine.db.packing``).
    """

    def __init__(self, cases: int, now: datetime, versions: dict[str, int], stamp: Callable, first_event: int):
        self.cases, self.now, self.versions, self.stamp = cases, now.replace(tzinfo=None), versions, stamp
        self.rng = random.Random(19)
        self.event_id = first_event - 1
        self.counts = {"cases": 0, "closed": 0, "late": 0, "open": 0, "open_past_term": 0, "events": 0, "tasks": 0}
        self._details: dict[tuple, str] = {}

    def _completion(self, step: Step, tipo: str, opened: datetime) -> str:
        """The completion's detail as the engine writes it, with ``creada``: when the task opened."""
        key = (step[0], tipo)
        if key not in self._details:
            body = _dumps({"tarea": step[0].format(tipo=tipo), "nombre": step[1], "datos": {}, "antes": {}})
            self._details[key] = body[:-1] + ',"creada":"'
        return self._details[key] + opened.isoformat() + '+00:00"}'

    def _event(self, at: datetime, actor: str, kind: str, case_id: int, task_id: str | None, detail: str) -> tuple:
        self.event_id += 1
        packed = packing.pack("audit_detail", detail)
        stored_task = TASK_ID.process_bind_param(task_id, None)
        return (self.event_id, self.stamp(at), actor, event_kinds.stored(kind), case_id, stored_task, packed, None)

    def rows(self) -> Iterator[tuple[tuple, list[tuple], tuple | None]]:
        rng, now = self.rng, self.now
        span = YEARS * 365 * 86400
        for case_id in range(1, self.cases + 1):
            direccion, _share, late_share = _pick(rng, DIRECCIONES)
            if rng.random() < DEFENSA_SHARE:
                process, channel = "defensa_usuario_311", rng.choice(("plataforma_311", "telefono"))
                tipo = rng.choice(("denuncia", "queja"))
                route = DEFENSA
            else:
                channel, _share, process = _pick(rng, CHANNELS)
                tipo = rng.choice(TIPOS)
                route = [LLAMADA, *TRAMITACION] if process == "atencion_llamadas" else TRAMITACION
            closed = rng.random() < 0.85
            if closed:
                opened = now - timedelta(seconds=rng.randrange(86400, span))
                late = rng.random() < late_share
                days = 30 + rng.expovariate(1 / 15) if late else rng.uniform(0.5, 29.5)
                took = min(timedelta(days=days), (now - opened) * rng.uniform(0.5, 1.0))
            else:
                age = min(rng.expovariate(1 / 16), 400.0)
                opened = now - timedelta(days=age)
                took = now - opened
            due = opened + timedelta(days=30)
            yield self._case(case_id, process, channel, tipo, direccion, route, opened, due, took, closed)

    def _case(self, case_id, process, channel, tipo, direccion, route, opened, due, took, closed):
        rng, stamp = self.rng, self.stamp
        ticket = f"AC-{opened.year}-{case_id:07d}"
        events = [
            self._event(
                opened,
                "operador",
                "caso_creado",
                case_id,
                None,
                _dumps({"ticket": ticket, "procedimiento": process, "version": 1}),
            )
        ]
        status, task_row, at, remitted = "abierto", None, opened, False
        # Where an open case stands: as far along its steps as its age would take a typical case.
        reach = 1.0 if closed else min(0.999, (took / max(took * 1.4, timedelta(days=6))) * rng.uniform(0.5, 1.4))
        done_share = 0.0
        for step in route:
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            bpmn_id = step[0].format(tipo=tipo)
            lane = step[2]
            actor = f"enlace_{direccion}" if lane == "enlace" else lane
            done_share += step[4]
            if not closed and done_share > reach:  # the case waits here
                task_row = (
                    task_id,
                    case_id,
                    bpmn_id,
                    step[1],
                    lane,
                    step[3].format(tipo=tipo),
                    None,  # the dirección, once known (below)
                    tipo,
                    channel,
                    None,
                    None,
                    stamp(at),
                    stamp(due),
                    self.versions[process],
                    stamp(opened),
                )
                break
            opened_at, at = at, at + took * step[4] * rng.uniform(0.6, 1.0)
            events.append(
                self._event(at, actor, "tarea_completada", case_id, task_id, self._completion(step, tipo, opened_at))
            )
            if bpmn_id in REMITTED_AFTER:
                events.append(self._status(at, case_id, status, "en seguimiento", "Remitir a la dirección"))
                status, remitted = "en seguimiento", True
        closed_at = None
        if closed:
            closed_at = opened + took
            events.append(self._status(closed_at, case_id, status, "cerrado", "Cerrar caso"))
            status = "cerrado"
            self.counts["closed"] += 1
            self.counts["late"] += closed_at > due
        else:
            self.counts["open"] += 1
            if due < self.now:  # the «Vencen los 30 días» timer escalated it
                events.append(self._status(due, case_id, status, "escalado a la unidad", "Vencen los 30 días"))
                status = "escalado a la unidad"
                self.counts["open_past_term"] += 1
        if task_row is not None:
            task_row = (*task_row[:6], direccion if remitted else None, *task_row[7:])
            self.counts["tasks"] += 1
        name = f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
        subject = rng.choice(SUBJECTS)
        corregimiento = rng.choice(CORREGIMIENTOS)
        data = {
            "ticket": ticket,
            "tipo_caso": tipo,
            "canal": channel,
            "direccion": direccion if remitted else None,
            "corregimiento": corregimiento,
            "asunto": subject,
            "ciudadano_nombre": name,
            "estado_caso": status,
            "fecha_limite": due.replace(tzinfo=UTC).isoformat(),
        }
        case_row = (
            case_id,
            ticket,
            self.versions[process],
            tipo,
            channel,
            name,
            f"8-{rng.randint(1, 999)}-{rng.randint(1, 9999)}",
            f"ciudadano{case_id}@example.com",
            f"6{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            subject,
            direccion if remitted else None,
            corregimiento,
            status,
            stamp(opened),
            stamp(due),
            stamp(closed_at) if closed_at else None,
            "operador",
            packing.pack("case_data", _dumps(data)),  # packed, as the engine stores it; no description
            0,
            None,
        )
        self.counts["cases"] += 1
        self.counts["events"] += len(events)
        return case_row, events, task_row

    def _status(self, at, case_id, before, after, paso) -> tuple:
        return self._event(
            at, "sistema", "estado_cambiado", case_id, None, _dumps({"antes": before, "despues": after, "paso": paso})
        )


# -- loading ------------------------------------------------------------------------------------
def sqlite_stamp(at: datetime | None) -> int | None:
    """A naive UTC datetime as SQLite's ``UTCDateTime`` columns store it."""
    return None if at is None else sqlite_instant(at.replace(tzinfo=UTC))


def postgres_stamp(at: datetime | None) -> datetime | None:
    return at


class Loader:
    """Writes buffered rows of the three tables, a chunk per transaction, the fastest way each database takes."""

    def __init__(self, store: Store):
        self.engine = store.engine
        self.postgres = store.engine.dialect.name == "postgresql"
        self.buffers: dict[str, list[tuple]] = {name: [] for name in TABLES}
        self.pooled = store.engine.raw_connection()
        self.raw = cast(Any, self.pooled.dbapi_connection)  # psycopg's or sqlite3's own connection
        self.dropped: list = []
        self.statements = {
            name: str(insert(table).compile(dialect=store.engine.dialect, column_keys=list(columns)))
            for name, (table, columns) in TABLES.items()
        }
        if self.postgres:
            # Foreign keys are checked by triggers, row by row; the rows are consistent by construction.
            self.raw.execute("SET session_replication_role = replica")
        else:  # autocommit mode (engine.db.store): each chunk is one BEGIN … COMMIT of ours
            self.raw.execute("PRAGMA foreign_keys=OFF")
            self.raw.execute("PRAGMA synchronous=OFF")

    def drop_indexes(self) -> None:
        """Secondary indexes go now and come back in ``finish``: one sort each instead of a B-tree per row."""
        with self.engine.begin() as connection:
            for table, _columns in TABLES.values():
                for index in table.indexes:
                    index.drop(connection)
                    self.dropped.append(index)

    def add(self, case_row: tuple, events: list[tuple], task_row: tuple | None) -> None:
        self.buffers["cases"].append(case_row)
        self.buffers["audit_event"].extend(events)
        if task_row is not None:
            self.buffers["human_task"].append(task_row)
        if len(self.buffers["cases"]) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """One transaction: the buffered rows of each table, parents first."""
        if not self.postgres:
            self.raw.execute("BEGIN")
        for name in ("cases", "audit_event", "human_task"):
            rows = self.buffers[name]
            if not rows:
                continue
            if self.postgres:
                columns = ", ".join(TABLES[name][1])
                with self.raw.cursor() as cursor, cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                self.raw.executemany(self.statements[name], rows)
            rows.clear()
        if self.postgres:
            self.raw.commit()
        else:
            self.raw.execute("COMMIT")

    def finish(self) -> float:
        """Indexes rebuilt, sequences moved past the ids written, statistics fresh; the indexes' seconds."""
        self.flush()
        if self.postgres:
            self.raw.execute("SET session_replication_role = origin")
            self.raw.commit()
        else:
            self.raw.execute("PRAGMA foreign_keys=ON")
            self.raw.execute("PRAGMA synchronous=NORMAL")
        self.pooled.close()
        began = time.perf_counter()
        with self.engine.begin() as connection:
            for index in self.dropped:
                index.create(connection)
        indexes_s = time.perf_counter() - began
        with self.engine.begin() as connection:
            if self.postgres:
                for name in ("cases", "audit_event"):
                    connection.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
                    )
            connection.exec_driver_sql("ANALYZE")
        if not self.postgres:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return indexes_s


def seed(store: Store, cases: int, now: datetime) -> dict:
    """Procedures deployed, the coordinador, then ``cases`` cases with their events; returns counts and seconds."""
    atiende = Atiende(store, FrozenClock(now))
    atiende.deploy_directory("sistema", note="bench/indicators.py")
    with store.unit_of_work() as s:
        create_user(s, USER, "Coordinación (banco de pruebas)", PASSWORD, ["coordinador"])
        newest = select(ProcedureVersion.process_id, func.max(ProcedureVersion.id)).group_by(
            ProcedureVersion.process_id
        )
        versions = {process_id: version for process_id, version in s.execute(newest)}
        first_event = (s.scalar(select(func.max(AuditEvent.id))) or 0) + 1
        assert not s.scalar(select(func.count()).select_from(Case)), "the bench's cases are numbered from 1"
    loader = Loader(store)
    generator = Generator(cases, now, versions, postgres_stamp if loader.postgres else sqlite_stamp, first_event)
    began = time.perf_counter()
    loader.drop_indexes()
    for case_row, events, task_row in generator.rows():
        loader.add(case_row, events, task_row)
    loader.flush()
    rows_s = time.perf_counter() - began
    indexes_s = loader.finish()
    return {**generator.counts, "rows_s": rows_s, "indexes_s": indexes_s, "seed_s": time.perf_counter() - began}


# The roll-ups the pages read, rebuilt from the rows: label → function of a Session.
ROLLUPS = {"indicadores": rollup.rebuild, "tiempos_por_paso": steps.rebuild}


def rebuild_rollups(store: Store) -> dict[str, float]:
    """Each roll-up rebuilt in a transaction of its own; its seconds."""
    spent = {}
    for label, rebuild in ROLLUPS.items():
        began = time.perf_counter()
        with store.unit_of_work() as s:
            rebuild(s)
        spent[label] = time.perf_counter() - began
    return spent


# -- over HTTP ----------------------------------------------------------------------------------
TICKET = re.compile(r"AC-\d{4}-\d{7}")
DRILL_LINK = re.compile(r'href="(/indicadores/casos\?[^"]*figura=late[^"]*)"')


def requests_plan(today: date) -> list[tuple[str, str]]:
    """(kind, path) of every page measured: the indicators without and with each filter, the rest."""
    quarter_end = date(today.year - 1, ((today.month - 1) // 3) * 3 + 1, 1) - timedelta(days=1)
    quarter_start = date(quarter_end.year, quarter_end.month - 2, 1)
    period = f"desde={quarter_start:%d/%m/%Y}&hasta={quarter_end:%d/%m/%Y}"
    return [
        ("indicadores", "/indicadores/"),
        ("filtro_direccion", "/indicadores/?direccion=coordinacion_corregidores"),
        ("filtro_tipo_caso", "/indicadores/?tipo_caso=reporte"),
        ("filtro_canal", "/indicadores/?canal=telefono"),
        ("filtro_corregimiento", "/indicadores/?corregimiento=bella_vista"),
        ("filtro_procedimiento", "/indicadores/?procedimiento=atencion_llamadas"),
        ("filtro_periodo", f"/indicadores/?{period}"),
        ("detalle", "/indicadores/casos?figura=late"),  # replaced by the page's own link when it has one
        ("mapa_calor", "/indicadores/mapa/tramitacion_comun"),
        ("transparencia", "/transparencia"),
    ]


KINDS = [kind for kind, _path in requests_plan(date(2026, 1, 1))]


def probe(client, plan: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """The pages that exist (the drill-down as the indicators page links it), and the kinds missing (404).

    Any other answer than 200 or 404, or a filter refused with a message, stops the bench: it
    would time an error, not the page.
    """
    present, missing = [], []
    for kind, path in plan:
        response = client.get(path)
        if response.status == 404:
            missing.append(kind)
            continue
        if response.status != 200:
            raise RuntimeError(f"{kind}: {path} answered {response.status}")
        if kind.startswith("filtro_") and 'class="error"' in response.body:
            raise RuntimeError(f"{kind}: {path} refused its filter")
        if kind == "detalle" and not TICKET.search(response.body):
            raise RuntimeError(f"{kind}: {path} lists no case")
        if kind == "indicadores":
            link = DRILL_LINK.search(response.body)
            if link:
                plan = [(k, html.unescape(link.group(1)) if k == "detalle" else p) for k, p in plan]
        present.append((kind, dict(plan)[kind]))
    return present, missing


def over_http(server, plan: list[tuple[str, str]], requests: int, warmup: int = 2) -> tuple[dict, list[str], dict]:
    """Each page ``requests`` times, in turn, as one signed-in coordinador; seconds per kind."""
    client = live_server.Client(server)
    client.sign_in(USER, PASSWORD)
    present, missing = probe(client, plan)
    timings: dict[str, list[float]] = {kind: [] for kind, _path in present}
    for n in range(warmup + requests):
        for kind, path in present:
            response = client.get(path)
            if response.status != 200:
                raise RuntimeError(f"{kind}: {path} answered {response.status}")
            if n >= warmup:
                timings[kind].append(response.seconds)
    client.close()
    return timings, missing, dict(present)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests of each page")
    parser.add_argument("--database", help="a PostgreSQL server (a schema of its own, dropped after); default: SQLite")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    databases = common.postgres_database(args.database) if args.database else common.sqlite_database()
    result: dict = {"bench": "indicators", "cases": args.cases, "requests": args.requests}
    with databases as db:
        result["database"] = db.label
        print(f"Database: {db.label} ({db.where})", flush=True)
        store = common.prepared_store(db)
        seeded = seed(store, args.cases, now)
        print(
            f"Seeded {seeded['cases']:,} cases ({seeded['closed']:,} closed, {seeded['late']:,} of them late; "
            f"{seeded['open']:,} open, {seeded['open_past_term']:,} past term), {seeded['events']:,} events, "
            f"{seeded['tasks']:,} open tasks in {seeded['seed_s']:.1f} s "
            f"(rows {seeded['rows_s']:.1f} s, indexes {seeded['indexes_s']:.1f} s)",
            flush=True,
        )
        rollups = rebuild_rollups(store)
        for label, seconds in rollups.items():
            print(f"Roll-up {label}: {seconds:.1f} s", flush=True)
        store.dispose()
        with live_server.web_server(db.url) as server:
            try:
                timings, missing, paths = over_http(server, requests_plan(now.date()), args.requests)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc} (the server's log: {server.log})") from exc
    result |= {
        "seed_s": round(seeded["seed_s"], 1),
        "seed_rows_s": round(seeded["rows_s"], 1),
        "seed_indexes_s": round(seeded["indexes_s"], 1),
        **{key: seeded[key] for key in ("closed", "late", "open", "open_past_term", "events", "tasks")},
        "rollups_s": {label: round(seconds, 1) for label, seconds in rollups.items()},
        "missing": missing,
    }
    print(f"\nOver HTTP, {args.requests} requests of each page, one coordinador (ms, client-side, to the last byte):")
    print(f"  {'page':22s} {'p50':>8s} {'p95':>8s}  path")
    for kind in KINDS:
        if kind in timings:
            p50, p95 = (1000 * live_server.percentile(timings[kind], q) for q in (0.5, 0.95))
            result[f"{kind}_p50_ms"], result[f"{kind}_p95_ms"] = round(p50, 1), round(p95, 1)
            print(f"  {kind:22s} {p50:8.1f} {p95:8.1f}  {paths[kind]}")
        else:
            result[f"{kind}_p50_ms"] = result[f"{kind}_p95_ms"] = None
            print(f"  {kind:22s} {'—':>8s} {'—':>8s}  missing (404)")
    worst = max((result[f"{k}_p95_ms"] for k in KINDS if k in timings), default=None)
    result["worst_p95_ms"] = worst
    result["target_p95_ms"] = TARGET_P95_MS
    result["target_met"] = worst is not None and worst <= TARGET_P95_MS and not missing
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
