"""The bandeja and the case search at 100,000 cases (20,000 open), over HTTP, on SQLite.

A handful of real cases are run through the engine, one per stage of the e-mail/web procedure
(each template of the case types, hoja de trámite, approval, acuse de recibo, respuesta final,
closed); then 100,000 copies of their rows are bulk-inserted with SQLAlchemy core
``executemany``, in the order they were opened, with varied people, subjects, descriptions,
corregimientos, direcciones, case types, channels and dates around today: 80,000 closed over
the last 16 months, 20,000 open over the last 40 days, each open case with its task in the
lane its stage names (the youngest still at the template, the oldest awaiting the final
answer), 5 % of the operators' tasks claimed by «operador». A copy keeps its template's
workflow state and has no armed timer: it is read, never loaded (the timer sweep skips it).

Then the real server — ``python -m web``, served by Waitress as ``make run`` does, in a
subprocess — serves that database, and three people signed in over HTTP (operador,
coordinador, enlace of Planificación Urbana) ask for bandeja pages (filters, tabs, deep
pages) and searches (ticket, ticket number, cédula, names, common and rare words, a second
page) in turn; each request is timed at the client, from sending to the last byte. The same
queries are timed in-process (no HTTP) on SQLite, and on PostgreSQL with --database-url.

    .venv/bin/python bench/tasklist.py [--cases 100000] [--open 20000]
                      [--requests 300] [--database-url postgresql://root@127.0.0.1:5432/test]
                      [--keep DIR | --reuse DIR]

Seeding a million cases takes minutes: ``--keep DIR`` keeps what was seeded (SQLite's file in DIR,
PostgreSQL's schema, named in DIR) and ``--reuse DIR`` times it again without seeding, after
migrating it to the newest revision; the kept data is the caller's to remove (``rm -r DIR``, and
``DROP SCHEMA <schema> CASCADE`` of the schema DIR/postgresql.json names). The slowest requests
are printed by name (person and path) before the figures. The last line printed is one JSON
object with every figure. Target: p95 ≤ 50 ms over HTTP.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402
import live_server  # noqa: E402
from sqlalchemy import DateTime, func, select  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from engine.access.accounts import Actor, create_user  # noqa: E402
from engine.bpm.state import compaction  # noqa: E402
from engine.cases.finding import search, worklist  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db import packing  # noqa: E402
from engine.db.migrations import search_index  # noqa: E402
from engine.db.models import (  # noqa: E402
    DESCRIPTION_FIELD,
    Case,
    HumanTask,
    TicketSequence,
    UTCDateTime,
    record_text,
    sqlite_instant,
)
from engine.db.store import Store, json_text  # noqa: E402
from engine.facade import Atiende  # noqa: E402
from engine.paperwork import rendering  # noqa: E402
from web import bandeja, create_app  # noqa: E402

PASSWORD = "bench-clave-2026"
PEOPLE = {
    "operador": (["operador"], None),
    "coordinador": (["coordinador"], None),
    "enlace": (["enlace"], "planificacion_urbana"),
}
ACTORS = {name: Actor(name, frozenset(roles), direccion) for name, (roles, direccion) in PEOPLE.items()}
CHUNK = 10_000
FIRST = [
    "María",
    "José",
    "Luis",
    "Ana",
    "Carlos",
    "Rosa",
    "Pedro",
    "Carmen",
    "Jorge",
    "Elena",
    "Juan",
    "Lucía",
    "Miguel",
    "Isabel",
    "Ricardo",
    "Gloria",
    "Fernando",
    "Teresa",
    "Raúl",
    "Patricia",
    "Eduardo",
    "Marta",
    "Andrés",
    "Sofía",
    "Víctor",
    "Daniela",
    "Rogelio",
    "Itzel",
    "Abdiel",
    "Yarisel",
]
LAST = [
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
    "Martínez",
    "Gómez",
    "Díaz",
    "Castillo",
    "Batista",
    "Núñez",
    "Herrera",
    "Morales",
    "Vega",
    "Ríos",
    "Jiménez",
    "Torres",
    "Ramos",
    "Vargas",
    "Castro",
    "Ortega",
    "Samaniego",
    "Quintero",
    "De León",
    "Barría",
    "Caballero",
    "Chen",
    "Cedeño",
    "Pinzón",
    "Saldaña",
    "Tejada",
]
SUBJECTS = [
    "Basura sin recoger",
    "Luminaria apagada",
    "Hueco en la calle",
    "Fuga de agua",
    "Semáforo dañado",
    "Ruido de una obra nocturna",
    "Construcción sin permiso",
    "Acera rota",
    "Lote baldío con maleza",
    "Alcantarilla tapada",
    "Poda de árbol peligroso",
    "Parque sin mantenimiento",
    "Cobro indebido",
    "Atención descortés en ventanilla",
    "Solicitud de permiso de construcción",
    "Información de impuestos",
    "Perros callejeros",
    "Vendedores ambulantes en la acera",
    "Quema de basura",
    "Mal olor de un negocio",
]
SENTENCES = [
    "Hace dos semanas que no pasa el camión recolector.",
    "Los vecinos ya lo reportaron por teléfono.",
    "Hay niños que pasan por ahí camino a la escuela.",
    "El problema empeora cuando llueve.",
    "Solicito que envíen una inspección lo antes posible.",
    "Adjunto fotos del lugar.",
    "Es la tercera vez que escribo por este asunto.",
    "Ocurre frente a la parada de buses.",
    "Afecta a todo el edificio y a los negocios de la calle.",
    "Pido una respuesta por correo electrónico.",
    "La situación es peligrosa de noche.",
    "Nadie ha venido a revisar desde el mes pasado.",
    "El ruido no deja dormir a los vecinos.",
    "La calle principal quedó bloqueada.",
    "Quisiera saber qué requisitos debo cumplir.",
    "Me atendieron mal y no me dieron información.",
]
CHANNELS = ["correo_electronico", "pagina_web", "telefono", "presencial", "plataforma_311"]
CORREGIMIENTOS = [
    "bella_vista",
    "san_francisco",
    "calidonia",
    "juan_diaz",
    "pueblo_nuevo",
    "tocumen",
    "betania",
    "ancon",
    "curundu",
    "el_chorrillo",
    "parque_lefevre",
    "rio_abajo",
    "san_felipe",
    "santa_ana",
    "pedregal",
    "las_cumbres",
    "chilibre",
    "24_de_diciembre",
    "alcalde_diaz",
    "ernesto_cordoba",
]
# (stage, share of the open cases, days since opening) — the youngest cases are earliest in the procedure.
OPEN_STAGES = [
    ("plantilla", 0.05, (0, 1)),
    ("hoja", 0.04, (0, 2)),
    ("aprobacion", 0.04, (1, 3)),
    ("acuse", 0.07, (1, 5)),
    ("respuesta_final", 0.80, (3, 40)),
]
PLAZO = {
    "plantilla": timedelta(days=1),
    "hoja": timedelta(days=1),
    "aprobacion": timedelta(days=1),
    "acuse": timedelta(days=3),
}


# -- the data ---------------------------------------------------------------------------------
def make_templates(atiende: Atiende) -> dict[str, list[int]]:
    """Real cases, one per stage (one per case type at the template): their rows are copied."""
    stages: dict[str, list[int]] = {stage: [] for stage, _share, _days in OPEN_STAGES}
    stages["cerrado"] = []
    order = ["plantilla", "hoja", "aprobacion", "acuse", "respuesta_final", "cerrado"]
    for i, _tipo in enumerate(common.TIPOS):
        for depth, stage in enumerate(order):
            if stage != "plantilla" and i:
                continue  # past the template, one case type is enough
            case_id = atiende.start_case(common.PROCESS, common.start_form(i), common.OPERADOR).case_id
            for _ in range(depth):
                with atiende.store.read() as s:
                    task = min(
                        s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)), key=lambda t: t.bpmn_id
                    )
                atiende.complete_task(task.id, common.task_form(task.form, i), common.actor_for(task.lane, i))
            stages[stage].append(case_id)
    return stages


def _person(rng: random.Random) -> dict:
    first, last1, last2 = rng.choice(FIRST), rng.choice(LAST), rng.choice(LAST)
    plain = f"{first}.{last1}".lower().translate(str.maketrans("áéíóúñ ", "aeioun_"))
    return {
        "citizen_name": f"{first} {last1} {last2}",
        "citizen_cedula": f"{rng.choice([8, 8, 8, 4, 9, 3, 'PE', 'E'])}-{rng.randint(1, 999)}-{rng.randint(1, 9999)}",
        "citizen_email": f"{plain}{rng.randint(1, 999)}@example.com",
        "citizen_phone": f"6{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
    }


# The tables a copy has rows in besides ``cases``, parents first. A template's rows in each are copied
# with the copy's case id, a new id (in a table that has ids: the workflow state has the case's), their
# times moved by as much as the copy's opening and the template's ticket replaced by the copy's in their
# text columns; the packed ones (an event's detail, a mail's body: engine.db.packing) are copied byte
# for byte and keep the template's, which costs the same to store and to read; so are an event's hash
# (the copies make no valid chain, but take its room) and the workflow state. Not copied: the indicator
# roll-ups (``indicator_case``), which ``atiende indicadores reconstruir`` rebuilds from these rows,
# and the hojas de trámite (``document``, a 14.5 kB PDF each: 14 GB at a million cases,
# bench/storage.py counts them); none of the pages timed here reads either.
CHILDREN = ("case_state", "human_task", "audit_event", "outbox_message", "survey_invitation")
# Columns unique across the table: each copy writes its own from its new id.
UNIQUE = {
    "outbox_message": {"message_id": lambda new_id: f"<copia-{new_id}@atiende.bench>"},
    "survey_invitation": {"token_hash": lambda new_id: f"{new_id:064x}"},
}
CASE_FIELDS = (
    "id",
    "ticket",
    "subject",
    "opened_at",
    "due_at",
    "status",
    "closed_at",
    "data",
    "description",
    "timer_due_at",
    "citizen_name",
    "citizen_cedula",
    "citizen_email",
    "citizen_phone",
    "direccion",
    "case_type",
    "channel",
    "corregimiento",
)


class Rows:
    """The templates' rows as the database stores them, and how to write a copy of each in that form.

    Read and written through the driver's own connection, so a column's value goes back as it came
    out (bytes or text: the stored workflow whatever its encoding), and no ORM type runs per row.
    On SQLite times are integers (``UTCDateTime``); on PostgreSQL naive datetimes; JSON goes in as text.
    What varies between copies of a row (its times, the ticket in its text) is found once per
    template row, not once per copy.
    """

    def __init__(self, raw, postgres: bool, template_ids: list[int]):
        self.postgres = postgres
        self.columns: dict[str, tuple[str, ...]] = {}
        self.cases: dict[int, tuple] = {}
        # table → template id → (values, [(position, template time)], [positions holding the ticket])
        self.recipes: dict[str, dict[int, list[tuple[list, list[tuple[int, datetime]], list[int]]]]] = {}
        self.next_id: dict[str, int] = {}
        marks = ", ".join(str(int(i)) for i in template_ids)
        for name in ("cases", *CHILDREN):
            table = Case.metadata.tables[name]
            cursor = raw.cursor()
            key = "id" if name == "cases" else "case_id"
            order = f"{key}, id" if "id" in table.c and key != "id" else key
            cursor.execute(f"SELECT * FROM {name} WHERE {key} IN ({marks}) ORDER BY {order}")
            columns = self.columns[name] = tuple(d[0] for d in cursor.description)
            times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, DateTime | UTCDateTime)]
            found = [tuple(self._stored(v) for v in row) for row in cursor.fetchall()]
            if "id" in table.c:
                cursor.execute(f"SELECT max(id) FROM {name}")
                top = cursor.fetchone()[0]
                self.next_id[name] = (top + 1) if isinstance(top, int) else 1
            cursor.close()
            if name == "cases":
                self.cases = {row[0]: row for row in found}
                continue
            recipes = self.recipes[name] = {}
            for row in found:
                values = list(row)
                ticket = self.cases[row[columns.index(key)]][self.columns["cases"].index("ticket")]
                moved = [(i, self.read_time(values[i])) for i in times if values[i] is not None]
                named = [i for i, v in enumerate(values) if isinstance(v, str) and ticket in v]
                recipes.setdefault(row[columns.index(key)], []).append((values, moved, named))

    def _stored(self, value):
        """A value read back, as it is written again: JSON as text, a buffer as bytes."""
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, memoryview):
            return bytes(value)
        return value

    def time(self, at: datetime):
        """A naive UTC datetime as the driver writes it."""
        return at if self.postgres else sqlite_instant(at.replace(tzinfo=UTC))

    def read_time(self, value) -> datetime:
        return value if self.postgres else UTCDateTime().process_result_value(value, None).replace(tzinfo=None)

    def new_id(self, table: str):
        if table == "human_task":
            return str(uuid.uuid4())
        self.next_id[table] += 1
        return self.next_id[table] - 1

    def children(self, table: str, template_id: int, case_id: int, shift: timedelta, tickets: tuple[str, str]):
        """The template's rows of ``table``, as rows of case ``case_id``."""
        columns = self.columns[table]
        case_at, unique = (
            columns.index("case_id"),
            [(columns.index(c), make) for c, make in UNIQUE.get(table, {}).items()],
        )
        moved_to: dict[datetime, object] = {}  # a case's rows share few instants: each is written once
        for template_values, moved, named in self.recipes[table].get(template_id, []):
            values = list(template_values)
            values[case_at] = case_id
            if "id" in columns:  # the workflow state has none of its own: it is the case's
                values[0] = self.new_id(table)
            for i, at in moved:
                if at not in moved_to:
                    moved_to[at] = self.time(at + shift)
                values[i] = moved_to[at]
            for i, make in unique:
                values[i] = make(values[0])
            for i in named:
                values[i] = values[i].replace(*tickets)
            yield values


