"""The web uses the engine's public surface: no private name of it, imported or reached through a module.

Which packages the web may import is import-linter's to check (``make lint``); this checks the names.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def _private_uses(source: str) -> list[str]:
    tree = ast.parse(source)
    engine_names: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "engine":
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"from {node.module} import {alias.name}")
                engine_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            engine_names.update(a.asname or a.name for a in node.names if a.name.split(".")[0] == "engine")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in engine_names
        ):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


def test_the_check_finds_a_private_name():
    assert _private_uses("from engine.facade import _gone\nfrom engine.cases import queries\nqueries._x()\n") == [
        "from engine.facade import _gone",
        "queries._x (line 3)",
    ]


def test_no_web_module_uses_a_private_name_of_the_engine():
    found = {str(path.relative_to(WEB)): _private_uses(path.read_text()) for path in sorted(WEB.rglob("*.py"))}
    assert {path: uses for path, uses in found.items() if uses} == {}


def test_the_layering_contracts_name_every_part_of_the_engine():
    """A new engine module or package must be named in the contracts, or it would escape them."""
    config = tomllib.loads((WEB.parent / "pyproject.toml").read_text())
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    engine = WEB.parent / "engine"
    parts = {f"engine.{p.stem}" for p in engine.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    parts |= {f"engine.{p.name}" for p in engine.iterdir() if (p / "__init__.py").exists()}
    for name, except_for in (
        ("Only engine.bpm imports SpiffWorkflow", "engine.bpm"),
        ("Only engine.db touches the database driver", "engine.db"),
    ):
        assert set(contracts[name]["source_modules"]) == parts - {except_for} | {"web"}, name
