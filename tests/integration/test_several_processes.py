"""Several web processes on one database: each keeps its own live workflows, none works on a stale one.

Each process remembers the workflows it advanced (engine.bpm.runtime.Runtime); a case that another
process moved since has a newer revision in its row, and the step must read the workflow from the
row, not from memory, or it would run on what the case was before.
"""

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

from engine.demo.seed import DEMO_CASES, DEMO_PASSWORD
from tests.fixtures.desk import PROCESS, Desk
from tests.integration.test_concurrency import ROOT, second_server


def counted_loads(atiende, monkeypatch) -> list[int]:
    """The number of workflows ``atiende`` reads from a case row, as a one-item list that grows."""
    loads = [0]
    original = atiende.serializer.loads

    def loads_and_counts(*args, **kwargs):
        loads[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(atiende.serializer, "loads", loads_and_counts)
    return loads


def test_a_process_reads_a_case_again_when_another_process_moved_it(desk, store, monkeypatch):
    other = Desk(second_server(store), desk.clock)
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja")  # A keeps the workflow that waits for the approval
    loads = counted_loads(desk.atiende, monkeypatch)

    other.do(case_id, "Task_aprobar_hoja", decision_hoja="devolver", comentarios_aprobacion="Falta el domicilio.")
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]  # a new hoja task, unknown to A's memory
    desk.do(case_id, "Task_confeccionar_hoja", resumen="Resumen corregido con el domicilio.")
    assert loads == [1]  # A read the case B had moved, instead of its own older copy
    desk.do(case_id, "Task_aprobar_hoja")
    assert loads == [1]  # and its own step it keeps: no read
    other.do(case_id, "Task_acuse_recibo")
    desk.do(case_id, "Task_respuesta_final")
    assert loads == [2]

    case = desk.case(case_id)
    assert case.status == "cerrado" and desk.ready(case_id) == []
    assert case.data["resumen"] == "Resumen corregido con el domicilio."
    completed = [e.detail["tarea"] for e in desk.history(case_id, "tarea_completada")]
    assert completed == [
        "Task_plantilla_queja_reclamo",
        "Task_confeccionar_hoja",
        "Task_aprobar_hoja",
        "Task_confeccionar_hoja",
        "Task_aprobar_hoja",
        "Task_acuse_recibo",
        "Task_respuesta_final",
    ]
    statuses = [(e.detail["antes"], e.detail["despues"]) for e in desk.history(case_id, "estado_cambiado")]
    assert statuses == [("abierto", "en seguimiento"), ("en seguimiento", "cerrado")]  # closed once
    other.atiende.store.dispose()


def test_gunicorn_processes_share_sessions_and_see_the_citizens_address(pg_schema, tmp_path):
    """The production shape, gunicorn with two processes on PostgreSQL: a session made by one
    process is honoured by the other, a case goes through, and the limits per address count
    the citizen's address that the reverse proxy forwards, not the proxy's."""
    pg_schema.fresh("demo").dispose()
    with _gunicorn(pg_schema.url, tmp_path, processes=2) as port:
        browser = Browser(port)
        browser.sign_in(USER, DEMO_PASSWORD)
        for _ in range(8):  # a fresh connection each: either process may take it
            assert browser.request("GET", "/").status == 200
        started = browser.request("POST", f"/casos/nuevo?procedimiento={PROCESS}", DEMO_CASES[0])
        assert started.status == 302 and started.location.startswith("/casos/")
        assert browser.request("GET", started.location).status == 200

        # Another account, whose template hash is cheap to check: the server hashes at the real cost.
        wrong = {"usuario": "coordinador", "contrasena": "no-es-la-clave"}
        for _ in range(5):
            assert Browser(port, "203.0.113.7").sign_in_answer(wrong) == 200
        right = {"usuario": "coordinador", "contrasena": DEMO_PASSWORD}
        assert Browser(port, "203.0.113.7").sign_in_answer(right) == 429  # that address waits
        assert Browser(port, "203.0.113.8").sign_in_answer(right) == 302  # the owner elsewhere does not


def test_a_gunicorn_process_with_every_thread_busy_leaves_new_requests_to_another(pg_schema, tmp_path):
    """Two processes of one thread each: while one is held by a request whose body is still coming,
    every new request is served by the other at once, none queued behind the held one; and no
    connection is kept open after its answer."""
    pg_schema.fresh("demo").dispose()
    with _gunicorn(pg_schema.url, tmp_path, processes=2, threads=1) as port:
        held = socket.create_connection(("127.0.0.1", port))
        try:
            held.sendall(
                f"POST /ingresar HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusuario=".encode()
            )
            time.sleep(1)  # taken by a process, whose only thread now waits for the rest of the body
            for _ in range(8):
                # Long enough for the other process to finish starting; one queued behind the held
                # request would wait until the end (``held`` is closed after the loop).
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    connection.request("GET", "/ingresar")
                    answer = connection.getresponse()
                    assert answer.status == 200
                    assert answer.getheader("Connection") == "close"
                finally:
                    connection.close()
        finally:
            held.close()


@contextlib.contextmanager
def _gunicorn(database_url: str, tmp_path: Path, processes: int, threads: int | None = None):
    """gunicorn as production runs it (``web.serving.gunicorn_conf``) on ``database_url``; yields its port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "ATIENDE_SECRET_KEY": "clave-de-prueba-" + "x" * 32,
        "WEB_CONCURRENCY": str(processes),
    }
    if threads is not None:
        env["ATIENDE_THREADS"] = str(threads)
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:web.serving.gunicorn_conf"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        _wait_for(port, server, log)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


USER = "operador"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """Cookies and the CSRF token over a new connection per request, as behind a balancer."""

    def __init__(self, port: int, forwarded_for: str | None = None):
        self.port, self.cookie, self.token = port, None, None
        self.forwarded = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {**self.forwarded, **({"Cookie": self.cookie} if self.cookie else {})}
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        if response.getheader("Set-Cookie"):
            self.cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        found = TOKEN.search(text)
        if found:
            self.token = found.group(1)
        return SimpleNamespace(status=response.status, location=response.getheader("Location"), text=text)

    def sign_in_answer(self, form: dict) -> int:
        self.request("GET", "/ingresar")
        return self.request("POST", "/ingresar", form).status

    def sign_in(self, username: str, password: str) -> None:
        assert self.sign_in_answer({"usuario": username, "contrasena": password}) == 302
        self.request("GET", "/")  # the signed-in session's token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, server: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/ingresar")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise AssertionError(f"gunicorn did not answer within {timeout_s} s: {log.read_text()}")
