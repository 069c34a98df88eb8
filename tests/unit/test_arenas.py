"""Both ways of serving cap glibc's memory arenas before their threads start (``web.serving.arenas``)."""

from __future__ import annotations

import ctypes

import pytest

from web.serving import arenas


class _Libc:
    def __init__(self):
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return 1


@pytest.fixture
def libc(monkeypatch):
    recorded = _Libc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: recorded)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    return recorded


def test_cap_sets_glibc_arena_max(libc):
    arenas.cap()
    assert libc.calls == [(-8, arenas.ARENAS)]  # M_ARENA_MAX


def test_environment_wins(libc, monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    arenas.cap()
    assert libc.calls == []


def test_each_gunicorn_process_caps_after_the_fork(libc, monkeypatch):
    monkeypatch.setenv("ATIENDE_SECRET_KEY", "x" * 32)
    from web.serving import gunicorn_conf

    gunicorn_conf.post_fork(server=None, worker=None)
    assert libc.calls == [(-8, arenas.ARENAS)]
