"""What both benchmarks share: realistic case data, databases to run on, and timing helpers.

The benchmarks are run as scripts (``python bench/engine.py``); a script's folder comes first
on ``sys.path``, where ``bench/engine.py`` would shadow the ``engine`` package. Importing this
module puts the repository root first and bench/ last, before anything of ``engine`` is imported.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def fix_path() -> None:
    """The repository root first (``engine`` is the package, not bench/engine.py), bench/ last (its helpers)."""
    rest = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, ROOT)]
    sys.path[:] = [str(ROOT), *rest, str(HERE)]


fix_path()

from sqlalchemy import text  # noqa: E402

from engine.access.accounts import Actor  # noqa: E402
from engine.db.store import Store  # noqa: E402
from engine.forms import catalogs  # noqa: E402

PROCESS = "atencion_correo_web"
# A Monday, 09:00 in Panamá: the frozen clocks start here.
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)

OPERADOR = Actor("operador", frozenset({"operador"}))
COORDINADOR = Actor("coordinador", frozenset({"coordinador"}))

TIPOS = ["queja_reclamo", "solicitud_informacion", "sugerencia", "reporte"]
DIRECCIONES = [
    "planificacion_urbana",
    "gestion_ambiental",
    "coordinacion_corregidores",
    "call_center_311",
    "obras_construcciones",
    "participacion_ciudadana",
]
CORREGIMIENTOS = ["bella_vista", "san_francisco", "calidonia", "juan_diaz", "pueblo_nuevo", "tocumen"]
NOMBRES = ["María Pérez", "José Rodríguez", "Luisa Gómez", "Carlos Batista", "Ana Castillo", "Pedro Núñez"]


def start_form(i: int) -> dict:
    """A valid captura_correo_web submission; the case type and place rotate with ``i``."""
    tipo = TIPOS[i % len(TIPOS)]
    correo = i % 2 == 0
    nombre = NOMBRES[i % len(NOMBRES)]
    email = f"ciudadano{i}@example.com"
    return {
        "canal": "correo_electronico" if correo else "pagina_web",
        "tipo_caso": tipo,
        "ciudadano_nombre": nombre,
        "ciudadano_cedula": f"8-{100 + i % 800}-{1000 + i % 9000}",
        "ciudadano_telefono": f"6{100 + i % 900}-{1000 + i % 9000}",
        "ciudadano_email": email,
        "lugar_notificaciones": email if correo else "Calle 50, edificio Plaza, apto 3B",
        "corregimiento": CORREGIMIENTOS[i % len(CORREGIMIENTOS)],
        "domicilio": "Calle 50 y Vía España, frente a la parada",
        "asunto": f"Caso de prueba {i}: {tipo.replace('_', ' ')}",
        "descripcion": "Hace dos semanas que no pasa el camión recolector por la calle; hay bolsas "
        "acumuladas frente a los edificios y malos olores.",
        "respuesta_inmediata_enviada": True,
    }


def direccion_of(i: int) -> str:
    return DIRECCIONES[i % len(DIRECCIONES)]


TASK_FORMS = (
    "plantilla_queja_reclamo",
    "plantilla_solicitud_informacion",
    "plantilla_sugerencia",
    "plantilla_reporte",
    "hoja_de_tramite",
    "aprobacion_hoja",
    "acuse_recibo",
    "respuesta_final",
    "seguimiento_semanal",
    "revision_quincenal",
)


def task_form(form: str, i: int) -> dict:
    """A valid submission of ``form`` for case ``i`` (the approval always approves)."""
    forms = {
        "plantilla_queja_reclamo": {
            "hechos": "El camión recolector no pasa desde hace dos semanas.",
            "fecha_hechos": "2026-02-16",
            "dependencia_o_funcionario": "Recolección de desechos",
            "pretension": "Que se restablezca la recolección.",
        },
        "plantilla_solicitud_informacion": {
            "informacion_solicitada": "Requisitos del permiso de construcción.",
            "formato_entrega": "copia_digital",
            "finalidad": "Construir una vivienda.",
        },
        "plantilla_sugerencia": {"sugerencia": "Instalar bancas en el parque.", "area_mejora": "Parques"},
        "plantilla_reporte": {
            "tipo_reporte": "alumbrado",
            "detalle_reporte": "Luminaria apagada.",
            "referencia_ubicacion": "Frente al parque de Vía Porras, poste 114",
            "fecha_observado": "2026-02-20",
        },
        "hoja_de_tramite": {
            "direccion": direccion_of(i),
            "resumen": "Ciudadano reporta falta de recolección de basura.",
            "informacion_ciudadano_relevante": "Notificar por correo; calle 50, Bella Vista.",
            "prioridad": "normal",
        },
        "aprobacion_hoja": {"decision_hoja": "aprobar", "comentarios_aprobacion": "Conforme."},
        "acuse_recibo": {"recibido_por": "Elena Enlace", "fecha_recibo": "2026-03-03"},
        "respuesta_final": {
            "respuesta_final": "Se restableció la recolección los lunes y jueves.",
            "medio_respuesta": "correo_electronico",
            "fecha_respuesta": "2026-03-20",
        },
        "seguimiento_semanal": {"avance_semanal": "Inspección programada.", "estado_gestion": "en_tramite"},
        "revision_quincenal": {"accion_quincenal": "continuar"},
    }
    return dict(forms[form])


def actor_for(lane: str, i: int) -> Actor:
    """Who works a task of ``lane`` for case ``i``: the enlace of the case's dirección."""
    if lane == "operador":
        return OPERADOR
    if lane == "coordinador":
        return COORDINADOR
    if lane == "enlace":
        return Actor(f"enlace_{direccion_of(i)}", frozenset({"enlace"}), direccion_of(i))
    raise ValueError(f"no actor for lane {lane!r}")