def _plan(rng: random.Random, cases: int, open_cases: int, now: datetime) -> list[tuple[datetime, str]]:
    """(opened, stage) of every copy, oldest first: the open ones over the last 40 days by stage, the rest closed."""
    plan = []
    for stage, share, (low, high) in OPEN_STAGES:
        count = (
            round(open_cases * share)
            if stage != "respuesta_final"
            else open_cases - sum(round(open_cases * s) for st, s, _d in OPEN_STAGES if st != "respuesta_final")
        )
        plan += [(now - timedelta(days=rng.uniform(low, high)), stage) for _ in range(count)]
    plan += [(now - timedelta(days=rng.uniform(41, 480)), "cerrado") for _ in range(cases - open_cases)]
    plan.sort()
    return plan


def build(store, templates: dict[str, list[int]], cases: int, open_cases: int, now: datetime, seed: int = 7) -> dict:
    """Write ``cases`` copies, ``open_cases`` of them open, a chunk per transaction; counts and seconds."""
    rng = random.Random(seed)
    began = time.perf_counter()
    template_ids = [i for ids in templates.values() for i in ids]
    postgres = store.engine.dialect.name == "postgresql"
    pooled = store.engine.raw_connection()
    try:
        rows = Rows(pooled.dbapi_connection, postgres, template_ids)
    finally:
        pooled.close()
    loader = common.BulkLoader(store, {name: rows.columns[name] for name in ("cases", *CHILDREN)})
    # what the search index's trigger writes, which COPY does not fire on PostgreSQL
    document, first_of_chunk = search_index.pg_document("cases", search_index.in_column), rows.next_id["cases"]
    loader.drop_indexes(("cases", *CHILDREN, "case_fts") if postgres else ("cases", *CHILDREN))
    case_columns = rows.columns["cases"]
    positions = [case_columns.index(c) for c in CASE_FIELDS]
    template_of = rows.cases
    template_data = {
        i: json.loads(packing.unpack("case_data", row[case_columns.index("data")])) for i, row in template_of.items()
    }
    ticket_at, opened_at = case_columns.index("ticket"), case_columns.index("opened_at")
    task_columns = rows.columns["human_task"]
    task_fields = [task_columns.index(c) for c in ("direccion", "case_type", "channel", "corregimiento")]
    assignee_at, created_at, task_due_at = (task_columns.index(c) for c in ("assignee", "created_at", "due_at"))
    plan = _plan(rng, cases, open_cases, now)
    numbers: dict[int, int] = {}  # year → the last ticket number issued in it
    for done, (opened, stage) in enumerate(plan, start=1):
        template_id = rng.choice(templates[stage])
        template = template_of[template_id]
        person = _person(rng)
        direccion = rng.choice(common.DIRECCIONES) if stage not in ("plantilla", "hoja") else None
        tipo = template[case_columns.index("case_type")] if stage == "plantilla" else rng.choice(common.TIPOS)
        subject = rng.choice(SUBJECTS)
        corregimiento = rng.choice(CORREGIMIENTOS)
        due = opened + timedelta(days=30)
        numbers[opened.year] = numbers.get(opened.year, 999) + 1
        ticket = f"AC-{opened.year}-{numbers[opened.year]:06d}"
        closed = stage == "cerrado"
        record = {
            **template_data[template_id],
            "ticket": ticket,
            "tipo_caso": tipo,
            "asunto": subject,
            "direccion": direccion,
            "descripcion": " ".join(rng.sample(SENTENCES, 3)),
            "corregimiento": corregimiento,
            "ciudadano_nombre": person["citizen_name"],
            "ciudadano_cedula": person["citizen_cedula"],
        }
        mirrored = (direccion, tipo, rng.choice(CHANNELS), corregimiento)
        case_id = rows.new_id("cases")
        naive = opened.replace(tzinfo=None)
        values = list(template)
        for at, value in zip(
            positions,
            (
                case_id,
                ticket,
                subject,
                rows.time(naive),
                rows.time(naive + timedelta(days=30)),
                "cerrado" if closed else ("en seguimiento" if stage == "respuesta_final" else "abierto"),
                rows.time(naive + timedelta(days=rng.uniform(3, 29))) if closed else None,
                packing.pack("case_data", json_text(record)),
                record_text(record, DESCRIPTION_FIELD),  # as Case._describe sets it
                None,  # no armed timer: a copy is read, never loaded (the timer sweep skips it)
                *person.values(),
                *mirrored,
            ),
            strict=True,
        ):
            values[at] = value
        loader.add("cases", tuple(values))
        shift = naive - rows.read_time(template[opened_at])
        tickets = (template[ticket_at], ticket)
        for table in CHILDREN:
            for child in rows.children(table, template_id, case_id, shift, tickets):
                if table == "human_task":
                    created = naive + timedelta(hours=rng.uniform(0, 12))
                    for at, value in zip(task_fields, mirrored, strict=True):
                        child[at] = value
                    lane = child[task_columns.index("lane")]
                    child[assignee_at] = "operador" if lane == "operador" and rng.random() < 0.05 else None
                    child[created_at] = rows.time(created)
                    child[task_due_at] = rows.time(
                        created + PLAZO[stage] if stage in PLAZO else due.replace(tzinfo=None)
                    )
                loader.add(table, tuple(child))
        if done % CHUNK == 0 or done == len(plan):
            loader.flush()
            if postgres:  # the chunk's search documents, in one statement rather than a trigger per row
                loader.raw.execute(
                    f"INSERT INTO case_fts (case_id, document) SELECT id, {document} FROM cases "
                    f"WHERE id >= {first_of_chunk} AND id < {rows.next_id['cases']}"
                )
                loader.raw.commit()
            first_of_chunk = rows.next_id["cases"]
            if done % (CHUNK * 10) == 0 or done == len(plan):
                print(f"  {done:,} of {len(plan):,} cases written, {time.perf_counter() - began:.0f} s", flush=True)
    rows_s = time.perf_counter() - began
    indexes_s = loader.finish()
    with store.unit_of_work() as s:  # the next ticket of each year follows the copies' numbers
        for year, number in numbers.items():
            s.merge(TicketSequence(prefix="AC", year=year, last=number))
    return {
        **{table: count for table, count in loader.written.items()},
        "rows_s": rows_s,
        "indexes_s": indexes_s,
        "build_s": time.perf_counter() - began,
        "peak_wal_mb": loader.peak_wal_bytes / 1024 / 1024,
    }


