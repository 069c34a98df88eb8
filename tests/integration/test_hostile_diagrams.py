"""Hostile diagrams (tests/fixtures/hostile_diagrams.py) through validation, deploy and a started case.

What an analyst deploys must never take the service down. For every probe and stage:

- it ends as a refusal (a Spanish message naming the element, or the file) or an incident (a
  Spanish reason naming the element), or, where the probe allows it, the case runs on;
- the process stays up: each stage runs in a forked child with a hard guard (its CPU, and the wall
  clock) and an address-space ceiling, so a hang, a crash or a memory bomb fails the test instead
  of pytest;
- another user's write meanwhile (a note on a case of theirs, from a thread of the same process, on
  the same database) waits no more than a second; during validation, which touches no database, a
  heartbeat thread must never be starved for a second (the GIL held by one long C call would);
- no step (a script, condition or expression: the sandbox's ``evaluate`` and ``execute``) takes
  more than a second of CPU; no request more than REQUEST_CPU_S, no validation more than the
  engine's validation budget; none grows the process by more than MEMORY_MB.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import re
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import cli
from engine.access.accounts import Actor
from engine.bpm.scripting import budget, sandbox
from engine.cases import notes
from engine.clock import FrozenClock
from engine.db.models import AuditEvent, Case, HumanTask, Incident
from engine.db.store import Store
from engine.demo.seed import DEMO_CASES
from engine.errors import DiagramError, StepFailed
from engine.facade import Atiende
from engine.procedures import publishing
from tests.conftest import START
from tests.fixtures import hostile_diagrams as hostile
from tests.fixtures.hostile_diagrams import INCIDENT, PROBES, RAN, REFUSED, Probe

# A stage counts as hung, and its child is killed, past GUARD_CPU_S of the child's CPU or GUARD_WALL_S of wall
# clock: CPU first, so that a child starved by a loaded machine is not taken for a runaway one.
GUARD_CPU_S = 8.0
GUARD_WALL_S = 60.0
STEP_CPU_S = 1.0  # the bound on one step (the engine's own is engine.bpm.scripting.budget.STEP_CPU_SECONDS)
# A request (start, completion, sweep): its automatic steps' budget, a last step's own, and its bookkeeping.
REQUEST_CPU_S = budget.ENGINE_CPU_SECONDS + budget.STEP_CPU_SECONDS + 0.25
VALIDATION_CPU_S = budget.VALIDATION_CPU_SECONDS + 0.5  # a whole diagram set's expressions, plus parsing
WRITE_WAIT_S = 1.0  # another user's write, meanwhile, on an idle machine
MAX_STRETCH = 2.5  # how much a loaded machine may stretch that wait: the stage's wall time over its CPU time, at most
MEMORY_MB = 512  # growth of the process's peak resident memory during a stage
ADDRESS_HEADROOM = 3 << 30  # the child's address space beyond what it inherited: a bomb fails, the machine lives
OPERADOR = Actor("operador", frozenset({"operador"}))
BY_NAME = pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])


# -- running a stage in a child ----------------------------------------------------------------
def _status_kb(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class _StepClock:
    """The CPU time of every sandboxed evaluation in this process (the child's), by wrapping the environment."""

    def __init__(self):
        self.times: list[float] = []
        for name in ("evaluate", "execute"):
            original = getattr(sandbox.RestrictedEnvironment, name)
            setattr(sandbox.RestrictedEnvironment, name, self._timed(original))

    def _timed(self, original):
        def timed(env, *args, **kwargs):
            began = time.thread_time()
            try:
                return original(env, *args, **kwargs)
            finally:
                self.times.append(time.thread_time() - began)

        return timed


class _Other(threading.Thread):
    """Someone else in the same process: a writer (``atiende``) or, without one, a heartbeat.

    The writer starts a case of its own, then writes notes on it: each note takes the writer's
    lock on SQLite and the audit chain's on both databases, as any step does, and costs little
    CPU of its own, so its wait is the wait for others and not the machine's load.
    """

    def __init__(self, atiende: Atiende | None):
        super().__init__(daemon=True)
        self.atiende = atiende
        self.stop = threading.Event()
        self.waits: list[float] = []
        self.errors: list[str] = []
        self.since: float | None = None  # when the write under way began
        self.case_id: int | None = None

    def write(self) -> None:
        assert self.atiende is not None
        try:
            if self.case_id is None:
                self.case_id = self.atiende.start_case("atencion_correo_web", DEMO_CASES[0], OPERADOR).case_id
            else:
                notes.add(self.atiende, self.case_id, "Llamó el ciudadano.", OPERADOR)
        except Exception as exc:  # noqa: BLE001 - reported: another user's write failed
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])

    def start(self):
        """Begin, once a first write has made the writer's case and warmed its caches (not a wait)."""
        if self.atiende is not None:
            self.write()
            self.write()
        super().start()

    def run(self):
        while not self.stop.is_set():
            self.since = began = time.monotonic()
            if self.atiende is None:
                time.sleep(0.01)
                self.waits.append(time.monotonic() - began - 0.01)
            else:
                self.write()
                self.waits.append(time.monotonic() - began)
            self.since = None
            self.stop.wait(0.05)

    def finish(self) -> tuple[float, list[str]]:
        self.stop.set()
        self.join(GUARD_WALL_S)
        stuck = [time.monotonic() - self.since] if self.since is not None else []
        return max(self.waits + stuck, default=0.0), self.errors


