"""The CPU meter counts the step's own work: time the garbage collector spends in the step's thread
(collecting what the whole process made, at a moment the step does not choose) is forgiven, up to
``budget.GC_FORGIVEN``, so that a step making garbage on purpose still stops near its budget."""

import gc
import time

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


def test_a_collection_during_a_step_is_not_charged_to_it(big_heap, monkeypatch):
    # One full collection of a large test process may cost more than the real allowance on its own.
    monkeypatch.setattr(budget, "GC_FORGIVEN", 60.0)
    with budget.metered(0.05):
        _collect_for(0.1)  # twice the budget, all of it the collector's
        budget.check_time()  # raises StepOverBudget if the collector's time counted


def test_the_collectors_time_past_what_is_forgiven_is_charged(big_heap, monkeypatch):
    monkeypatch.setattr(budget, "GC_FORGIVEN", 0.02)
    with budget.metered(0.05), pytest.raises(StepOverBudget):
        _collect_for(0.2)
        budget.check_time()


def test_the_steps_own_work_is_still_charged():
    with budget.metered(0.05), pytest.raises(StepOverBudget):
        while True:
            sum(range(10_000))
            budget.check_time()