def prepare(store, cases: int, open_cases: int, now: datetime) -> dict:
    """Procedures deployed, the three people, the template cases and the copies.

    The templates' states are written with a dictionary learnt from earlier cases' states, as in an
    office that runs `atiende estados compactar` weekly (docs/operations.md); not from the templates'
    own, which every copy repeats byte for byte and a dictionary learnt from them would hold.
    """
    atiende = Atiende(store, FrozenClock(now))
    atiende.deploy_directory("sistema", note="bench")
    with store.unit_of_work() as s:
        for name, (roles, direccion) in PEOPLE.items():
            create_user(s, name, name.capitalize(), PASSWORD, roles, direccion=direccion)
    earlier = 0  # the office's earlier cases, which `atiende estados compactar` learns from: as many as it needs
    while earlier < compaction.MINIMUM:
        earlier += sum(len(ids) for ids in make_templates(atiende).values())
    compaction.train(store, atiende.serializer.codec, now)
    templates = make_templates(atiende)
    rendering.render_pending(store, 100)  # the templates' own hojas: the server's worker finds none to make
    return build(store, templates, cases, open_cases, now)


# -- what people ask for ---------------------------------------------------------------------
BANDEJA = [
    ("operador", ""),
    ("operador", "pagina=2"),
    ("operador", "pagina=200"),
    ("operador", "pagina=2000"),
    ("operador", "tipo=reporte"),
    ("operador", "canal=pagina_web&corregimiento=bella_vista"),
    ("operador", "vence=vencidas"),
    ("operador", "vence=pronto"),
    ("operador", "alcance=mias"),
    ("operador", "alcance=disponibles&orden=vence_desc"),
    ("operador", "direccion=gestion_ambiental&orden=recibido_desc"),
    ("operador", "orden=ticket"),
    ("operador", "orden=ticket_desc&pagina=50"),
    ("operador", "orden=tarea"),
    ("operador", "orden=caso_desc"),
    ("operador", "orden=direccion"),
    ("operador", "orden=asignada_desc"),
    ("operador", "orden=recibido"),
    ("coordinador", ""),
    ("coordinador", "clase=aprobacion"),
    ("coordinador", "alcance=equipo"),
    ("coordinador", "alcance=equipo&pagina=300"),
    ("coordinador", "alcance=equipo&orden=asignada"),
    ("coordinador", "alcance=equipo&orden=recibido_desc&pagina=1000"),
    ("coordinador", "alcance=equipo&tipo=queja_reclamo&vence=vencidas"),
    ("enlace", ""),
    ("enlace", "vence=pronto"),
    ("enlace", "orden=ticket_desc"),
]


