"""gunicorn's settings follow the threads it ends up with, ``--threads`` on the command line included
(``web.serving.gunicorn_conf``): the connections a process takes, and those its pool keeps."""

from __future__ import annotations

import gc
import importlib
import os
from types import SimpleNamespace

from gunicorn.config import Config


def _conf(monkeypatch):
    monkeypatch.setenv("ATIENDE_SECRET_KEY", "clave-de-prueba-" + "x" * 32)
    monkeypatch.setenv("ATIENDE_THREADS", "8")
    return importlib.import_module("web.serving.gunicorn_conf")


def _started(conf, worker_class: str, threads: int) -> Config:
    cfg = Config()
    cfg.set("worker_class", worker_class)
    cfg.set("threads", threads)  # as ``--threads`` on the command line, over ATIENDE_THREADS
    conf.on_starting(SimpleNamespace(cfg=cfg))
    return cfg


def test_a_process_takes_a_connection_a_thread_and_its_application_knows_its_threads(monkeypatch):
    conf = _conf(monkeypatch)
    cfg = _started(conf, conf.worker_class, threads=3)
    assert (cfg.worker_connections, cfg.keepalive) == (3, 0)
    assert os.environ["ATIENDE_THREADS"] == "3"


def test_another_worker_class_takes_connections_as_gunicorn_says(monkeypatch):
    conf = _conf(monkeypatch)
    cfg = _started(conf, "gevent", threads=3)
    assert (cfg.worker_connections, cfg.keepalive) == (1000, 2)


def test_a_process_keeps_its_starts_objects_out_of_the_collector_and_collects_less_often(monkeypatch):
    conf = _conf(monkeypatch)
    worker = SimpleNamespace(cfg=SimpleNamespace(forwarded_allow_ips=["127.0.0.1"]), wsgi=lambda *_: [])
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        conf.post_worker_init(worker)
        assert gc.get_threshold() == conf.COLLECTOR_THRESHOLDS != before
        assert gc.get_freeze_count() > frozen  # what the process made before its first request
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