# -- databases --------------------------------------------------------------------------
@dataclass
class Database:
    label: str  # "sqlite" or "postgresql"
    url: str
    where: str  # file or schema, for the report


@contextlib.contextmanager
def sqlite_database(keep: bool = False, directory: Path | None = None):
    """A SQLite file in a fresh temporary directory, removed afterwards (unless ``keep``); or the file
    ``atiende.sqlite3`` in ``directory``, created if missing and always kept (the caller's to delete)."""
    tmp = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="atiende-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "atiende.sqlite3"
    try:
        yield Database("sqlite", f"sqlite:///{path}", str(path))
    finally:
        if not keep and not directory:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(base_url: str, schema: str | None = None):
    """A fresh schema on the PostgreSQL server of ``base_url``, dropped afterwards; or the schema named
    ``schema``, created if missing and always kept (the caller's to drop)."""
    kept = schema is not None
    schema = schema or f"atiende_bench_{uuid.uuid4().hex[:10]}"
    admin = Store(base_url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield Database("postgresql", f"{base_url}{sep}options={quote(f'-csearch_path={schema}')}", schema)
    finally:
        if not kept:
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fresh_statistics(store: Store) -> None:
    """PostgreSQL's statistics of what the database now holds, as autovacuum keeps them on a server
    at work: a table filled since the last ANALYZE is otherwise planned on what it held then (the
    bandeja's join then read every case row). The engine never runs SQLite's ANALYZE, so neither does this."""
    if not store.is_sqlite:
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def prepared_store(db: Database) -> Store:
    """The database migrated and its catalogues seeded."""
    store = Store(db.url)
    store.migrate()
    with store.unit_of_work() as s:
        catalogs.seed(s)
    return store


class BulkLoader:
    """Rows written a chunk per transaction, the fastest way each database takes them, never through the ORM.

    A million cases in one transaction left SQLite a write-ahead log of tens of gigabytes: here each
    chunk is committed on its own (durable; a stopped run keeps what it wrote) and, on SQLite, the
    log is checkpointed and truncated after it, so it never holds more than a chunk. SQLite takes the
    rows by ``executemany`` of a plain INSERT, values already in the form its columns store;
    PostgreSQL by ``COPY … FROM STDIN`` (psycopg's ``cursor.copy``). The secondary indexes of the
    tables are dropped first and rebuilt by ``finish`` (one sort each instead of a B-tree update per
    row); they are read from the database's catalogue, so indexes kept outside the models (the search
    index) come back too. On PostgreSQL foreign keys are not checked row by row (the rows are consistent
    by construction), and no trigger fires: what a trigger would keep is the caller's to write.
    """

    def __init__(self, store: Store, tables: dict[str, tuple[str, ...]]):
        self.engine = store.engine
        self.postgres = store.engine.dialect.name == "postgresql"
        self.tables = tables
        self.buffers: dict[str, list[tuple]] = {name: [] for name in tables}
        self.written: dict[str, int] = dict.fromkeys(tables, 0)
        self.pooled = store.engine.raw_connection()
        self.raw = cast(Any, self.pooled.dbapi_connection)  # psycopg's or sqlite3's own connection
        self.dropped: list[str] = []
        self.peak_wal_bytes = 0
        self.wal = Path(store.engine.url.database or "").with_name(Path(store.engine.url.database or "x").name + "-wal")
        if self.postgres:
            self.raw.execute("SET session_replication_role = replica")
        else:  # autocommit mode (engine.db.store): each chunk is one BEGIN … COMMIT of ours
            self.raw.execute("PRAGMA foreign_keys=OFF")
            self.raw.execute("PRAGMA synchronous=OFF")

    def drop_indexes(self, tables: tuple[str, ...]) -> None:
        """The secondary indexes of ``tables`` go now (their definitions kept) and come back in ``finish``."""
        if self.postgres:
            found = self.raw.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s) AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace)",
                (list(tables),),
            ).fetchall()
        else:
            marks = ", ".join("?" for _ in tables)
            found = self.raw.execute(
                "SELECT name, sql FROM sqlite_master "
                f"WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
                tables,
            ).fetchall()
        for name, definition in found:
            self.raw.execute(f'DROP INDEX "{name}"')
            self.dropped.append(definition)
        if self.postgres:
            self.raw.commit()

    def add(self, table: str, row: tuple) -> None:
        self.buffers[table].append(row)

    def flush(self) -> None:
        """One transaction: the buffered rows of each table, in the order ``tables`` names them (parents first)."""
        if not self.postgres:
            self.raw.execute("BEGIN")
        for name, columns in self.tables.items():
            rows = self.buffers[name]
            if not rows:
                continue
            listed = ", ".join(columns)
            if self.postgres:
                with self.raw.cursor() as cursor, cursor.copy(f"COPY {name} ({listed}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                self.raw.executemany(f"INSERT INTO {name} ({listed}) VALUES ({marks})", rows)
            self.written[name] += len(rows)
            rows.clear()
        if self.postgres:
            self.raw.commit()
        else:
            self.raw.execute("COMMIT")
            if self.wal.exists():
                self.peak_wal_bytes = max(self.peak_wal_bytes, self.wal.stat().st_size)
            self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def finish(self) -> float:
        """The last rows, the indexes rebuilt, sequences past the ids written, fresh statistics; the indexes' s."""
        self.flush()
        if self.postgres:
            self.raw.execute("SET session_replication_role = origin")
            self.raw.commit()
        else:
            self.raw.execute("PRAGMA foreign_keys=ON")
            self.raw.execute("PRAGMA synchronous=NORMAL")
        began = time.perf_counter()
        for definition in self.dropped:
            self.raw.execute(definition)
            if self.postgres:
                self.raw.commit()
            else:
                self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        indexes_s = time.perf_counter() - began
        if self.postgres:
            for name in (name for name, columns in self.tables.items() if "id" in columns):
                sequence = self.raw.execute("SELECT pg_get_serial_sequence(%s, 'id')", (name,)).fetchone()[0]
                if sequence:
                    self.raw.execute(f"SELECT setval('{sequence}', (SELECT max(id) FROM {name}))")
            self.raw.commit()
            # VACUUM, not only ANALYZE: a table written by COPY has no page marked all-visible until
            # autovacuum comes by, and until then every index-only scan reads the table's rows too.
            self.raw.autocommit = True
            for name in self.tables:
                self.raw.execute(f"VACUUM ANALYZE {name}")
            self.raw.execute("ANALYZE")
            self.raw.autocommit = False
        else:
            self.raw.execute("ANALYZE")
            self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.pooled.close()
        return indexes_s


def disk_bytes(store: Store, db: Database) -> dict[str, int]:
    """What the database takes on disk: SQLite's file and its write-ahead log; PostgreSQL's schema (tables,
    their TOAST and indexes)."""
    if db.label == "sqlite":
        path = Path(db.where)
        wal = path.with_name(path.name + "-wal")
        return {"database": path.stat().st_size, "wal": wal.stat().st_size if wal.exists() else 0}
    with store.engine.connect() as connection:
        total = connection.scalar(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm')"
            )
        )
    return {"database": int(total or 0), "wal": 0}