def search_queries(store) -> list[tuple[str, str]]:
    """(person, query): a ticket, a ticket's number, a cédula and its beginning, names, words."""
    with store.read() as s:
        middle = s.scalar(select(func.max(Case.id))) // 2
        ticket, cedula, name = s.execute(
            select(Case.ticket, Case.citizen_cedula, Case.citizen_name).where(Case.id == middle)
        ).one()
        older = s.scalar(select(Case.id).order_by(Case.id.desc()).offset(60).limit(1))
    return [
        ("operador", ticket),
        ("operador", ticket.rsplit("-", 1)[1].lstrip("0")),
        ("operador", cedula),
        ("operador", cedula.rsplit("-", 1)[0]),
        ("operador", name.split()[1]),
        ("operador", " ".join(name.split()[:2])),
        ("operador", "basura"),
        ("operador", "semaforo danado"),
        ("operador", "luminaria parque"),
        ("operador", "gonzalez"),
        ("operador", "itzel"),
        ("operador", "tejada pinzon"),
        ("enlace", "fuga de agua"),
        ("enlace", "samaniego"),
        ("coordinador", f"basura&antes={older}"),
    ]


def case_pages(store) -> list[tuple[str, int]]:
    """(person, case id): cases with the reader's own task (its form inline), others' open cases and
    closed ones, from the oldest to the newest; the enlace's of their dirección."""
    enlace_direccion = PEOPLE["enlace"][1]
    with store.read() as s:

        def tasks(lane: str, form: str, direccion: str | None = None) -> list[int]:
            query = select(HumanTask.case_id).where(HumanTask.lane == lane, HumanTask.form.startswith(form))
            if direccion:
                query = query.where(HumanTask.direccion == direccion)
            return list(s.scalars(query.order_by(HumanTask.case_id).limit(200)))[::60]

        def closed(direccion: str | None = None) -> list[int]:
            query = select(Case.id).where(Case.status == "cerrado")
            if direccion:
                query = query.where(Case.direccion == direccion)
            top = s.scalar(select(func.max(Case.id)))
            return [s.scalar(query.where(Case.id >= top * k // 4).order_by(Case.id).limit(1)) for k in range(4)]

        pages = [("operador", i) for i in tasks("operador", "respuesta_final") + tasks("operador", "plantilla_")]
        pages += [("coordinador", i) for i in tasks("coordinador", "aprobacion_") + closed()]
        pages += [("enlace", i) for i in tasks("enlace", "acuse_recibo", enlace_direccion) + closed(enlace_direccion)]
        pages += [("operador", i) for i in closed()]
    return [(person, case_id) for person, case_id in pages if case_id is not None]


def _get(client, person: str, path: str):
    response = client.get(path)
    if response.status != 200:
        raise RuntimeError(f"{path} as {person}: {response.status}")
    return response.seconds


Timings = dict[str, list[tuple[str, float]]]  # kind → (request's name: person and path, seconds) of each


def over_http(server, plan: dict[str, list[tuple[str, str]]], requests: int, warmup: int) -> Timings:
    """Each kind in turn, as its person, over one kept-alive connection each; the requests' seconds by kind."""
    clients = {name: live_server.Client(server) for name in PEOPLE}
    for name, client in clients.items():
        client.sign_in(name, PASSWORD)
    timings: Timings = {kind: [] for kind in plan}
    for n in range(warmup + requests):
        for kind, mix in plan.items():
            person, path = mix[n % len(mix)]
            seconds = _get(clients[person], person, path)
            if n >= warmup:
                timings[kind].append((f"{person} {path}", seconds))
    for client in clients.values():
        client.close()
    return timings


class _TestClient:
    """Flask's test client, answering as ``live_server.Client`` does: the page in-process, no HTTP."""

    def __init__(self, app):
        self.client = app.test_client()

    def get(self, path: str) -> live_server.Response:
        began = time.perf_counter()
        response = self.client.get(path)
        body = response.get_data(as_text=True)
        return live_server.Response(response.status_code, response.location, body, time.perf_counter() - began)

    def sign_in(self, username: str) -> None:
        token = live_server.TOKEN.search(self.get("/ingresar").body).group(1)
        answer = self.client.post("/ingresar", data={"usuario": username, "contrasena": PASSWORD, "csrf_token": token})
        if answer.status_code != 302:
            raise RuntimeError(f"{username} could not sign in ({answer.status_code})")


def in_process(store, url: str, plan: dict[str, list[tuple[str, str]]], requests: int, now: datetime) -> Timings:
    """The bandeja and search through engine.cases.finding.worklist and engine.cases.finding.search, and the case page
    through the application's test client (the page's queries and its template): no HTTP."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench-" + "x" * 32, "DATABASE_URL": url})
    pages = {name: _TestClient(app) for name in PEOPLE}
    for name, client in pages.items():
        client.sign_in(name)
    timings: Timings = {kind: [] for kind in plan}
    for n in range(requests):
        person, query = plan["bandeja"][n % len(plan["bandeja"])]
        filters = bandeja.filters_from(MultiDict(parse_qsl(query.partition("?")[2])))
        began = time.perf_counter()
        with store.read() as s:
            worklist.page(s, ACTORS[person], filters, now)
        timings["bandeja"].append((f"{person} {query}", time.perf_counter() - began))
        person, query = plan["search"][n % len(plan["search"])]
        args = dict(parse_qsl(query.partition("?")[2]))
        began = time.perf_counter()
        with store.read() as s:
            search.search(s, ACTORS[person], args.get("q", ""), int(args["antes"]) if "antes" in args else None)
        timings["search"].append((f"{person} {query}", time.perf_counter() - began))
        person, path = plan["caso"][n % len(plan["caso"])]
        timings["caso"].append((f"{person} {path}", _get(pages[person], person, path)))
    app.extensions["atiende"].store.dispose()
    return timings


def requests_plan(store) -> dict[str, list[tuple[str, str]]]:
    """(person, path) of each kind of request: bandeja pages, searches, case pages."""
    return {
        "bandeja": [(person, f"/?{query}") for person, query in BANDEJA],
        "search": [
            (person, f"/buscar/?{urlencode({'q': q, **({'antes': b} if b else {})})}")
            for person, query in search_queries(store)
            for q, _, b in [query.partition("&antes=")]
        ],
        "caso": [(person, f"/casos/{case_id}") for person, case_id in case_pages(store)],
    }


def summary(timings: Timings) -> dict:
    return {
        f"{kind}_{p}_ms": round(1000 * live_server.percentile([seconds for _name, seconds in done], q), 2)
        for kind, done in timings.items()
        for p, q in (("p50", 0.5), ("p95", 0.95))
    }


def slowest(timings: Timings, label: str, top: int = 10) -> list[dict]:
    """The ``top`` requests by their slowest time, each with its median, printed under ``label``."""
    by_name: dict[tuple[str, str], list[float]] = {}
    for kind, done in timings.items():
        for name, seconds in done:
            by_name.setdefault((kind, name), []).append(seconds)
    found = sorted(
        (
            {
                "kind": kind,
                "request": name,
                "n": len(seconds),
                "p50_ms": round(1000 * live_server.percentile(seconds, 0.5), 2),
                "max_ms": round(1000 * max(seconds), 2),
            }
            for (kind, name), seconds in by_name.items()
        ),
        key=lambda row: -row["max_ms"],
    )[:top]
    print(f"{label}: the {top} slowest requests (median and slowest of each, ms)")
    for row in found:
        print(f"  {row['kind']:8s}{row['p50_ms']:9.1f}{row['max_ms']:9.1f}  {row['request']}")
    return found


TARGETS_MS = {"bandeja": 50, "search": 100, "caso": 50}


def _seeded(db, args, now: datetime) -> tuple:
    """The store of ``db``, what seeding it wrote and the instant it was seeded at: seeded now, or by an
    earlier run kept in ``args.reuse`` (migrated to the newest revision first); kept if ``args.keep``."""
    label = db.label
    kept = Path(args.keep or args.reuse or ".", f"{label}.json")
    if args.reuse:
        seed = json.loads(kept.read_text(encoding="utf-8"))
        args.cases, args.open = seed["cases"], seed["open"]
        print(f"{label} ({db.where}): reusing {seed['cases']:,} cases seeded at {seed['now']}", flush=True)
        store = Store(db.url)
        store.migrate()
        return store, seed["built"], datetime.fromisoformat(seed["now"])
    print(f"{label} ({db.where}): seeding {args.cases:,} cases, {args.open:,} open", flush=True)
    store = common.prepared_store(db)
    built = prepare(store, args.cases, args.open, now)
    if args.keep:
        seed = {"now": now.isoformat(), "cases": args.cases, "open": args.open, "where": db.where, "built": built}
        kept.write_text(json.dumps(seed), encoding="utf-8")
    return store, built, now


def run_on(db, args, now: datetime) -> dict:
    """Seed ``db`` (or reuse it), then time each kind in-process and (on SQLite) over HTTP; the figures,
    keyed by where."""
    label = db.label
    store, built, now = _seeded(db, args, now)
    disk = common.disk_bytes(store, db)
    print(
        f"{label}: {built['cases']:,} copies, {built['human_task']:,} open tasks, {built['audit_event']:,} events, "
        f"{built['outbox_message']:,} messages in {built['build_s']:.1f} s "
        f"(rows {built['rows_s']:.1f} s, indexes {built['indexes_s']:.1f} s); on disk "
        f"{disk['database'] / 2**20:,.0f} MB + WAL {disk['wal'] / 2**20:,.0f} MB "
        f"(WAL at most {built['peak_wal_mb']:,.0f} MB while seeding)",
        flush=True,
    )
    plan = requests_plan(store)
    figures = {
        f"{label}_seed_s": round(built["build_s"], 1),
        f"{label}_seed_rows_s": round(built["rows_s"], 1),
        f"{label}_seed_indexes_s": round(built["indexes_s"], 1),
        f"{label}_disk_mb": round((disk["database"] + disk["wal"]) / 2**20),
        f"{label}_peak_wal_mb": round(built["peak_wal_mb"]),
        f"{label}_rows": {k: v for k, v in built.items() if isinstance(v, int)},
    }
    timed = in_process(store, db.url, plan, args.requests, now)
    figures.update({f"{label}_inprocess_{k}": v for k, v in summary(timed).items()})
    figures[f"{label}_inprocess_slowest"] = slowest(timed, f"in-process, {label}")
    store.dispose()
    if label == "sqlite":
        with live_server.web_server(db.url) as server:
            timed = over_http(server, plan, args.requests, args.warmup)
            figures["server_peak_rss_mb"] = round(live_server.peak_rss_mb(server.pid), 1)
        figures.update({f"http_{k}": v for k, v in summary(timed).items()})
        figures["http_slowest"] = slowest(timed, "HTTP, sqlite")
    return figures


def _kept_schema(directory: str | None) -> str | None:
    """The PostgreSQL schema kept in ``directory``: the one an earlier --keep named, else a new name."""
    if not directory:
        return None
    kept = Path(directory, "postgresql.json")
    if kept.exists():
        return json.loads(kept.read_text(encoding="utf-8"))["where"]
    Path(directory).mkdir(parents=True, exist_ok=True)
    return f"atiende_bench_kept_{uuid.uuid4().hex[:10]}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--open", type=int, help="open cases (default: a fifth of --cases)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests of each kind")
    parser.add_argument("--warmup", type=int, default=32)
    parser.add_argument("--database-url", help="also seed and time on this PostgreSQL server (a schema of its own)")
    parser.add_argument("--skip-sqlite", action="store_true", help="with --database-url: PostgreSQL only")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep", metavar="DIR", help="keep the seeded databases (SQLite: in DIR)")
    kept.add_argument("--reuse", metavar="DIR", help="time the databases kept in DIR by --keep, without seeding")
    args = parser.parse_args(argv)
    args.open = args.cases // 5 if args.open is None else args.open
    now = datetime.now(UTC).replace(microsecond=0)
    result: dict = {
        "bench": "tasklist",
        "cases": args.cases,
        "open": args.open,
        "requests": args.requests,
        "server": "python -m web (Waitress, 1 process)",
        "targets_p95_ms": TARGETS_MS,
    }
    pg_url = common.postgres_url(args.database_url) if args.database_url else None
    kept = args.keep or args.reuse
    databases = [] if args.skip_sqlite and pg_url else [lambda: common.sqlite_database(directory=kept)]
    databases += [lambda: common.postgres_database(pg_url, _kept_schema(kept))] if pg_url else []
    for database in databases:
        with database() as db:
            result.update(run_on(db, args, now))
    result.update(cases=args.cases, open=args.open)  # as seeded, when reused
    rows = [
        ("HTTP, SQLite", "http_"),
        ("in-process, SQLite", "sqlite_inprocess_"),
        ("in-process, PostgreSQL", "postgresql_inprocess_"),
    ]
    print(f"{'':34s}{'p50 ms':>10s}{'p95 ms':>10s}{'target':>10s}")
    missed = []
    for label, prefix in rows:
        for kind, target in TARGETS_MS.items():
            key = f"{prefix}{kind}_p95_ms"
            if key in result:
                p50 = result[f"{prefix}{kind}_p50_ms"]
                print(f"{label + ' ' + kind:34s}{p50:>10.2f}{result[key]:>10.2f}{target:>10d}")
                if result[key] > target:
                    missed.append(key)
    result["missed"] = missed
    result["target_met"] = not missed
    verdict = "met" if not missed else "NOT met: " + ", ".join(missed)
    print(f"Targets (p95: bandeja and case page ≤ 50 ms, search ≤ 100 ms): {verdict}.")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
