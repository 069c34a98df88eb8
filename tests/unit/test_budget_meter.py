"""The CPU meter counts the step's own work. The garbage collector runs in whichever thread
allocates: a full collection (it walks the whole process's heap, at a moment the step does not
choose) is never charged to the step; young collections, mostly the step's own garbage, are
forgiven up to ``budget.GC_FORGIVEN``, so that a step making garbage on purpose still stops near
its budget."""

import gc
import os
import time
from types import SimpleNamespace

import pytest

from engine.bpm.scripting import budget
from engine.errors import StepOverBudget


@pytest.fixture(scope="module")
def big_heap():
    """Many objects in cycles, so that each full collection costs real CPU time."""
    heap = []
    for _ in range(300_000):
        node: list = []
        node.append(node)
        heap.append(node)
    gc.collect()
    yield heap


def _collect_for(seconds: float) -> float:
    """Run full collections until they have cost ``seconds`` of this thread's CPU; what they cost."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        gc.collect()
    return time.thread_time() - started


def _young_collection_for(seconds: float) -> None:
    """What the interpreter reports around a young collection (generation 0) that costs ``seconds``.

    A real one costs what was allocated since the last, which a test cannot make large without
    charging the step for the allocating too; so the collector's callback is given the phases.
    """
    budget._on_collection("start", {"generation": 0})
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass
    budget._on_collection("stop", {"generation": 0, "collected": 0, "uncollectable": 0})


def test_full_collections_during_a_step_are_not_charged_to_it(big_heap):
    # Far more than GC_FORGIVEN: one full collection of a large process may cost that much alone.
    with budget.metered(0.05):
        _collect_for(budget.GC_FORGIVEN + 0.2)
        budget.check_time()  # raises StepOverBudget if the collector's time counted


def test_young_collections_are_forgiven_up_to_the_allowance(monkeypatch):
    monkeypatch.setattr(budget, "GC_FORGIVEN", 0.1)
    with budget.metered(0.05):
        _young_collection_for(0.08)
        budget.check_time()


def test_young_collections_past_the_allowance_are_charged(monkeypatch):
    monkeypatch.setattr(budget, "GC_FORGIVEN", 0.02)
    with budget.metered(0.05), pytest.raises(StepOverBudget):
        _young_collection_for(0.2)
        budget.check_time()


def test_the_steps_own_work_is_still_charged():
    with budget.metered(0.05), pytest.raises(StepOverBudget):
        while True:
            sum(range(10_000))
            budget.check_time()


@pytest.fixture
def cpu_clock_reads(monkeypatch):
    """How many times the meter reads the thread's CPU clock from now on (the collector paused, whose
    callback reads it too)."""
    reads = []
    clock = SimpleNamespace(perf_counter=time.perf_counter, thread_time=lambda: reads.append(1) or time.thread_time())
    monkeypatch.setattr(budget, "time", clock)
    collecting = gc.isenabled()
    gc.disable()
    yield reads
    if collecting:
        gc.enable()


def test_checks_read_no_cpu_clock_before_the_budgets_seconds_have_passed(cpu_clock_reads):
    # A thread cannot spend more CPU than the time that passes, so until the budget's seconds have
    # passed it cannot be spent. The engine checks before every automatic step, and the sandbox
    # between operations: reading the thread's CPU clock is a system call each time.
    step = SimpleNamespace(workflow=SimpleNamespace(depth=0))
    with budget.metered(60.0):
        meter = budget.EngineMeter(cpu=budget.CpuBudget(60.0))
        cpu_clock_reads.clear()
        for _ in range(100):
            budget.check_time()
            meter.will(step)
    assert cpu_clock_reads == []


def test_checks_read_the_cpu_clock_once_the_budgets_seconds_have_passed(cpu_clock_reads):
    with budget.metered(0.01):
        time.sleep(0.02)  # the time has passed; the CPU has not been spent
        cpu_clock_reads.clear()
        budget.check_time()
    assert cpu_clock_reads == [1]


def test_budgets_begun_close_together_read_the_cpu_clock_once(cpu_clock_reads, monkeypatch):
    # A request evaluates many conditions and scripts within a few milliseconds, each under a budget
    # of its own: they begin at one reading of the clocks.
    monkeypatch.setattr(budget, "BEGIN_REUSE_SECONDS", 60.0)
    budget.CpuBudget(budget.STEP_CPU_SECONDS)
    cpu_clock_reads.clear()
    for _ in range(20):
        budget.CpuBudget(budget.STEP_CPU_SECONDS)
    assert cpu_clock_reads == []


def test_a_budget_begins_no_earlier_than_its_allowance_before_it_is_made(cpu_clock_reads, monkeypatch):
    monkeypatch.setattr(budget, "BEGIN_REUSE_SECONDS", 0.001)
    budget.CpuBudget(budget.STEP_CPU_SECONDS)
    time.sleep(0.01)
    cpu_clock_reads.clear()
    budget.CpuBudget(budget.STEP_CPU_SECONDS)  # the clocks read 10 ms ago are too old: read again
    assert cpu_clock_reads == [1]


def test_a_budget_begun_early_is_charged_for_what_ran_in_between(monkeypatch):
    monkeypatch.setattr(budget, "BEGIN_REUSE_SECONDS", 60.0)
    budget.CpuBudget(budget.STEP_CPU_SECONDS)
    started = time.thread_time()
    while time.thread_time() - started < 0.02:
        pass
    assert budget.CpuBudget(0.01).over()  # it stops sooner, never later


def test_a_forked_child_reads_its_own_cpu_clock(monkeypatch):
    # The child's thread starts its CPU clock again: the parent's reading would be charged below zero.
    monkeypatch.setattr(budget, "BEGIN_REUSE_SECONDS", 60.0)
    started = time.thread_time()
    while time.thread_time() - started < 0.05:
        pass
    budget.CpuBudget(budget.STEP_CPU_SECONDS)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits at once
        charged = budget.CpuBudget(budget.STEP_CPU_SECONDS).charged()
        os.write(writer, repr(charged).encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader) as answer:
        assert float(answer.read()) >= 0
