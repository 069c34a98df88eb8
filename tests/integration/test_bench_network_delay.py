"""bench/network_delay.py: PostgreSQL through the relay answers as before, each round trip later.

The relay is what ``http_cases.py --network-delay-ms`` measures with; a relay that lost or
reordered bytes, or held them less than asked, would make its figures wrong.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import network_delay  # noqa: E402

DELAY_MS = 5.0


@pytest.mark.postgres
def test_a_round_trip_through_the_relay_answers_the_same_and_waits_both_ways(pg_url):
    direct = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with network_delay.relayed(direct, DELAY_MS) as relayed, psycopg.connect(relayed, autocommit=True) as conn:
        conn.execute("SELECT 1")  # connected and warm
        began = time.perf_counter()
        rows = conn.execute("SELECT %s::text || repeat('x', 100000)", ("ñandú",)).fetchall()
        spent_ms = 1000 * (time.perf_counter() - began)
    assert rows == [("ñandú" + "x" * 100000,)]
    assert spent_ms >= 2 * DELAY_MS
