"""Gunicorn's settings for Atiende's web processes: the production shape (docs/operations.md).

Gunicorn reads it as a module, from anywhere Atiende is installed:
``WEB_CONCURRENCY=2 .venv/bin/gunicorn -c python:web.serving.gunicorn_conf`` serves
``web:create_app()`` with two processes of ``ATIENDE_THREADS`` threads on 127.0.0.1:``PORT``;
any option given on the command line wins, but for ``--worker-connections`` and ``--keep-alive``,
which follow the threads (``_a_connection_a_thread``).
Each process builds its own application after the fork, so each has its own database
connections (a pool inherited over a fork would mix two processes' statements on one socket):
``preload_app`` stays off.
"""

import gc
import ipaddress
import os

from werkzeug.middleware.proxy_fix import ProxyFix

from engine.settings import Settings
from web.serving import arenas

_settings = Settings.from_environ()  # a wrong variable stops the start, naming it
if not _settings.secret_key:
    # Without it each process would sign sessions with the key file of its own machine's instance/
    # folder, which processes starting together may each try to create.
    raise SystemExit("ATIENDE_SECRET_KEY: póngala, la misma en todos los procesos web.")
wsgi_app = "web:create_app()"
bind = [f"127.0.0.1:{_settings.port}"]
worker_class = "gthread"  # a slow download (a consolidado's PDF) holds a thread, not the process
threads = _settings.threads
preload_app = False


def on_starting(server):
    """Each process takes a connection only when a thread of its own is free (``_a_connection_a_thread``),
    and its application knows how many threads it has (``_threads_told``)."""
    _a_connection_a_thread(server.cfg)
    _threads_told(server.cfg)


on_reload = on_starting  # the same after a reload (``HUP``), which reads the settings afresh


def _threads_told(cfg) -> None:
    """``ATIENDE_THREADS`` set to the threads gunicorn ended up with, ``--threads`` on the command line
    included, for the processes it starts next: each keeps that many database connections open
    (``Atiende.open``), and fewer than its threads would connect anew for most requests."""
    os.environ["ATIENDE_THREADS"] = str(cfg.threads)


def _a_connection_a_thread(cfg) -> None:
    """As many connections in a ``gthread`` process as it has threads, each closed after its answer.

    gunicorn's ``gthread`` process accepts up to ``worker_connections`` (1000 by default) and
    queues them behind its own threads. With several processes, a process whose threads are all
    busy would go on accepting requests that another process, with threads idle, could serve at
    once (docs/performance.md, ``bench/load.py``). Here a process leaves the listening socket alone
    while its threads are busy, so requests wait in the socket's queue and whichever process frees
    a thread first takes the next. With no place left for a connection kept open, gunicorn closes
    each after its answer anyway; ``keepalive`` 0 says so, and closes at once a connection on which
    nothing arrives. Set from the threads gunicorn ended up with, ``--threads`` on the command line
    included; another worker class (``-k``) is left as it is.
    """
    if cfg.worker_class_str != "gthread":
        return
    cfg.set("worker_connections", cfg.threads)
    cfg.set("keepalive", 0)


def post_fork(server, worker):
    """Cap the new web process's memory arenas before its threads start (``web.serving.arenas``)."""
    arenas.cap()


# Python's collector in a web process: its young generation collected after this many new objects
# (700 by default), its older ones after ten collections of the one below (``_collector_tuned``).
COLLECTOR_THRESHOLDS = (3_000, 10, 10)


def _collector_tuned() -> None:
    """The objects the process made at its start (the application, its diagrams, forms and the ORM's
    mappings) kept out of the collector's way, and collections five times fewer.

    Measured under ``bench/load.py`` (32 clients, two processes of 4 threads): with the defaults a
    process spent 7 % of its CPU collecting, and each full collection, which walked every object
    made at the start, stopped its threads for about 130 ms, long enough to show in the pages'
    p95. Frozen (``gc.freeze``), the start's objects are never walked again; with these
    thresholds the collector takes 3 % of the CPU, for about 10 MB more per process (the garbage
    waits a little longer). A frozen object is never collected: one of the start's that later
    became garbage in a cycle stays, once, in the process. The embedded server (``python -m web``)
    keeps the defaults: its memory is what it is measured by (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def post_worker_init(worker):
    """The collector tuned once the process's application is built (``_collector_tuned``); and the
    citizen's address taken from the reverse proxy's ``X-Forwarded-For``, as Waitress's
    ``--trusted-proxy`` does: the limits per address (docs/operations.md) must not count every
    citizen as the proxy. Only a request that comes from an address of ``--forwarded-allow-ips``
    (``FORWARDED_ALLOW_IPS``: addresses or networks, 127.0.0.1 by default) is believed; anyone
    else's header is ignored.
    """
    _collector_tuned()
    everyone = "*" in worker.cfg.forwarded_allow_ips
    networks = [ipaddress.ip_network(allowed) for allowed in worker.cfg.forwarded_allow_ips if allowed != "*"]
    direct = worker.wsgi
    proxied = ProxyFix(direct, x_for=1)

    def believed(address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:  # a UNIX socket: only the proxy on this machine can reach it
            return True
        return everyone or any(peer in network for network in networks)

    def app(environ, start_response):
        if believed(environ.get("REMOTE_ADDR", "")):
            return proxied(environ, start_response)
        return direct(environ, start_response)

    worker.wsgi = app
