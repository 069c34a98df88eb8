"""The workflows a process keeps in memory between steps: bounded by their stored size, never a finished one."""

from types import SimpleNamespace

from engine.bpm.runtime import Advanced, Runtime
from engine.bpm.state.serializer import InstanceSerializer
from engine.forms.catalogs import CatalogCache
from engine.settings import Settings

MB = 1024 * 1024


def runtime(live_workflows_mb: int = 1, live_cases: int = 512) -> Runtime:
    return Runtime(InstanceSerializer(), CatalogCache(), Settings(live_workflows_mb=live_workflows_mb), live_cases)


def advanced(case_id: int, size: int, completed: bool = False, revision: int = 1) -> Advanced:
    return Advanced(case_id, revision, SimpleNamespace(completed=completed), size=size)


def test_the_oldest_workflows_are_forgotten_past_the_budget_in_bytes():
    kept = runtime(live_workflows_mb=1)
    for case_id in range(1, 6):
        kept.remember(advanced(case_id, MB // 4))
    assert list(kept._live) == [2, 3, 4, 5]
    assert kept.live_bytes() == MB


def test_a_workflow_remembered_again_counts_once():
    kept = runtime()
    kept.remember(advanced(1, 1000))
    kept.remember(advanced(1, 3000, revision=2))
    assert kept.live_bytes() == 3000 and kept._live[1][0] == 2


def test_a_finished_workflow_is_not_kept_and_frees_its_share():
    kept = runtime()
    kept.remember(advanced(1, 1000))
    kept.remember(advanced(1, 1200, completed=True, revision=2))
    assert 1 not in kept._live and kept.live_bytes() == 0


def test_a_workflow_larger_than_the_whole_budget_is_not_kept():
    kept = runtime(live_workflows_mb=1)
    kept.remember(advanced(1, 1000))
    kept.remember(advanced(2, MB + 1))
    assert list(kept._live) == [1] and kept.live_bytes() == 1000


def test_the_count_still_bounds_them():
    kept = runtime(live_cases=2)
    for case_id in range(1, 4):
        kept.remember(advanced(case_id, 10))
    assert list(kept._live) == [2, 3] and kept.live_bytes() == 20
