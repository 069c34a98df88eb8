"""Diagram scripts and conditions run with the case's data and named helpers, nothing else."""

import pytest

from engine.bpm.scripting import budget, sandbox
from engine.errors import StepOverBudget, UnsafeExpression
from tests.fixtures import probes

ESCAPES = {
    "import statement": ("import os", "exec"),
    "__import__": ("__import__('os').system('id')", "eval"),
    "dunder chain": ("().__class__.__base__.__subclasses__()", "eval"),
    "open": ("open('/etc/passwd').read()", "eval"),
    "getattr": ("getattr(case_type, 'upper')()", "eval"),
    "lambda": ("(lambda: 1)()", "eval"),
    "lambda assigned": ("f = lambda x: x", "exec"),
    "str.format escape": ("'{0.__class__}'.format(1)", "eval"),
    "format_map": ("'{x}'.format_map({})", "eval"),
    "format spec amplification": ("f'{case_type:>999999999}'", "eval"),
    "huge exponent": ("10 ** 10 ** 8", "eval"),
    "big literal exponent": ("2 ** 100000", "eval"),
    "comprehension": ("[x for x in range(10)]", "eval"),
    "loop": ("while True:\n    pass", "exec"),
    "private name": ("_secret", "eval"),
    "builtins through data": ("__builtins__", "eval"),
    "eval": ("eval('1')", "eval"),
    "exec": ("exec('x=1')", "exec"),
    "def": ("def f():\n    return 1", "exec"),
}


@pytest.mark.parametrize("source,mode", ESCAPES.values(), ids=ESCAPES.keys())
def test_escapes_are_refused_before_running(source, mode):
    assert sandbox.check(source, mode) is not None
    with pytest.raises((UnsafeExpression, SyntaxError)):
        sandbox.compile_checked(source, mode)


def test_conditions_on_case_data_work():
    env = sandbox.RestrictedEnvironment()
    assert env.evaluate("case_type == 'queja'", {"case_type": "queja"}) is True
    assert env.evaluate("case_type == 'queja'", {"case_type": "sugerencia"}) is False
    assert (
        env.evaluate(
            "len(nombre.strip()) > 2 and prioridad in ('alta', 'media')", {"nombre": " Ana ", "prioridad": "alta"}
        )
        is True
    )


def test_scripts_write_data_back_without_helpers_or_private_keys():
    env = sandbox.RestrictedEnvironment()
    data = {"x": 2, "_hidden": "kept out"}
    env.execute("y = x * 3\nz = 'ab' + 'c'\nif y > 5:\n    grande = True", data, {})
    assert data == {"x": 2, "_hidden": "kept out", "y": 6, "z": "abc", "grande": True}


def test_private_keys_of_the_data_are_invisible_to_scripts():
    env = sandbox.RestrictedEnvironment()
    with pytest.raises(UnsafeExpression):
        env.evaluate("_hidden", {"_hidden": 1})


@pytest.mark.parametrize("source", ["'a' * 10 ** 9", "[0] * 10000000", " * ".join(["9 ** 60"] * 30)])
def test_memory_bombs_are_stopped_while_running(source):
    with pytest.raises(StepOverBudget):
        sandbox.RestrictedEnvironment().evaluate(source, {})


def test_doubling_a_string_in_a_script_is_bounded():
    script = "s = 'xxxxxxxxxx'\n" + "s = s + s\n" * 30
    with pytest.raises(StepOverBudget):
        sandbox.RestrictedEnvironment().execute(script, {}, {})


def test_named_helpers_are_callable_and_cannot_be_shadowed():
    env = sandbox.RestrictedEnvironment()
    assert (
        env.evaluate("sumar_dias(inicio, 30)", {"inicio": "2026-03-02T09:00:00-05:00"}) == "2026-04-01T09:00:00-05:00"
    )
    with pytest.raises(UnsafeExpression):
        env.evaluate("1", {"sumar_dias": "shadow"})


def test_only_harmless_methods_may_be_called():
    env = sandbox.RestrictedEnvironment()
    assert env.evaluate("tipo.upper()", {"tipo": "queja"}) == "QUEJA"
    assert sandbox.check("tipo.ljust(1000000000)", "eval") is not None