def _measured(stage: str, run: Callable[[], dict], steps: _StepClock, other: _Other) -> dict:
    """Run one stage in this (child) process and say what it did and cost."""
    other.start()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident size (VmHWM)
    rss_before = _status_kb("VmRSS")
    steps.times.clear()
    cpu_before, children_before = time.thread_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    wall_before = time.monotonic()
    try:
        report = run()
    except BaseException as exc:  # noqa: BLE001 - MemoryError included: the parent judges
        report = {
            "ending": "fallo",
            "error": f"{type(exc).__name__}: {exc}"[:800],
            "trace": traceback.format_exc()[-1500:],
        }
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    report["cpu"] = (
        time.thread_time()
        - cpu_before
        + children.ru_utime
        - children_before.ru_utime
        + children.ru_stime
        - children_before.ru_stime
    )
    report["wall"] = time.monotonic() - wall_before
    report["step_cpu"] = max(steps.times, default=0.0)
    report["peak_mb"] = (_status_kb("VmHWM") - rss_before) / 1024
    report["other_wait"], report["other_errors"] = other.finish()
    report["other"] = "heartbeat" if other.atiende is None else "writer"
    report["stage"] = stage
    return report


def _child(conn, url: str | None, plan: list[tuple[str, dict]]) -> None:
    """Run each stage of ``plan`` (names and plain arguments: it crossed a process boundary) on an engine
    of the database at ``url`` (none for validation), and report each."""
    headroom = _status_kb("VmSize") * 1024 + ADDRESS_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (headroom, headroom))
    steps = _StepClock()
    atiende = Atiende(Store(url), FrozenClock(START)) if url else None
    try:
        for stage, args in plan:
            run = STAGES[stage](atiende, **args)
            report = _measured(stage, run, steps, _Other(atiende))
            conn.send(report)
            if report.get("ending") != "desplegado":
                break
    finally:
        conn.close()


def _cpu_of(pid: int) -> float:
    """The CPU (user + system) a process has spent, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hung(receiving, pid: int) -> str | None:
    """Wait for the child's next report; None when it comes, else what the child spent before it was given up."""
    began = time.monotonic()
    while not receiving.poll(0.5):
        try:
            cpu, wall = _cpu_of(pid), time.monotonic() - began
            if cpu > GUARD_CPU_S or wall > GUARD_WALL_S:
                return f"sin respuesta tras {wall:.0f} s y {cpu:.1f} s de CPU ({_status_kb('VmRSS', pid) // 1024} MB)"
        except (OSError, LookupError):
            return None  # it is gone: reading the pipe says so
    return None


