"""The indicators' commands of ``atiende``: rebuild the roll-ups from the cases, or check them."""

from __future__ import annotations

import sys

from engine.facade import Atiende
from engine.indicators import rollup

COMMANDS = ("indicadores",)


def add_commands(sub) -> None:
    """Add the subcommands to the ``atiende`` parser."""
    ind = sub.add_parser("indicadores", help="cifras de los indicadores").add_subparsers(
        dest="indicators_command", required=True
    )
    ind.add_parser("reconstruir", help="recalcular los acumulados de los indicadores desde los casos")
    ind.add_parser("comprobar", help="comparar los acumulados con un recuento de los casos")


def run(args, atiende: Atiende) -> int:
    if args.indicators_command == "reconstruir":
        with atiende.unit_of_work() as s:
            print(f"indicadores reconstruidos: {rollup.rebuild(s)} casos")
        return 0
    with atiende.store.read() as s:
        problems = rollup.check(s)
    for problem in problems[:50]:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} diferencias; corríjalas con «atiende indicadores reconstruir»", file=sys.stderr)
        return 1
    print("los indicadores coinciden con los casos")
    return 0
