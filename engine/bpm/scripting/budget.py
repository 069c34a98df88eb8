"""What one step of a diagram may spend, in one place, and the meter that enforces it.

An analyst's script, condition, helper call or timer expression runs inside a request that
holds the case's row (on SQLite, the whole database's writer lock) and a server thread. So
every step has a budget the engine enforces, not the expression's good manners: CPU time,
the size of every value it makes and of the case's whole data, the arguments of the date
helpers, and the number of automatic steps one request may run. A step over its budget
raises ``StepOverBudget`` and its transaction is rolled back. docs/architecture.md («Budgets»)
lists the figures.

The CPU meter is per thread (``time.thread_time``): the web serves requests on threads, where
signals cannot interrupt a step, so the sandbox's guards and the helpers check the meter
cooperatively; every single operation between two checks is bounded by the size limits.

The garbage collector runs in whichever thread happens to allocate, so part of its time is not
the step's work:
- a full collection (generation 2) walks everything the whole process holds, at a moment the
  step does not choose: in a large process one costs more than a step's budget. It is never
  charged. A step cannot buy many of them: the interpreter starts one only when the objects
  that survived younger collections since the last one exceed a quarter of the whole heap, and
  what a step keeps alive is bounded by the size limits.
- young collections (generations 0 and 1) walk what was allocated recently, mostly the step's
  own garbage: up to ``GC_FORGIVEN`` of their time is forgiven (another thread's allocations
  share the generations), and the rest is charged, so that a step that makes garbage on purpose
  does not hold its thread much past its budget.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from engine.errors import StepOverBudget

STEP_CPU_SECONDS = 0.5  # CPU time of one script, condition, timer expression or service task
VALIDATION_CPU_SECONDS = 5.0  # CPU time of every expression evaluated while validating a diagram set
MAX_SOURCE_CHARS = 4000  # length of one script or expression
MAX_NESTING = 64  # levels of syntax one script or expression nests (checking and compiling recurse)
MAX_TEXT_CHARS = 100_000  # length of one string a step makes
MAX_ITEMS = 100_000  # entries of one list, tuple or dict a step makes
MAX_DATA_CHARS = 1_000_000  # size (as JSON, about) of any value a step makes and of the case's whole data
MAX_DATA_DEPTH = 100  # levels a value nests (writing JSON recurses; orjson refuses past 255)
MAX_INT_BITS = 4096  # size of an integer
MAX_EXPONENT = 64  # of ``**``, and the digits of ``round``
MAX_ENGINE_STEPS = 500  # automatic steps (scripts, gateways, events) one request may run
MAX_CALL_DEPTH = 20  # call activities nested in one another
MAX_INSTANCES = 1000  # instances of one multi-instance task (made at once, when the task is reached)
ENGINE_CPU_SECONDS = 0.5  # CPU time of one request's automatic steps, checked before each; with a last step's
# script, a request spends at most about 1 s, so others wait for the database at most that long
MAX_HELPER_DAYS = 3660  # days ``sumar_dias`` may add or take (ten years)
MAX_HELPER_MONTHS = 120  # months ``sumar_meses`` may add or take
GC_FORGIVEN = 0.25  # seconds of young collections' time in a step's thread not charged to the step, at most

_meter = threading.local()
_collector = threading.local()  # per thread: CPU seconds spent collecting, and when the running collection began
_FULL = 2  # the oldest generation: a collection of it walks the whole heap


def _on_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _collector.began = time.thread_time()
    elif getattr(_collector, "began", None) is not None:
        spent = time.thread_time() - _collector.began
        if info.get("generation") == _FULL:
            _collector.full = getattr(_collector, "full", 0.0) + spent
        else:
            _collector.young = getattr(_collector, "young", 0.0) + spent
        _collector.began = None


gc.callbacks.append(_on_collection)


def _collected() -> tuple[float, float]:
    """This thread's CPU seconds in young and in full collections, so far."""
    return getattr(_collector, "young", 0.0), getattr(_collector, "full", 0.0)


BEGIN_REUSE_SECONDS = 0.005  # a budget begins at its thread's last reading of the clocks, if no older than this
_readings = threading.local()  # per thread: that reading (``_beginning``)


def _beginning() -> tuple[float, float, tuple[float, float]]:
    """Where a budget made now begins: the wall clock, the thread's CPU clock and its collections' time,
    read together, or the thread's last such reading if it is at most ``BEGIN_REUSE_SECONDS`` old.

    A request evaluates many conditions and scripts within a few milliseconds, each under a budget of
    its own, and the CPU clock is a system call: read for each, it costs about 2 % of a web process's
    CPU under ``bench/load.py``. A budget that begins a little early is charged for what ran in
    between, at most that long: it stops sooner, never later. The collections in between are among
    what it is charged, so forgiving them gives back no more than was added. The wall clock is read
    first: the CPU spent since the reading is then no more than the time since it (``CpuBudget.over``).
    """
    now = time.perf_counter()
    reading = getattr(_readings, "last", None)
    if reading is None or now - reading[0] > BEGIN_REUSE_SECONDS:
        reading = _readings.last = (now, time.thread_time(), _collected())
    return reading


