"""The bandeja and the case search at 100,000 cases (20,000 open), over HTTP, on SQLite.

A handful of real cases are run through the engine, one per stage of the e-mail/web procedure
(each template of the case types, hoja de trámite, approval, acuse de recibo, respuesta final,
closed); then 100,000 copies of their rows are bulk-inserted with SQLAlchemy core
``executemany``, in the order they were opened, with varied people, subjects, descriptions,
corregimientos, direcciones, case types, channels and dates around today: 80,000 closed over
the last 16 months, 20,000 open over the last 40 days, each open case with its task in the
lane its stage names (the youngest still at the template, the oldest awaiting the final
answer), 5 % of the operators' tasks claimed by «operador». A copy keeps its template's
workflow JSON and has no armed timer: it is read, never loaded (the timer sweep skips it).

Then the real server — ``python -m web``, served by Waitress as ``make run`` does, in a
subprocess — serves that database, and three people signed in over HTTP (operador,
coordinador, enlace of Planificación Urbana) ask for bandeja pages (filters, tabs, deep
pages) and searches (ticket, ticket number, cédula, names, common and rare words, a second
page) in turn; each request is timed at the client, from sending to the last byte. The same
queries are timed in-process (no HTTP) on SQLite, and on PostgreSQL with --database-url.

    .venv/bin/python bench/tasklist.py [--cases 100000] [--open 20000]
                      [--requests 300] [--database-url postgresql://root@127.0.0.1:5432/test]

The last line printed is one JSON object with every figure. Target: p95 ≤ 50 ms over HTTP.
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

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402
import live_server  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from engine.access.accounts import Actor, create_user  # noqa: E402
from engine.cases import (
    search,  # noqa: E402
    worklist,
)
from engine.clock import FrozenClock  # noqa: E402
from engine.db.models import Case, HumanTask  # noqa: E402
from engine.facade import Atiende  # noqa: E402

PASSWORD = "bench-clave-2026"
PEOPLE = {
    "operador": (["operador"], None),
    "coordinador": (["coordinador"], None),
    "enlace": (["enlace"], "planificacion_urbana"),
}
ACTORS = {name: Actor(name, frozenset(roles), direccion) for name, (roles, direccion) in PEOPLE.items()}
CHUNK = 5000
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


def build(store, templates: dict[str, list[int]], cases: int, open_cases: int, now: datetime, seed: int = 7) -> dict:
    """Bulk-insert ``cases`` copies, ``open_cases`` of them open; returns counts and seconds."""
    rng = random.Random(seed)
    cases_t, tasks_t = Case.__table__, HumanTask.__table__
    with store.engine.connect() as conn:
        rows = {r["id"]: dict(r) for r in conn.execute(select(cases_t)).mappings()}
        tasks_of: dict[int, list[dict]] = {}
        for r in conn.execute(select(tasks_t)).mappings():
            tasks_of.setdefault(r["case_id"], []).append(dict(r))
        next_id = conn.scalar(select(func.max(cases_t.c.id))) + 1
    plan = []  # (opened_at, stage)
    for stage, share, (low, high) in OPEN_STAGES:
        count = (
            round(open_cases * share)
            if stage != "respuesta_final"
            else open_cases - sum(round(open_cases * s) for st, s, _d in OPEN_STAGES if st != "respuesta_final")
        )
        plan += [(now - timedelta(days=rng.uniform(low, high)), stage) for _ in range(count)]
    plan += [(now - timedelta(days=rng.uniform(41, 480)), "cerrado") for _ in range(cases - open_cases)]
    plan.sort()
    began = time.perf_counter()
    counts = {"cases": 0, "tasks": 0}
    case_buf, task_buf = [], []
    with store.engine.begin() as conn:
        for number, (opened, stage) in enumerate(plan, start=1000):
            template = rows[rng.choice(templates[stage])]
            person = _person(rng)
            direccion = rng.choice(common.DIRECCIONES) if stage not in ("plantilla", "hoja") else None
            tipo = template["case_type"] if stage == "plantilla" else rng.choice(common.TIPOS)
            subject = rng.choice(SUBJECTS)
            due = opened + timedelta(days=30)
            record = {
                **template["data"],
                "tipo_caso": tipo,
                "asunto": subject,
                "direccion": direccion,
                "descripcion": " ".join(rng.sample(SENTENCES, 3)),
                "corregimiento": rng.choice(CORREGIMIENTOS),
                "ciudadano_nombre": person["citizen_name"],
                "ciudadano_cedula": person["citizen_cedula"],
            }
            ticket = f"AC-{opened.year}-{number:06d}"
            closed = stage == "cerrado"
            mirrored = {
                "direccion": direccion,
                "case_type": tipo,
                "channel": rng.choice(CHANNELS),
                "corregimiento": record["corregimiento"],
            }
            case_buf.append(
                {
                    **template,
                    **person,
                    **mirrored,
                    "id": next_id,
                    "ticket": ticket,
                    "subject": subject,
                    "opened_at": opened,
                    "due_at": due,
                    "status": "cerrado" if closed else ("en seguimiento" if stage == "respuesta_final" else "abierto"),
                    "closed_at": opened + timedelta(days=rng.uniform(3, 29)) if closed else None,
                    "data": {**record, "ticket": ticket},
                    "timer_due_at": None,
                }
            )
            for task in tasks_of.get(template["id"], []):
                created = opened + timedelta(hours=rng.uniform(0, 12))
                assignee = "operador" if task["lane"] == "operador" and rng.random() < 0.05 else None
                task_buf.append(
                    {
                        **task,
                        **mirrored,
                        "id": str(uuid.uuid4()),
                        "case_id": next_id,
                        "assignee": assignee,
                        "created_at": created,
                        "due_at": created + PLAZO[stage] if stage in PLAZO else due,
                    }
                )
            next_id += 1
            if len(case_buf) >= CHUNK or number == len(plan) + 999:
                for table, buffer, key in ((cases_t, case_buf, "cases"), (tasks_t, task_buf, "tasks")):
                    if buffer:
                        conn.execute(insert(table), buffer)
                        counts[key] += len(buffer)
                case_buf, task_buf = [], []
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    counts["build_s"] = time.perf_counter() - began
    with store.engine.begin() as conn:  # fresh statistics, as a long-lived table would have
        conn.execute(text("ANALYZE"))
    if store.is_sqlite:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


def prepare(store, cases: int, open_cases: int, now: datetime) -> dict:
    """Procedures deployed, the three people, the template cases and the copies."""
    atiende = Atiende(store, FrozenClock(now))
    atiende.deploy_directory("sistema", note="bench")
    with store.unit_of_work() as s:
        for name, (roles, direccion) in PEOPLE.items():
            create_user(s, name, name.capitalize(), PASSWORD, roles, direccion=direccion)
    templates = make_templates(atiende)
    return build(store, templates, cases, open_cases, now)


# -- what people ask for ---------------------------------------------------------------------
BANDEJA = [
    ("operador", ""),
    ("operador", "pagina=2"),
    ("operador", "pagina=200"),
    ("operador", "tipo=reporte"),
    ("operador", "canal=pagina_web&corregimiento=bella_vista"),
    ("operador", "vence=vencidas"),
    ("operador", "vence=pronto"),
    ("operador", "alcance=mias"),
    ("operador", "alcance=disponibles&orden=vence_desc"),
    ("operador", "direccion=gestion_ambiental&orden=recibido_desc"),
    ("coordinador", ""),
    ("coordinador", "alcance=equipo"),
    ("coordinador", "alcance=equipo&pagina=300"),
    ("coordinador", "alcance=equipo&tipo=queja_reclamo&vence=vencidas"),
    ("enlace", ""),
    ("enlace", "vence=pronto"),
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
        ("enlace", "fuga de agua"),
        ("coordinador", f"basura&antes={older}"),
    ]


def over_http(server, queries: list[tuple[str, str]], bandeja: list[tuple[str, str]], requests: int, warmup: int):
    clients = {name: live_server.Client(server) for name in PEOPLE}
    for name, client in clients.items():
        client.sign_in(name, PASSWORD)
    timings: dict[str, list[float]] = {"bandeja": [], "search": []}
    for n in range(warmup + requests):
        for kind, mix, path in (("bandeja", bandeja, "/?{}"), ("search", queries, "/buscar/?q={}")):
            person, query = mix[n % len(mix)]
            response = clients[person].get(path.format(query.replace(" ", "+")))
            if response.status != 200:
                raise RuntimeError(f"{kind} {query!r} as {person}: {response.status}")
            if n >= warmup:
                timings[kind].append(response.seconds)
    for client in clients.values():
        client.close()
    return timings


def in_process(store, queries, bandeja, requests: int, now: datetime) -> dict[str, list[float]]:
    """The same queries through engine.cases.worklist and engine.cases.search, no HTTP."""
    timings: dict[str, list[float]] = {"bandeja": [], "search": []}
    for n in range(requests):
        person, query = bandeja[n % len(bandeja)]
        params = dict(p.split("=") for p in query.split("&") if p)
        filters = worklist.Filters(
            **{
                f: params.get(p, "")
                for p, f in {
                    "alcance": "scope",
                    "tipo": "case_type",
                    "canal": "channel",
                    "direccion": "direccion",
                    "corregimiento": "corregimiento",
                    "vence": "due",
                    "orden": "order",
                }.items()
            },
            page=int(params.get("pagina", 1)),
        )
        began = time.perf_counter()
        with store.read() as s:
            worklist.page(s, ACTORS[person], filters, now)
        timings["bandeja"].append(time.perf_counter() - began)
        person, query = queries[n % len(queries)]
        words, _, before = query.partition("&antes=")
        began = time.perf_counter()
        with store.read() as s:
            search.search(s, ACTORS[person], words, int(before) if before else None)
        timings["search"].append(time.perf_counter() - began)
    return timings


def summary(timings: dict[str, list[float]]) -> dict:
    return {
        f"{kind}_{p}_ms": round(1000 * live_server.percentile(values, q), 2)
        for kind, values in timings.items()
        for p, q in (("p50", 0.5), ("p95", 0.95))
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests of each kind")
    parser.add_argument("--warmup", type=int, default=32)
    parser.add_argument("--database-url", help="also time the queries in-process on this PostgreSQL server")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    result: dict = {
        "bench": "tasklist",
        "cases": args.cases,
        "open": args.open,
        "requests": args.requests,
        "server": "python -m web (Waitress, 1 process)",
    }
    with common.sqlite_database() as db:
        store = common.prepared_store(db)
        built = prepare(store, args.cases, args.open, now)
        with store.read() as s:
            open_tasks = s.scalar(select(func.count()).select_from(HumanTask))
        size_mb = Path(db.where).stat().st_size / 1024 / 1024
        print(
            f"SQLite {db.where}: {built['cases']:,} copies + templates, {open_tasks:,} open tasks, "
            f"built in {built['build_s']:.1f} s, {size_mb:.0f} MB"
        )
        queries = search_queries(store)
        local = summary(in_process(store, queries, BANDEJA, args.requests, now))
        store.dispose()
        with live_server.web_server(db.url) as server:
            http = summary(over_http(server, queries, BANDEJA, args.requests, args.warmup))
            result["server_peak_rss_mb"] = round(live_server.peak_rss_mb(server.pid), 1)
        result.update(
            {
                "open_tasks": open_tasks,
                "build_s": round(built["build_s"], 1),
                "sqlite_mb": round(size_mb),
                **{f"http_{k}": v for k, v in http.items()},
                **{f"sqlite_{k}": v for k, v in local.items()},
            }
        )
    print(f"{'':28s}{'p50 ms':>10s}{'p95 ms':>10s}")
    for label, prefix in (("HTTP, SQLite", "http_"), ("in-process, SQLite", "sqlite_")):
        for kind in ("bandeja", "search"):
            print(
                f"{label + ' ' + kind:28s}{result[prefix + kind + '_p50_ms']:>10.2f}"
                f"{result[prefix + kind + '_p95_ms']:>10.2f}"
            )
    pg_url = common.postgres_url(args.database_url) if args.database_url else None
    if pg_url:
        with common.postgres_database(pg_url) as db:
            store = common.prepared_store(db)
            prepare(store, args.cases, args.open, now)
            pg = summary(in_process(store, search_queries(store), BANDEJA, args.requests, now))
            store.dispose()
        result.update({f"postgres_{k}": v for k, v in pg.items()})
        for kind in ("bandeja", "search"):
            print(f"{'in-process, PostgreSQL ' + kind:28s}{pg[kind + '_p50_ms']:>10.2f}{pg[kind + '_p95_ms']:>10.2f}")
    worst = max(result["http_bandeja_p95_ms"], result["http_search_p95_ms"])
    result["target_p95_ms"] = 50
    result["target_met"] = worst <= 50
    print(
        f"Server peak memory: {result['server_peak_rss_mb']} MB. Target p95 ≤ 50 ms over HTTP: "
        f"{'met' if result['target_met'] else 'NOT met'} (worst p95 {worst} ms)."
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
