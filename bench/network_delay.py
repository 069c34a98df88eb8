"""PostgreSQL as if on another machine: a TCP relay that holds every chunk it passes for a while.

On one machine a round trip to PostgreSQL costs about a tenth of a millisecond, so how many
round trips a step spends hardly shows; across a network (the production shape: web processes
on some machines, PostgreSQL on another) each one costs a few tenths more. ``relayed(url, ms)``
starts this module as a process of its own (its threads would otherwise share the benchmark's
interpreter), which listens on a free local port and forwards each connection to the server of
``url``, holding every chunk ``ms`` milliseconds each way; it yields ``url`` pointing at it.

    .venv/bin/python bench/network_delay.py --to 127.0.0.1:5432 --delay-ms 0.25
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
from urllib.parse import urlsplit, urlunsplit


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


def serve(to: tuple[str, int], delay: float) -> None:
    """Relay every connection to ``to``; the port listened on is printed first, on its own line."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _address = listener.accept()
        server = socket.create_connection(to)
        for end in (client, server):
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_pass, args=(client, server, delay), daemon=True).start()
        threading.Thread(target=_pass, args=(server, client, delay), daemon=True).start()


@contextlib.contextmanager
def relayed(url: str, delay_ms: float) -> Iterator[str]:
    """``url`` reached through the relay (``delay_ms`` each way), for as long as the block runs."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    command = [sys.executable, str(Path(__file__)), "--to", f"{host}:{port}", "--delay-ms", str(delay_ms)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as relay:  # its pipe closed at the end
        try:
            assert relay.stdout is not None
            listening = int(relay.stdout.readline())
            credentials = parts.netloc.rpartition("@")[0]
            netloc = f"{credentials}@127.0.0.1:{listening}" if credentials else f"127.0.0.1:{listening}"
            yield urlunsplit(parts._replace(netloc=netloc))
        finally:
            relay.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", required=True, help="host:port of the PostgreSQL server")
    parser.add_argument("--delay-ms", type=float, required=True, help="milliseconds each chunk waits, each way")
    args = parser.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    serve((host, int(port)), args.delay_ms / 1000)


if __name__ == "__main__":
    main()
