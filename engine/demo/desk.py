"""A desk that looks lived in: more people, and a few hundred cases of the last weeks at every stage.

A newcomer's first ``make run`` should show an office at work, not three fresh cases: several
operadores and coordinadores, enlaces of several direcciones, cases that came in by every
channel over the past weeks, some closed, some waiting for the coordinator's approval, some
returned with a comment, some overdue, some taken by one person and free to be reassigned.

Every case is made the way the office makes it: the real procedures run through the engine
(``Atiende.start_case``, ``complete_task``, the timer sweep, ``assignment.claim``) on a
second engine sharing the store, whose clock is set back and moved forward through the weeks,
so ages, deadlines, reminders and follow-ups are the procedures' own. Nothing is written to
the tables by hand. A pseudo-random generator with a fixed seed makes the same desk every time.

It is a step of its own (``python -m web`` and ``atiende demo`` run it after the small demo):
the test suite's demo template stays the three cases its tests count.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select

from engine.access.accounts import Actor, actor_of, create_user
from engine.cases import assignment
from engine.clock import PANAMA, FrozenClock
from engine.db.models import Case, HumanTask, User
from engine.demo.seed import DEMO_PASSWORD, SAMPLE_SUBMISSIONS
from engine.errors import AssignmentRefused, Forbidden, FormErrors, NotFound, StepFailed, TaskAlreadyDone
from engine.facade import Atiende
from engine.intake import web_report

OPERADOR_ROLES = ["operador", "operador_front", "operador_back_office", "operador_gestion_ciudadano"]
# username, full name, roles, dirección (for enlaces); the README's demo-users line names them.
DESK_USERS = [
    ("operador2", "Marta Ríos", OPERADOR_ROLES, None),
    ("operador3", "Julio Vargas", OPERADOR_ROLES, None),
    ("operador4", "Yolanda Mendoza", ["operador", "operador_front"], None),
    ("coordinador2", "Sofía Herrera", ["coordinador"], None),
    ("enlace_obras", "Raúl Castillo (Obras y Construcciones)", ["enlace"], "obras_construcciones"),
    ("enlace_corregidores", "Inés Quintero (Coordinación de Corregidores)", ["enlace"], "coordinacion_corregidores"),
    ("enlace_participacion", "Tomás Arosemena (Participación Ciudadana)", ["enlace"], "participacion_ciudadana"),
]
# The direcciones a hoja de trámite sends cases to: each has an enlace among the demo users.
DIRECCIONES = [
    "planificacion_urbana",
    "gestion_ambiental",
    "obras_construcciones",
    "coordinacion_corregidores",
    "participacion_ciudadana",
]
CASES = 300
WEEKS = 7  # how far back the oldest case came in
OFFICE_HOURS = (8, 16)  # Panamá time: cases come in and are worked in these hours, on weekdays

FIRST_NAMES = [
    "María", "José", "Luisa", "Carlos", "Ana", "Luis", "Rosa", "Jorge", "Carmen", "Pedro", "Elena", "Raúl",
    "Gloria", "Andrés", "Itzel", "Ricardo", "Yaritza", "Abdiel", "Marisol", "Eduardo", "Nelly", "Fernando",
]  # fmt: skip
LAST_NAMES = [
    "Pérez", "Rodríguez", "González", "Batista", "Castillo", "Herrera", "Sánchez", "Vega", "Moreno", "Jaén",
    "Ortega", "Samudio", "De León", "Caballero", "Barría", "Quintero", "Morales", "Pinzón", "Tejada", "Guerra",
]  # fmt: skip
CORREGIMIENTOS = [
    "bella_vista", "san_francisco", "calidonia", "pueblo_nuevo", "juan_diaz", "pedregal", "rio_abajo",
    "parque_lefevre", "betania", "ancon", "tocumen", "las_cumbres", "24_de_diciembre", "san_felipe", "curundu",
]  # fmt: skip
# What people write about, by type of case: (asunto, descripción).
SUBJECTS = {
    "queja_reclamo": [
        ("Basura sin recoger", "Hace dos semanas no pasa el camión recolector por la calle."),
        ("Mala atención en ventanilla", "Esperé tres horas y no me atendieron en la ventanilla de permisos."),
        ("Cobro indebido de tasa", "Me cobraron dos veces la tasa de aseo del local."),
        ("Obra abandonada", "La obra de la acera quedó a medias y con huecos desde hace un mes."),
        ("Ruido de discoteca", "La discoteca de la esquina tiene música a todo volumen hasta la madrugada."),
    ],
    "solicitud_informacion": [
        ("Permiso de construcción", "Solicito los requisitos del permiso de construcción de una vivienda."),
        ("Horario de recolección", "Quisiera saber qué días pasa el camión recolector en mi barrio."),
        ("Paz y salvo municipal", "¿Cómo obtengo el paz y salvo municipal para vender mi auto?"),
        ("Uso de suelo", "Solicito información sobre el uso de suelo de un lote en la vía principal."),
    ],
    "sugerencia": [
        ("Bancas en el parque", "Sugiero instalar bancas y sombra en el parque del barrio."),
        ("Horario extendido", "Atender también los sábados por la mañana."),
        ("Más contenedores", "Colocar contenedores de reciclaje en la plaza."),
    ],
    "reporte": [
        ("Luminaria apagada", "La luminaria frente al parque está apagada desde hace un mes."),
        ("Hueco en la calle", "Hay un hueco profundo en la calzada; ya hubo dos accidentes."),
        ("Alcantarilla tapada", "La alcantarilla se tapa y la calle se inunda cada vez que llueve."),
        ("Árbol a punto de caer", "Un árbol grande está inclinado sobre el tendido eléctrico."),
        ("Lote con maleza", "El lote baldío de la esquina tiene maleza alta y criaderos."),
    ],
    "denuncia": [
        ("Construcción sin permiso", "Construyen de noche, sin letrero de permiso, y ocupan la acera."),
        ("Vertedero clandestino", "Están botando escombros en el terreno junto a la quebrada."),
    ],
    "queja": [("Cobro indebido en el mercado", "Le cobraron dos veces la tasa del puesto.")],
}
# (procedure, channel, weight): how the cases of a month arrive.
ARRIVALS = [
    ("atencion_correo_web", "correo_electronico", 30),
    ("atencion_correo_web", "pagina_web", 25),
    ("atencion_llamadas", "telefono", 20),
    ("atencion_directa", "presencial", 15),
    ("defensa_usuario_311", "plataforma_311", 10),
]
ANSWER_BY = {"correo_electronico": "correo_electronico", "pagina_web": "correo_electronico", "telefono": "telefono"}
# What stops one step of the desk without stopping the desk: said in ``Made.refused``.
REFUSALS = (FormErrors, Forbidden, StepFailed, TaskAlreadyDone, NotFound, AssignmentRefused)
RETURN_COMMENT = "Falta el domicilio exacto y un teléfono de contacto; corrija el resumen."


@dataclass
class Plan:
    """One case to make: what the citizen brought, when, and how far the office got with it."""

    key: int
    process: str
    channel: str
    data: dict
    opened: datetime
    steps: int  # tasks completed, at most, after the start
    close: bool  # whether the final answer is given (otherwise the case stays open)
    returns: bool  # whether the coordinator returns the hoja once
    direccion: str
    case_id: int | None = None
    returned: bool = False


@dataclass
class Made:
    """What the seeding did (for its command's message and its test)."""

    users: int = 0
    cases: int = 0
    completed: int = 0
    claimed: int = 0
    refused: list[str] = field(default_factory=list)  # steps a form or the procedure refused, said why


def seed(atiende: Atiende, cases: int | None = None, weeks: int = WEEKS, rng_seed: int = 18) -> Made:
    """Add the desk's people and ``cases`` cases (``CASES``) to a database that holds the small demo
    (``engine.demo.seed``)."""
    cases = CASES if cases is None else cases
    made = Made()
    with atiende.store.unit_of_work() as s:
        known = set(s.scalars(select(User.username)))
        for username, full_name, roles, direccion in DESK_USERS:
            if username not in known:
                create_user(
                    s,
                    username,
                    full_name,
                    DEMO_PASSWORD,
                    roles,
                    email=f"{username}@atiende.example",
                    direccion=direccion,
                )
                made.users += 1
        people = [actor_of(user) for user in s.scalars(select(User).where(User.active.is_(True)).order_by(User.id))]
    end = atiende.now()
    clock = FrozenClock(end - timedelta(weeks=weeks))
    desk = Atiende(atiende.store, clock, settings=atiende.settings)
    rng = random.Random(rng_seed)
    plans = [_plan(rng, key, end, weeks) for key in range(cases)]
    _run(desk, clock, rng, people, plans, end, made)
    clock.set(end)
    _claim_some(desk, rng, people, made)
    return made


def _plan(rng: random.Random, key: int, end: datetime, weeks: int) -> Plan:
    process, channel = _weighted(rng, [((p, c), w) for p, c, w in ARRIVALS])
    opened = end
    while opened >= end - timedelta(minutes=30):  # a Friday evening's case would move past now
        opened = _office_moment(rng, end - timedelta(days=rng.uniform(0.2, weeks * 7)))
    age = (end - opened).days
    if process == "defensa_usuario_311":
        kind = rng.choice(["denuncia", "denuncia", "queja"])
    elif process == "atencion_directa":  # the counter takes no requests for information
        kind = _weighted(rng, [("queja_reclamo", 3), ("reporte", 3), ("sugerencia", 1)])
    else:
        kind = _weighted(rng, [("queja_reclamo", 4), ("reporte", 4), ("solicitud_informacion", 2), ("sugerencia", 1)])
    subject, description = rng.choice(SUBJECTS[kind])
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    name = f"{first} {last} {rng.choice(LAST_NAMES)}"
    email = f"{_ascii(first)}.{_ascii(last)}{key}@example.com"
    phone = f"6{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    place = rng.choice(CORREGIMIENTOS)
    data = {
        "tipo_caso": kind,
        "ciudadano_nombre": name,
        "ciudadano_telefono": phone,
        "lugar_notificaciones": email if channel in ("correo_electronico", "pagina_web") else f"Llamar al {phone}",
        "corregimiento": place,
        "asunto": subject,
        "descripcion": description,
    }
    if process == "atencion_correo_web":
        data |= {"canal": channel, "ciudadano_email": email, "respuesta_inmediata_enviada": channel == "pagina_web"}
    if process in ("atencion_correo_web", "atencion_directa") and rng.random() < 0.6:
        data["ciudadano_cedula"] = f"{rng.randint(1, 9)}-{rng.randint(100, 999)}-{rng.randint(100, 9999)}"
    if process in ("atencion_directa", "defensa_usuario_311"):
        data["domicilio"] = f"Calle {rng.randint(1, 80)}, casa {rng.randint(1, 120)}"
    if process == "defensa_usuario_311":
        data |= {"canal": channel, "ciudadano_email": email}
    # Older cases got further: most of those a month old are closed; this week's are at every stage.
    close = rng.random() < min(0.75, age / 30)
    steps = 99 if close else rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6])
    return Plan(key, process, channel, data, opened, steps, close, rng.random() < 0.12, rng.choice(DIRECCIONES))


