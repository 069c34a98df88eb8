"""The real server and a plain HTTP client, for the benchmarks that go through the web.

``web_server`` starts ``python -m web`` — the server of ``make run``: Waitress, one
process — in a subprocess on a free loopback port against a given database,
waits until it answers, and stops it afterwards; ``gunicorn_server`` does the same with the
production shape, N gunicorn processes. ``peak_rss_mb`` reads the process's peak resident
memory (``VmHWM``) from /proc, ``tree_rss_mb`` the memory of a server and its workers.
``Client`` keeps one HTTP/1.1 connection alive and the session cookie, signs in with the
CSRF token of the sign-in page, and times requests.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Server:
    pid: int
    host: str
    port: int
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def web_server(database_url: str, timeout_s: float = 120.0):
    """``python -m web`` on ``database_url``, serving on 127.0.0.1:<free port> until the block ends."""
    port = _free_port()
    with _serving([sys.executable, "-m", "web"], database_url, port, timeout_s) as server:
        yield server


@contextlib.contextmanager
def gunicorn_server(database_url: str, workers: int, threads: int = 4, timeout_s: float = 120.0):
    """The production shape: ``gunicorn`` with ``workers`` processes of ``threads`` threads each
    serving ``web:create_app()`` on an already migrated ``database_url`` (docs/operations.md)."""
    port = _free_port()
    command = [
        *(
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:web.serving.gunicorn_conf",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"),
    ]
    with _serving(command, database_url, port, timeout_s) as server:
        yield server


@contextlib.contextmanager
def _serving(command: list[str], database_url: str, port: int, timeout_s: float):
    """Run ``command`` with the database and port in its environment until it answers; stop it afterwards."""
    log = Path(tempfile.mkstemp(prefix="atiende-bench-server-", suffix=".log")[1])
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "ATIENDE_SECRET_KEY": "bench-" + "x" * 32}
    env.pop("ATIENDE_IMAP_HOST", None)
    env.pop("ATIENDE_SMTP_HOST", None)
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: see {log}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/ingresar")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {timeout_s:.0f} s: see {log}")
            time.sleep(0.2)
        yield Server(process.pid, "127.0.0.1", port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's workers), from /proc."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            waiting += [int(child) for child in task.read_text().split()]
    return found


def _status_mb(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc status")


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, sum of each process's peak) in MB over ``pid`` and its descendants (Linux /proc)."""
    members = process_tree(pid)
    return sum(_status_mb(m, "VmRSS") for m in members), sum(_status_mb(m, "VmHWM") for m in members)


def rss_mb(pid: int) -> float:
    """The process's resident set size now, its children apart, in MB (Linux /proc)."""
    return _status_mb(pid, "VmRSS")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far, in MB (Linux /proc)."""
    return _status_mb(pid, "VmHWM")


@dataclass
class Response:
    status: int
    location: str | None
    body: str
    seconds: float


class Client:
    """One person's browser, reduced to what a benchmark needs: cookie, CSRF token, timing."""

    def __init__(self, server: Server):
        self._connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        self._cookie: str | None = None
        self.token: str | None = None

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        headers = {"Cookie": self._cookie} if self._cookie else {}
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.token}, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        text = response.read().decode()
        seconds = time.perf_counter() - began
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self._cookie = cookie.split(";", 1)[0]
        return Response(response.status, response.getheader("Location"), text, seconds)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)

    def sign_in(self, username: str, password: str) -> None:
        page = self.get("/ingresar")
        self.token = TOKEN.search(page.body).group(1)
        response = self.post("/ingresar", {"usuario": username, "contrasena": password})
        if response.status != 302:
            raise RuntimeError(f"{username} could not sign in ({response.status})")
        self.token = TOKEN.search(self.get("/").body).group(1)  # the signed-in session's token

    def close(self) -> None:
        self._connection.close()


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]