def _forget_the_reading() -> None:
    """In a forked child the thread's CPU clock starts again from zero: the parent's reading would let
    a budget's charge go below zero."""
    _readings.__dict__.pop("last", None)


os.register_at_fork(after_in_child=_forget_the_reading)


class CpuBudget:
    """``seconds`` of this thread's CPU from its beginning (``_beginning``: now, or a few milliseconds
    before); full collections not charged, young ones up to ``GC_FORGIVEN``.

    The engine checks it before every automatic step and the sandbox between operations. Reading
    the thread's CPU clock is a system call; reading the time that passes, on Linux, is not. A
    thread cannot spend more CPU than the time that passes, so until ``seconds`` have passed the
    budget cannot be spent and the CPU clock is not read.
    """

    __slots__ = ("seconds", "_wall_began", "_cpu_began", "_collected_before")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._wall_began, self._cpu_began, self._collected_before = _beginning()

    def charged(self) -> float:
        """This thread's CPU seconds since the budget began, less the collections it forgives."""
        young, full = _collected()
        young_before, full_before = self._collected_before
        forgiven = min(young - young_before, GC_FORGIVEN) + full - full_before
        return time.thread_time() - self._cpu_began - forgiven

    def over(self) -> bool:
        if time.perf_counter() - self._wall_began <= self.seconds:
            return False
        return self.charged() > self.seconds


@contextmanager
def metered(seconds: float = STEP_CPU_SECONDS) -> Iterator[None]:
    """Run the block under a CPU budget of ``seconds`` of this thread; an enclosing budget still applies."""
    outer = getattr(_meter, "budgets", ())
    _meter.budgets = (*outer, CpuBudget(seconds))
    try:
        yield
    finally:
        _meter.budgets = outer


def check_time() -> None:
    """Raise ``StepOverBudget`` if the running step has spent its CPU budget (nothing outside a step)."""
    for budget in getattr(_meter, "budgets", ()):
        if budget.over():
            raise StepOverBudget(f"superó su presupuesto de {budget.seconds:g} s de CPU")


def size(value: object, limit: int = MAX_DATA_CHARS) -> int:
    """About how many characters ``value`` takes as JSON, counted only until it passes ``limit``.

    A value shared several times (``[a] * 1000``) counts every time, as serializing writes it
    every time; so the count, not the memory the value holds, is what is bounded. The walk
    stops past ``limit``, so it costs at most that many steps whatever the value. A value nested
    deeper than ``MAX_DATA_DEPTH`` raises ``StepOverBudget``: writing it as JSON would recurse
    past what the writers allow.
    """
    total, seen = 0, 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)) and depth >= MAX_DATA_DEPTH:
            raise StepOverBudget(f"produciría un valor anidado en más de {MAX_DATA_DEPTH} niveles")
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack.extend((key, depth + 1) for key in item)
            stack.extend((entry, depth + 1) for entry in item.values())
        elif isinstance(item, (list, tuple)):
            total += 2 + len(item)
            stack.extend((entry, depth + 1) for entry in item)
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 3
        else:
            total += 8
        if total > limit:
            return total
        seen += 1
        if not seen & 0xFFF:
            check_time()
    return total


@dataclass
class EngineMeter:
    """The automatic steps of one request (scripts, gateways, events, call activities), counted as they run.

    SpiffWorkflow runs them until the case waits; a loop with no wait state would never wait, and a
    process that calls itself nests a subprocess per step, each slower than the last. So the request
    stops at ``MAX_ENGINE_STEPS`` steps, ``MAX_CALL_DEPTH`` nested calls or ``ENGINE_CPU_SECONDS`` of CPU.
    """

    steps: int = 0
    cpu: CpuBudget = field(default_factory=lambda: CpuBudget(ENGINE_CPU_SECONDS))

    def will(self, task) -> None:
        """Count the step about to run (SpiffWorkflow's ``will_complete_task`` callback); StepOverBudget past a
        budget, naming the step's element."""
        self.steps += 1
        if self.steps > MAX_ENGINE_STEPS:
            reason = f"superó {MAX_ENGINE_STEPS} pasos automáticos seguidos sin esperar a una persona, un "
            reason += "temporizador o un mensaje (¿un ciclo sin espera?)"
        elif task.workflow.depth > MAX_CALL_DEPTH:
            reason = f"superó {MAX_CALL_DEPTH} actividades de llamada anidadas (¿un proceso que se llama a sí mismo?)"
        elif self.cpu.over():
            reason = f"superó su presupuesto de {ENGINE_CPU_SECONDS:g} s de CPU para los pasos automáticos"
        else:
            return
        spec = task.task_spec
        raise StepOverBudget(reason, spec.bpmn_id, spec.bpmn_name or spec.bpmn_id)