def postgres_url(cli_value: str | None) -> str | None:
    return cli_value or os.environ.get("DATABASE_URL") or None


def median(values):
    return statistics.median(values) if values else None


def rounded(value, digits=2):
    return None if value is None else round(value, digits)


# -- profiles ---------------------------------------------------------------------------
BUCKETS = [  # (label, substring of the function's file path); first match wins
    ("SpiffWorkflow serializer", "SpiffWorkflow/bpmn/serializer"),
    ("SpiffWorkflow (running)", "SpiffWorkflow"),
    ("SQLAlchemy", "sqlalchemy"),
    ("jsonschema validation", "jsonschema"),
    ("referencing/rpds (jsonschema)", "referencing"),
    ("alembic", "alembic"),
    ("engine/", "/engine/"),
    ("json (stdlib)", "/json/"),
    ("uuid (stdlib)", "/uuid.py"),
    ("copy (stdlib)", "/copy.py"),
]


def bucket_of(filename: str, funcname: str) -> str:
    if filename == "~":
        if "sqlite3" in funcname:
            return "sqlite3 driver (C)"
        if "psycopg" in funcname:
            return "psycopg driver"
        return "builtins (C)"
    for label, needle in BUCKETS:
        if needle in filename:
            return label
    if "sqlite3" in filename:
        return "sqlite3 driver (C)"
    if "psycopg" in filename:
        return "psycopg driver"
    return "other Python"


