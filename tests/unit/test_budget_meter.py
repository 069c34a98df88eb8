"""The CPU meter counts the step's own work: time the garbage collector spends in the step's thread
(collecting what the whole process made, at a moment the step does not choose) is not the step's."""

import gc

import pytest

from engine.bpm.scripting import budget
from engine.errors import StepOverBudget


@pytest.fixture
def big_heap():
    """Many objects in cycles, so that each full collection costs real CPU time."""
    heap = []
    for _ in range(300_000):
        node: list = []
        node.append(node)
        heap.append(node)
    gc.collect()
    yield heap


def _collections_cost(rounds: int) -> float:
    import time

    started = time.thread_time()
    for _ in range(rounds):
        gc.collect()
    return time.thread_time() - started


def test_a_collection_during_a_step_is_not_charged_to_it(big_heap):
    rounds = 3
    assert _collections_cost(rounds) > 0.05  # the premise: the collections alone would spend the budget
    with budget.metered(0.05):
        for _ in range(rounds):
            gc.collect()
        budget.check_time()  # raises StepOverBudget if the collector's time counted


def test_the_steps_own_work_is_still_charged():
    with budget.metered(0.05), pytest.raises(StepOverBudget):
        while True:
            sum(range(10_000))
            budget.check_time()