def _children():
    """Children forked by a forkserver that has imported the engine and this module once.

    Not forked from pytest itself: a thread of this process (SQLite's checkpoints) may hold one of
    SQLite's locks at the instant of a fork, and the child would wait on it forever.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def run_stages(plan: list[tuple[str, dict]], url: str | None = None) -> list[dict]:
    """Run ``plan``'s stages in turn in a child process; each report, or one saying it hung or died."""
    context = _children()
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sending, url, plan), daemon=True)
    child.start()
    sending.close()
    reports: list[dict] = []
    try:
        for stage, _args in plan:
            assert child.pid is not None
            hung = _hung(receiving, child.pid)
            if hung is not None:
                reports.append({"stage": stage, "ending": "colgado", "error": hung})
                break
            try:
                reports.append(receiving.recv())
            except EOFError:
                child.join(5)
                reports.append({"stage": stage, "ending": "caído", "error": f"el proceso terminó ({child.exitcode})"})
                break
            if reports[-1].get("ending") != "desplegado":
                break
    finally:
        if child.is_alive() and child.pid is not None:
            with contextlib.suppress(ProcessLookupError):  # it may end between the check and the kill
                os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        receiving.close()
    return reports


# -- what each stage does (in the child) --------------------------------------------------------
def write_probe(probe: Probe, directory: Path) -> tuple[Path, Path]:
    """The probe's diagrams and forms as files, as `atiende validate` and `atiende deploy` read them."""
    processes, forms = directory / "processes", directory / "forms"
    processes.mkdir()
    forms.mkdir()
    for name, content in probe.files.items():
        (processes / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    for name, schema in probe.forms.items():
        (forms / f"{name}.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return processes, forms


def validation(_atiende, processes: str, forms: str) -> Callable[[], dict]:
    def run():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(["validate", "--processes", processes, "--forms", forms])
        return {"ending": REFUSED if rc else "válido", "rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}

    return run


def _problems(exc: DiagramError) -> list[dict]:
    """Each problem as where it points (file, element id and name), whether at an element, and what it says."""
    return [
        {
            "where": " ".join(filter(None, (p.file, p.element_id, p.element_name))),
            "pinned": p.element_id is not None,
            "message": p.message,
        }
        for p in exc.problems
    ]


def _printed_problems(stderr: str) -> list[dict]:
    """The problems `atiende validate` printed, one «  - file · id (name): message» line each."""
    problems = []
    for line in stderr.splitlines():
        if line.startswith("  - "):
            where, _, message = line[4:].partition(": ")
            pinned = " · " in where and not where.split(" · ", 1)[1].startswith("línea ")
            problems.append({"where": where, "pinned": pinned, "message": message})
    return problems


def deployment(atiende: Atiende, processes: str, forms: str) -> Callable[[], dict]:
    def run():
        try:
            publishing.publish(
                atiende, publishing.read_directory(Path(processes), Path(forms)), "analista", note="sonda hostil"
            )
        except DiagramError as exc:
            return {"ending": REFUSED, "problems": _problems(exc)}
        return {"ending": "desplegado"}

    return run


def incident_rows(store: Store) -> list[dict]:
    """Every incident recorded (engine.cases.incidents), with what the Incidencias page shows of it."""
    with store.read() as s:
        return [
            {
                "kind": i.kind,
                "state": i.state,
                "case_id": i.case_id,
                "element_id": i.element_id,
                "element_name": i.element_name,
                "reason": i.reason,
                "original": i.original,
            }
            for i in s.scalars(select(Incident).order_by(Incident.id))
        ]


def first_steps(atiende: Atiende, probe: str) -> Callable[[], dict]:
    steps = next(p for p in PROBES if p.name == probe).steps

    def run():
        case_id = None
        for step in steps:
            try:
                if step[0] == "start":
                    case_id = atiende.start_case(hostile.PROCESS, {}, OPERADOR).case_id
                elif step[0] == "complete":
                    with atiende.store.read() as s:
                        task_id = s.scalar(
                            select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.bpmn_id == step[1])
                        )
                    assert task_id is not None, f"no hay tarea {step[1]} lista en el caso"
                    atiende.complete_task(task_id, step[2], OPERADOR)
                elif step[0] == "sweep":
                    atiende.clock.advance(hours=step[1])
                    atiende.run_timer_sweep()
            except StepFailed as exc:
                return {
                    "ending": INCIDENT,
                    "step": step[0],
                    "message": str(exc),
                    "incidents": incident_rows(atiende.store),
                }
            found = incident_rows(atiende.store)
            if found:
                return {"ending": INCIDENT, "step": step[0], "message": None, "incidents": found}
        with atiende.store.read() as s:
            case = s.get(Case, case_id)
            ready = sorted(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.case_id == case_id)))
            kinds = list(
                s.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))
            )
        return {"ending": RAN, "ready": ready, "status": case.status if case else None, "events": kinds}

    return run