def _run(
    desk: Atiende,
    clock: FrozenClock,
    rng: random.Random,
    people: list[Actor],
    plans: list[Plan],
    end: datetime,
    made: Made,
) -> None:
    """Play the weeks in order of time: each case's start and steps, and a timer sweep every office morning."""
    order = itertools.count()
    events: list[tuple[datetime, int, str, Plan | None]] = [(p.opened, next(order), "start", p) for p in plans]
    day = _office_moment(rng, min(p.opened for p in plans), hour=7)
    while day < end:
        events.append((day, next(order), "sweep", None))
        day += timedelta(days=1)
    heapq.heapify(events)
    while events:
        moment, _, action, plan = heapq.heappop(events)
        clock.set(moment)
        if plan is None:
            desk.run_timer_sweep()
            continue
        if action == "start":
            if not _start(desk, rng, people, plan, made):
                continue
        elif not _step(desk, rng, people, plan, made):
            continue
        if plan.steps > 0:
            plan.steps -= 1
            following = _office_moment(rng, moment + timedelta(hours=rng.uniform(2, 40)))
            if following < end:
                heapq.heappush(events, (following, next(order), "step", plan))


def _start(desk: Atiende, rng: random.Random, people: list[Actor], plan: Plan, made: Made) -> bool:
    with desk.store.read() as s:
        starters = desk.latest_procedure(s, plan.process).starters
    if plan.channel == "pagina_web":
        who = web_report.ACTOR  # the public form starts its cases as the office itself
    else:
        who = rng.choice([p for p in people if p.roles & starters and p.direccion is None])
    try:
        plan.case_id = desk.start_case(plan.process, plan.data, who).case_id
    except REFUSALS as refused:
        made.refused.append(f"{plan.process} (inicio): {_why(refused)}")
        return False
    made.cases += 1
    return True


