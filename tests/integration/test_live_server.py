"""The browser tests' server (tests.fixtures.live) stops cleanly: a browser keeps its connections open
and may leave a request in flight when a test ends, and a loop thread left running, or one that
raises while it stops, fails the next test (pytest turns a thread's exception into an error)."""

from __future__ import annotations

import http.client
import threading
import time

from tests.fixtures import live


def slow_app(environ, start_response):
    time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_the_server_stops_with_keep_alive_connections_and_a_request_in_flight():
    raised = []
    previous_hook = threading.excepthook
    threading.excepthook = raised.append
    threads_before = set(threading.enumerate())
    connections: list[http.client.HTTPConnection] = []
    try:
        with live.serving(slow_app) as url:
            port = int(url.rsplit(":", 1)[1])
            connections += [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(3)]
            for connection in connections:
                connection.request("GET", "/")
                assert connection.getresponse().read() == b"ok"
            connections[0].request("GET", "/")  # still being answered when the server stops
        assert set(threading.enumerate()) - threads_before == set()  # the loop and its workers ended
    finally:
        for connection in connections:  # closed even when the server's stop failed: none leaks into the next test
            connection.close()
        threading.excepthook = previous_hook
    assert raised == []