# -- Budgets (engine.bpm.scripting.budget): each probe ends in StepOverBudget within about a second of CPU, in a
# child process with a memory and CPU ceiling (tests.fixtures.probes), so an unbounded one fails, not hangs.
_A = "a = 'a' * 100000\n"
OVER_BUDGET = {
    "list of a long string, repeated (the issue's probe)": _A + "b = [a] * 100000",
    "a list display of long strings": _A + "b = [" + ", ".join(["a"] * 11) + "]",
    "a dict display of long strings": _A + "b = {" + ", ".join(f"'k{i}': a" for i in range(11)) + "}",
    "an f-string joining long strings": _A + "b = f'{a}{a}'",
    "a long string turned into text of its list": _A + "b = str(list(a))",
    "rounding to a huge number of digits": "b = round(5, -10000000)",
    "CPU spent by many bounded operations": "a = list('0123456789' * 10000)\n" + "b = sorted(a)\n" * 280,
    "a quadratic sum of lists": "b = sum([[0]] * 100000, [])",
    "printf-style padding": "b = '%0200000d' % 1",
    "working days far ahead": "b = sumar_dias(ahora(), 200000, habiles=True)",
    "months far ahead": "b = sumar_meses(ahora(), 100000000)",
}


@pytest.mark.parametrize("script", OVER_BUDGET.values(), ids=OVER_BUDGET.keys())
def test_a_script_over_budget_stops_within_its_cpu_budget(script):
    outcome = probes.run(
        f"""
        from engine.bpm.scripting import sandbox
        def call():
            sandbox.RestrictedEnvironment().execute({script!r}, {{}}, {{}})
        """
    )
    assert outcome["error"] in ("StepOverBudget", "UnsafeExpression"), outcome
    assert outcome["cpu"] < 1.5, outcome


def test_the_whole_case_data_is_bounded_after_a_script():
    data = {f"campo{i}": "x" * 90_000 for i in range(12)}  # each value allowed; together over 1 MB
    with pytest.raises(StepOverBudget, match="datos del caso"):
        sandbox.RestrictedEnvironment().execute("copia = 1", data, {})


def test_assigning_into_an_item_is_refused_before_running():
    # Changing a list or dict in place would grow values already checked (``x[0] = x``).
    assert "elemento" in sandbox.check("x = [0]\nx[0] = x", "exec")
    assert "elemento" in sandbox.check("d = {}\nd['k'] = 1", "exec")


def test_small_values_and_everyday_scripts_still_run():
    env = sandbox.RestrictedEnvironment()
    data = {"nombre": "Ana", "items": [1, 2, 3]}
    env.execute("saludo = f'Hola {nombre}!'\ntotal = sum(items) + round(2.567, 2)\nd = {'a': [nombre] * 3}", data, {})
    assert data["saludo"] == "Hola Ana!" and data["total"] == 8.57 and data["d"] == {"a": ["Ana"] * 3}


@pytest.mark.parametrize("depth", [300, 1000, 3000])
def test_deep_nesting_is_refused_as_unsafe_not_a_recursion_error(depth):
    """Within the length limit, past Python's recursion: refused in Spanish, whatever the depth."""
    source = "x = " + "-" * depth + "1"
    reason = sandbox.check(source, "exec")
    assert reason is not None and "anidada demasiado profundo" in reason
    with pytest.raises(UnsafeExpression):
        sandbox.compile_checked(source, "exec")


def test_nesting_within_the_limit_still_runs():
    env = sandbox.RestrictedEnvironment()
    assert env.evaluate("-" * 20 + "1", {}) == 1
    assert env.evaluate(" + ".join(["1"] * 30), {}) == 30


def test_a_value_nested_past_the_data_depth_is_stopped_as_it_is_made():
    """Each line is shallow, the value is not: JSON writers recurse (orjson stops at 255 levels)."""
    script = "x = []\n" + "x = [x]\n" * (budget.MAX_DATA_DEPTH + 1)
    with pytest.raises(StepOverBudget, match="niveles"):
        sandbox.RestrictedEnvironment().execute(script, {})
    context: dict = {}
    sandbox.RestrictedEnvironment().execute("x = []\n" + "x = [x]\n" * (budget.MAX_DATA_DEPTH - 2), context)