def _step(desk: Atiende, rng: random.Random, people: list[Actor], plan: Plan, made: Made) -> bool:
    """Complete the case's oldest open task, as someone of its lane; the final answer only if the plan closes it."""
    with desk.store.read() as s:
        tasks = list(
            s.scalars(select(HumanTask).where(HumanTask.case_id == plan.case_id).order_by(HumanTask.created_at))
        )
        case = s.get(Case, plan.case_id)
        forms = desk.procedure(s, case.procedure_version_id).forms if case is not None else {}
    tasks = [t for t in tasks if plan.close or t.form != "respuesta_final"]
    if not tasks:
        return False
    task = tasks[0]
    if task.form not in SAMPLE_SUBMISSIONS:
        return False
    workers = [
        p
        for p in people
        if p.has(task.lane)
        and (task.assignee in (None, p.username))
        and (task.lane != "enlace" or p.direccion == task.direccion)
        and (task.lane == "enlace" or p.direccion is None)
    ]
    if not workers:
        return False
    today = desk.now().astimezone(PANAMA).date().isoformat()
    data = {**SAMPLE_SUBMISSIONS[task.form], **_answers(task.form, plan, today)}
    for name, prop in forms.get(task.form, {}).get("properties", {}).items():
        if prop.get("format") == "date":
            data[name] = today  # every date of a form is the day it is filled in
    try:
        desk.complete_task(task.id, data, rng.choice(workers))
    except REFUSALS as refused:
        made.refused.append(f"{task.name}: {_why(refused)}")
        return False
    made.completed += 1
    return True