STAGES = {"validar": validation, "desplegar": deployment, "caso": first_steps}


# -- judging a report (in pytest) ---------------------------------------------------------------
_SPANISH_WORDS = (
    "el la los las del de que se un una es en por para su al sin con lo le ya ni más debe puede pudo paso "
    "proceso procedimiento tarea diagrama expresión condición incidencia supera límite permite ningún "
    "ninguna temporizador inválida válido elemento flujo caso datos valor tiempo memoria llamada "
    "actividad bucle espera salida variable archivo codificación llama sí mismo puerta enlace está tiene "
    "cumple esquema"
)
SPANISH = frozenset(_SPANISH_WORDS.split())
_ENGLISH_WORDS = (
    "the is not of to in for with has have could cannot was an and defined evaluating invalid object "
    "failed unsupported expected must be are from by which this that no such error while"
)
ENGLISH = frozenset(_ENGLISH_WORDS.split())
_QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|'[^']*'|“[^”]*”")


def spanish(text: str | None) -> bool:
    """A message in Spanish: more Spanish than English words once quoted names and values are set aside."""
    words = re.findall(r"[a-záéíóúñü']+", _QUOTED.sub(" ", text or "").lower())
    return sum(w in SPANISH for w in words) > max(1, sum(w in ENGLISH for w in words))


def _names(text: str, probe: Probe) -> bool:
    return any(name in text for name in probe.names)


def write_wait(report: dict) -> float:
    """How long the other user may have waited: WRITE_WAIT_S of a stage that had the cores to itself.

    The wait is wall-clock time, and what it waits for is the stage's CPU: on a machine whose
    cores other processes take (the suite's other worker, a browser), each CPU second of the stage
    takes more than a second of wall time, and so does the wait. The stretch is the stage's own
    ratio, capped at MAX_STRETCH so that a stage holding the lock while idle (its wall time far
    above its CPU) still fails.
    """
    stretch = report["wall"] / report["cpu"] if report["cpu"] > 0 else 1.0
    return WRITE_WAIT_S * min(max(stretch, 1.0), MAX_STRETCH)


def bounds(report: dict, stage_cpu: float) -> list[str]:
    """What a finished stage exceeded: a step's CPU, the stage's, memory, the other user's wait."""
    faults = []
    if report["step_cpu"] > STEP_CPU_S:
        faults.append(f"un paso usó {report['step_cpu']:.2f} s de CPU (máximo {STEP_CPU_S})")
    if report["cpu"] > stage_cpu:
        faults.append(f"la etapa usó {report['cpu']:.2f} s de CPU (máximo {stage_cpu})")
    if report["peak_mb"] > MEMORY_MB:
        faults.append(f"la memoria creció {report['peak_mb']:.0f} MB (máximo {MEMORY_MB})")
    if report["other_wait"] > write_wait(report):
        faults.append(f"el otro usuario ({report['other']}) esperó {report['other_wait']:.2f} s")
    faults += [f"la escritura del otro usuario falló: {e}" for e in report["other_errors"][:2]]
    return faults


def refusal_faults(problems: list[dict], probe: Probe) -> list[str]:
    faults = []
    if REFUSED not in probe.endings:
        faults.append("rechazado, y esta sonda debe desplegarse")
    about_the_file = any(name.endswith(".bpmn") for name in probe.names)
    if not any(_names(f"{p['where']} {p['message']}", probe) and (p["pinned"] or about_the_file) for p in problems):
        faults.append(f"ningún problema nombra {probe.names[:4]}: {problems[:5]}")
    faults += [f"mensaje que no está en español: {p['message']!r}" for p in problems if not spanish(p["message"])]
    return faults


