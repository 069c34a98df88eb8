"""PostgreSQL as if on another machine: a TCP relay that holds every chunk it passes for a while.

On one machine a round trip to PostgreSQL costs about a tenth of a millisecond, so how many
round trips a step spends hardly shows; across a network (the production shape: web processes
on some machines, PostgreSQL on another) each one costs a few tenths more. ``relayed(url, ms)``
starts this module as a process of its own (its threads would otherwise share the benchmark's
interpreter), which listens on a free local port and forwards each connection to the server of
``url``, holding every chunk ``ms`` milliseconds each way; it yields ``url`` pointing at it.

    .venv/bin/python bench/network_delay.py --to 127.0.0.1:5432 --delay-ms 0.25
    .venv/bin/python bench/network_delay.py --to /var/run/postgresql/.s.PGSQL.5432 --delay-ms 0.25
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def _pass(source: socket.socket, target: socket.socket, delay: float) -> None:
    """Forward what ``source`` sends to ``target``, each chunk ``delay`` seconds late, until either closes."""
    try:
        while chunk := source.recv(65536):
            time.sleep(delay)
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _connect(to: str) -> socket.socket:
    """A connection to ``to``: ``host:port``, or the path of a server's Unix socket."""
    if to.startswith("/"):
        server = socket.socket(socket.AF_UNIX)
        server.connect(to)
        return server
    host, _, port = to.rpartition(":")
    server = socket.create_connection((host, int(port)))
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


def serve(to: str, delay: float) -> None:
    """Relay every connection to ``to``; the port listened on is printed first, on its own line."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _address = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = _connect(to)
        threading.Thread(target=_pass, args=(client, server, delay), daemon=True).start()
        threading.Thread(target=_pass, args=(server, client, delay), daemon=True).start()


def _target(url: str) -> str:
    """Where ``url``'s server listens, as libpq reads it: a ``host`` in the query (a socket's
    directory when it starts with /) before the URL's host; port 5432 unless one is named."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or "127.0.0.1"
    port = query.get("port") or parts.port or 5432
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else f"{host}:{port}"


@contextlib.contextmanager
def relayed(url: str, delay_ms: float) -> Iterator[str]:
    """``url`` reached through the relay (``delay_ms`` each way), for as long as the block runs."""
    command = [sys.executable, str(Path(__file__)), "--to", _target(url), "--delay-ms", str(delay_ms)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as relay:  # its pipe closed at the end
        try:
            assert relay.stdout is not None
            listening = int(relay.stdout.readline())
            parts = urlsplit(url)
            credentials = parts.netloc.rpartition("@")[0]
            netloc = f"{credentials}@127.0.0.1:{listening}" if credentials else f"127.0.0.1:{listening}"
            query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
            yield urlunsplit(parts._replace(netloc=netloc, query=query))
        finally:
            relay.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", required=True, help="host:port of the PostgreSQL server, or its Unix socket's path")
    parser.add_argument("--delay-ms", type=float, required=True, help="milliseconds each chunk waits, each way")
    args = parser.parse_args(argv)
    serve(args.to, args.delay_ms / 1000)


if __name__ == "__main__":
    main()