def _answers(form: str | None, plan: Plan, today: str) -> dict:
    """What this case's people write in a form, beyond the sample: its dirección, its words, a return."""
    subject = plan.data["asunto"]
    if form == "hoja_de_tramite":
        return {
            "direccion": plan.direccion,
            "resumen": f"{subject}: {plan.data['descripcion']}",
            "informacion_ciudadano_relevante": f"{plan.data['ciudadano_nombre']}, {plan.data['lugar_notificaciones']}",
            "prioridad": "alta" if plan.key % 5 == 0 else "normal",
        }
    if form == "aprobacion_hoja" and plan.returns and not plan.returned:
        plan.returned = True
        return {"decision_hoja": "devolver", "comentarios_aprobacion": RETURN_COMMENT}
    if form == "acuse_recibo":
        return {"recibido_por": "Enlace de la dirección"}
    if form == "respuesta_final":
        return {
            "respuesta_final": f"Sobre «{subject}»: la dirección atendió su caso y le informamos el resultado.",
            "medio_respuesta": ANSWER_BY.get(plan.channel, "presencial"),
        }
    return {}


def _claim_some(desk: Atiende, rng: random.Random, people: list[Actor], made: Made) -> None:
    """A third of the open tasks of the people who work several at once are taken by one of them:
    the bandeja shows who has what, and a coordinator has something to reassign."""
    with desk.store.read() as s:
        tasks = list(s.scalars(select(HumanTask).where(HumanTask.assignee.is_(None)).order_by(HumanTask.created_at)))
    for task in tasks:
        workers = [p for p in people if p.has(task.lane) and p.direccion is None and "operador" in p.roles]
        if task.lane == "enlace" or not workers or rng.random() > 0.35:
            continue
        try:
            assignment.claim(desk, task.id, rng.choice(workers))
        except REFUSALS as refused:
            made.refused.append(f"{task.name} (tomar): {_why(refused)}")
            continue
        made.claimed += 1


def _why(refused: Exception) -> str:
    return str(refused.errors) if isinstance(refused, FormErrors) else str(refused)


def _weighted(rng: random.Random, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _office_moment(rng: random.Random, moment: datetime, hour: int | None = None) -> datetime:
    """``moment`` moved to a weekday in office hours (Panamá time): at ``hour``, or at a random minute."""
    local = moment.astimezone(PANAMA)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    if hour is None:
        start, stop = OFFICE_HOURS
        if not start <= local.hour < stop:
            minute = rng.randint(0, (stop - start) * 60 - 1)
            day = local.date() + timedelta(days=1 if local.hour >= stop else 0)
            while day.weekday() >= 5:
                day += timedelta(days=1)
            local = datetime.combine(day, time(start), PANAMA) + timedelta(minutes=minute)
        return local.astimezone(moment.tzinfo)
    return datetime.combine(local.date(), time(hour), PANAMA).astimezone(moment.tzinfo)


def _ascii(text: str) -> str:
    return text.lower().translate(str.maketrans("áéíóúñü ", "aeiounu_"))


def summary(made: Made) -> str:
    """The seeding's result in one line, for the command that ran it."""
    line = f"{made.cases} casos de las últimas {WEEKS} semanas, {made.completed} tareas hechas, {made.claimed} tomadas"
    if made.refused:
        reasons = Counter(r.split(":")[0] for r in made.refused).most_common(3)
        line += f"; {len(made.refused)} pasos rechazados ({', '.join(f'{n}: {c}' for n, c in reasons)})"
    return line