def ending_faults(report: dict, probe: Probe) -> list[str]:
    """Whether the stage ended as the probe allows, said as the person and the analyst would see it."""
    ending = report.get("ending")
    if ending in ("colgado", "caído", "fallo"):
        return [f"{ending}: {report.get('error')}"]
    if ending == REFUSED:
        return refusal_faults(report["problems"], probe)
    if ending == INCIDENT:
        faults = [] if INCIDENT in probe.endings else ["incidencia, y esta sonda debe rechazarse al desplegar"]
        message = report["message"]
        if message is not None and not (spanish(message) and "incidencia" in message):
            faults.append(f"la persona no ve la incidencia en español: {message!r}")
        rows = [r for r in report["incidents"] if {r.get("element_id"), r.get("element_name")} & set(probe.names)]
        if not rows:
            faults.append(f"ninguna incidencia nombra el elemento {probe.names[:4]}: {report['incidents']}")
        elif not any(spanish(r.get("reason")) for r in rows):
            faults.append(f"la incidencia no da la razón en español: {rows}")
        return faults
    if ending == RAN:
        if RAN not in probe.endings:
            return [f"el caso siguió sin rechazo ni incidencia: {report}"]
        if tuple(report["ready"]) != probe.ready:
            return [f"el caso espera {report['ready']}, no {list(probe.ready)} (estado {report['status']})"]
        return []
    return [f"final inesperado: {report}"]


def _short(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("trace", "stdout")}


def _deploying(probe: Probe, directory: Path) -> tuple[str, dict]:
    processes, forms = write_probe(probe, directory)
    return ("desplegar", {"processes": str(processes), "forms": str(forms)})


# -- the tests -----------------------------------------------------------------------------------
@BY_NAME
def test_validation(probe, tmp_path):
    """`atiende validate`: a refusal naming the element (or the file) in Spanish, or valid; bounded either way."""
    processes, forms = write_probe(probe, tmp_path)
    [report] = run_stages([("validar", {"processes": str(processes), "forms": str(forms)})])
    faults = []
    if report["ending"] == REFUSED:
        if report["rc"] != 1 or "no pasan la validación" not in report["stderr"] or "Traceback" in report["stderr"]:
            faults.append(f"salida de `atiende validate` inesperada: {report['stderr'][-800:]}")
        faults += refusal_faults(_printed_problems(report["stderr"]), probe)
    elif report["ending"] == "válido":
        if probe.endings == {REFUSED}:
            faults.append("validó un diagrama que debe rechazarse")
    else:
        faults.append(f"{report['ending']}: {report.get('error')} {report.get('trace', '')}")
    if "cpu" in report:
        faults += bounds(report, VALIDATION_CPU_S)
    assert not faults, f"{probe.what}: {faults} — {_short(report)}"


@BY_NAME
def test_deploy(probe, atiende, store, tmp_path):
    """`atiende deploy`: refused (Spanish, naming the element or file), or stored; bounded; others write meanwhile."""
    [report] = run_stages([_deploying(probe, tmp_path)], store.url)
    faults = []
    if report["ending"] == REFUSED:
        faults += refusal_faults(report["problems"], probe)
    elif report["ending"] == "desplegado":
        if probe.endings == {REFUSED}:
            faults.append("desplegó un diagrama que debe rechazarse")
    else:
        faults.append(f"{report['ending']}: {report.get('error')} {report.get('trace', '')}")
    if "cpu" in report:
        faults += bounds(report, VALIDATION_CPU_S)  # a deploy validates first
    assert not faults, f"{probe.what}: {faults} — {_short(report)}"


@BY_NAME
def test_first_steps(probe, atiende, store, tmp_path):
    """A case of the deployed probe: an incident with a Spanish reason naming the element, or (where allowed)
    running on; never a crash, a hang, an unbounded step or another user kept waiting."""
    reports = run_stages([_deploying(probe, tmp_path), ("caso", {"probe": probe.name})], store.url)
    deployed = reports[0]
    if deployed["ending"] == REFUSED and REFUSED in probe.endings:
        return  # refused at deploy (test_deploy judges how): there is no case to start
    assert deployed["ending"] == "desplegado", f"{probe.what}: el despliegue terminó así: {_short(deployed)}"
    report = reports[-1]
    faults = ending_faults(report, probe)
    if "cpu" in report:
        faults += bounds(report, REQUEST_CPU_S)
    assert not faults, f"{probe.what}: {faults} — {_short(report)}"