def summarize(profiler, focus) -> dict:
    """Self time by library, inclusive time of the ``focus`` functions, and the top functions."""
    stats = pstats.Stats(profiler)
    total = sum(v[2] for v in stats.stats.values())
    buckets: dict[str, float] = defaultdict(float)
    for (filename, _line, funcname), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        buckets[bucket_of(filename, funcname)] += tottime
    found = []
    for step, suffix, name in focus:
        cum = calls = 0
        where = None
        for (filename, line, funcname), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
            if funcname == name and (filename.endswith(suffix) or (suffix == "~" and filename == "~")):
                cum += ct
                calls += nc
                where = f"{suffix}:{line}" if suffix != "~" else "C"
        if where:
            found.append((step, where, calls, cum))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    top = "\n".join(line for line in out.getvalue().splitlines() if line.strip())
    return {"total": total, "buckets": dict(buckets), "focus": found, "top": top}


def print_summary(summary: dict, units: int, unit: str) -> None:
    total = summary["total"]
    print(f"Self time by library (per {unit}):")
    for label, secs in sorted(summary["buckets"].items(), key=lambda kv: -kv[1]):
        if secs / total >= 0.005:
            print(f"  {label:34s} {100 * secs / total:5.1f} %   {1000 * secs / units:7.2f} ms")
    print(f"Inclusive time of the main steps (per {unit}; nested steps are indented):")
    for label, where, calls, cum in summary["focus"]:
        print(
            f"  {label:52s} {1000 * cum / units:7.2f} ms {100 * cum / total:5.1f} % {calls / units:6.1f} calls  {where}"
        )


@contextlib.contextmanager
def wall_timers(steps):
    """Wrap each (label, "module:Class" or "module", attribute) with a wall-clock timer.

    Yields {label: [seconds, calls, depth]}; re-entrant calls are counted once. The wrappers
    are removed on exit. Only the benchmark's process is affected; no file is changed.
    """
    spent: dict[str, list] = {}
    originals = []
    try:
        for step, owner, attr in steps:
            module_name, _, cls_name = owner.partition(":")
            target = importlib.import_module(module_name)
            if cls_name:
                target = getattr(target, cls_name)
            raw = target.__dict__.get(attr)
            is_static = isinstance(raw, staticmethod)
            original = raw.__func__ if is_static else getattr(target, attr)
            cell = spent.setdefault(step, [0.0, 0, 0])

            def timed(*a, __original=original, __cell=cell, **kw):
                __cell[2] += 1
                t0 = time.perf_counter()
                try:
                    return __original(*a, **kw)
                finally:
                    __cell[2] -= 1
                    if __cell[2] == 0:
                        __cell[0] += time.perf_counter() - t0
                        __cell[1] += 1

            originals.append((target, attr, raw if raw is not None else original))
            setattr(target, attr, staticmethod(timed) if is_static else timed)
        yield spent
    finally:
        for target, attr, original in reversed(originals):
            setattr(target, attr, original)


def print_wall(rows, unit: str) -> None:
    print(f"Wall-clock breakdown without cProfile (plain timers around each step; inclusive, per {unit}):")
    for step, ms, calls in rows:
        print(f"  {step:56s} {ms:7.2f} ms {calls:5.1f} calls")
