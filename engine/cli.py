"""The ``atiende`` command: migrate, deploy diagrams, run the timer worker, load demo data."""
from __future__ import annotations

import argparse
import logging
import sys
import threading

from engine import bpmn, demo
from engine.services import Atiende
from engine.store import Store

log = logging.getLogger("atiende.timers")


def timer_worker(atiende: Atiende, interval: float, stop: threading.Event) -> None:
    """Run the timer sweep every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            result = atiende.run_timer_sweep()
            if result.loaded:
                log.info("sweep: %s cases loaded, %s fired, %s failed", result.loaded, result.fired, result.failed)
        except Exception:  # noqa: BLE001 - the worker must outlive a bad sweep
            log.exception("timer sweep failed")
        stop.wait(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="atiende", description="Atiende: administración del motor")
    parser.add_argument("--database-url", help="por defecto DATABASE_URL o instance/atiende.sqlite3")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="crear o actualizar el esquema de la base de datos")
    dep = sub.add_parser("deploy", help="validar y desplegar processes/ y forms/")
    dep.add_argument("--by", default="cli")
    dep.add_argument("--note", default="")
    tim = sub.add_parser("timers", help="ejecutar el barrido de temporizadores en bucle")
    tim.add_argument("--interval", type=float, default=30.0)
    tim.add_argument("--once", action="store_true")
    sub.add_parser("demo", help="cargar datos de demostración")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    store = Store(args.database_url)
    store.migrate()
    atiende = Atiende(store)
    if args.command == "deploy":
        try:
            versions = atiende.deploy_directory(args.by, args.note)
        except bpmn.DiagramError as exc:
            print("No se puede desplegar:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
        for v in versions:
            print(f"{v.process_id}: versión {v.version} ({v.content_hash[:12]})")
    elif args.command == "timers":
        if args.once:
            print(atiende.run_timer_sweep())
            return 0
        stop = threading.Event()
        try:
            timer_worker(atiende, args.interval, stop)
        except KeyboardInterrupt:
            stop.set()
    elif args.command == "demo":
        print("datos de demostración cargados" if demo.seed(atiende) else "la base ya tenía datos")
    return 0


if __name__ == "__main__":

    sys.exit(main())
