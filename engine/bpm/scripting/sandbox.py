"""The restricted environment in which diagram scripts, conditions and timer expressions run.

SpiffWorkflow's default engine hands every script to ``exec`` with the server's full
Python: a diagram could reach the operating system (docs/architecture.md). Here every
source is parsed and checked against a whitelist of syntax before it runs (no loops, no
definitions, no changing a value in place: a script is straight-line code over values it
cannot alter), and everything that makes a value (``*``, ``**``, ``+``, a call, a list, dict
or f-string) is rewritten into a guard that bounds the value before or as it is made and
checks the step's CPU budget (``engine.bpm.scripting.budget``). So every value a script can name is
small, every single operation on one is cheap, and the checks between them stop a step that
runs too long. What a script sees is the case's data and the named helpers of
``engine.bpm.scripting.helpers``; nothing else.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Callable
from typing import NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpm.scripting import budget, helpers
from engine.bpm.scripting.budget import MAX_DATA_CHARS, MAX_EXPONENT, MAX_INT_BITS, MAX_ITEMS, MAX_TEXT_CHARS
from engine.errors import StepOverBudget, UnsafeExpression

SOURCE_NAME = "<diagrama>"  # the file name every checked source is compiled under (tracebacks name it)


# Methods of plain data values a script may call; none of them can grow a value much.
SAFE_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "count",
        "index",
        "isdigit",
        "title",
        "capitalize",
        "casefold",
    }
)

_ALLOWED_NODES = (
    ast.Module,
    ast.Expression,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.IfExp,
    ast.Pass,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.JoinedStr,
    ast.FormattedValue,
)

_NODE_NAMES = {
    "Import": "import",
    "ImportFrom": "import",
    "Lambda": "lambda",
    "FunctionDef": "def",
    "ClassDef": "class",
    "For": "for",
    "While": "while",
    "ListComp": "comprensiones",
    "DictComp": "comprensiones",
    "SetComp": "comprensiones",
    "GeneratorExp": "generadores",
    "With": "with",
    "Try": "try",
    "Delete": "del",
    "Global": "global",
    "Starred": "*args",
}


def _value(value):
    """``value`` if it is within the step's budget (its size as JSON, counted as it is made); checks CPU too."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_TEXT_CHARS:
            raise StepOverBudget(f"produciría un texto de más de {MAX_TEXT_CHARS} caracteres")
    elif kind is int:
        if value.bit_length() > MAX_INT_BITS:
            raise StepOverBudget(f"produciría un número de más de {MAX_INT_BITS} bits")
    elif isinstance(value, (list, tuple, dict, bytes)):
        if len(value) > MAX_ITEMS:
            raise StepOverBudget(f"produciría una lista o un diccionario de más de {MAX_ITEMS} elementos")
        if budget.size(value) > MAX_DATA_CHARS:
            raise StepOverBudget(f"produciría un valor de más de {MAX_DATA_CHARS} caracteres (escrito como JSON)")
    budget.check_time()
    return value


def _mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int):
            # Checked before it is made: the repetition's length, then its size as JSON.
            limit = MAX_TEXT_CHARS if isinstance(seq, (str, bytes)) else MAX_ITEMS
            if len(seq) * max(n, 0) > limit:
                raise StepOverBudget(f"produciría una secuencia de más de {limit} elementos")
            if isinstance(seq, (list, tuple)) and budget.size(seq) * max(n, 0) > MAX_DATA_CHARS:
                raise StepOverBudget(f"produciría un valor de más de {MAX_DATA_CHARS} caracteres (escrito como JSON)")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise StepOverBudget(f"produciría un número de más de {MAX_INT_BITS} bits")
    return _value(a * b)


def _pow(a, b):
    if isinstance(b, (int, float)) and abs(b) > MAX_EXPONENT:
        raise StepOverBudget(f"usaría un exponente de más de {MAX_EXPONENT}")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() * max(b, 0) > MAX_INT_BITS:
        raise StepOverBudget(f"produciría un número de más de {MAX_INT_BITS} bits")
    return _value(a**b)


def _add(a, b):
    if isinstance(a, (str, bytes, list, tuple)) and isinstance(b, (str, bytes, list, tuple)):
        limit = MAX_TEXT_CHARS if isinstance(a, (str, bytes)) else MAX_ITEMS
        if len(a) + len(b) > limit:
            raise StepOverBudget(f"produciría una secuencia de más de {limit} elementos")
    return _value(a + b)


def _mod(a, b):
    if isinstance(a, (str, bytes)):  # printf-style formatting pads to any width: '%0999999999d'
        raise UnsafeExpression("no se permite dar formato con «%»: use un f-string")
    return a % b


def _round(number, ndigits=None):
    if ndigits is not None and isinstance(ndigits, int) and abs(ndigits) > MAX_EXPONENT:
        raise StepOverBudget(f"redondearía a más de {MAX_EXPONENT} cifras")
    return round(number, ndigits)


def _sum(values, start=0):
    if not isinstance(start, (int, float)):  # sum(listas, []) joins lists one by one: quadratic
        raise UnsafeExpression("«sum» solo suma números")
    return sum(values, start)


SAFE_BUILTINS = {
    "len": len,
    "min": min,
    "max": max,
    "sum": _sum,
    "abs": abs,
    "round": _round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "sorted": sorted,
    "any": any,
    "all": all,
}

_CONVERSIONS: dict[int, Callable[[object], str]] = {-1: str, ord("s"): str, ord("r"): repr, ord("a"): ascii}


def _text(value, conversion):
    """One ``{value}`` of an f-string, bounded before it joins the others."""
    _value(value)
    return _value(_CONVERSIONS[conversion](value))


def _fstring(*parts):
    if sum(map(len, parts)) > MAX_TEXT_CHARS:
        raise StepOverBudget(f"produciría un texto de más de {MAX_TEXT_CHARS} caracteres")
    return "".join(parts)


_GUARDS = {
    "__mul": _mul,
    "__pow": _pow,
    "__add": _add,
    "__mod": _mod,
    "__value": _value,
    "__text": _text,
    "__fstring": _fstring,
}
_GUARDED_OPS = {ast.Mult: "__mul", ast.Pow: "__pow", ast.Add: "__add", ast.Mod: "__mod"}


_TOO_DEEP = (
    f"la expresión está anidada demasiado profundo (más de {budget.MAX_NESTING} niveles): "
    "divídala en pasos con resultados intermedios"
)


class _Checker(ast.NodeVisitor):
    """Refuses what the whitelist does not allow; counts the nesting as it descends, so that checking,
    rewriting and compiling a source recurse at most ``MAX_NESTING`` levels."""

    def __init__(self, callables):
        self.callables = callables
        self.depth = 0

    def visit(self, node):
        self.depth += 1
        if self.depth > budget.MAX_NESTING:
            raise UnsafeExpression(_TOO_DEEP)
        try:
            return super().visit(node)
        finally:
            self.depth -= 1

    def generic_visit(self, node):
        if not isinstance(node, _ALLOWED_NODES):
            kind = type(node).__name__
            raise UnsafeExpression(f"no se permite «{_NODE_NAMES.get(kind, kind)}»")
        super().generic_visit(node)

    def visit_Name(self, node):
        if node.id.startswith("_"):
            raise UnsafeExpression(f"no se permite el nombre «{node.id}»")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        raise UnsafeExpression(f"no se permite el atributo «{node.attr}»")

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in self.callables:
                raise UnsafeExpression(f"no se permite llamar a «{func.id}»")
        elif isinstance(func, ast.Attribute):
            if func.attr not in SAFE_METHODS:
                raise UnsafeExpression(f"no se permite el método «{func.attr}»")
            self.visit(func.value)
        else:
            raise UnsafeExpression("solo se pueden llamar funciones por su nombre")
        for arg in node.args:
            self.visit(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise UnsafeExpression("no se permite «**kwargs»")
            self.visit(kw.value)

    def visit_FormattedValue(self, node):
        if node.format_spec is not None:
            raise UnsafeExpression("no se permiten especificaciones de formato en f-strings")
        self.generic_visit(node)

    def visit_BinOp(self, node):
        exponent = node.right
        if isinstance(node.op, ast.Pow) and (
            isinstance(exponent, ast.BinOp)
            or (
                isinstance(exponent, ast.Constant)
                and isinstance(exponent.value, (int, float))
                and abs(exponent.value) > MAX_EXPONENT
            )
        ):
            raise UnsafeExpression(f"exponente demasiado grande (máximo {MAX_EXPONENT})")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if not isinstance(node.target, ast.Name):
            raise UnsafeExpression("«+=» solo se permite sobre un nombre")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        if isinstance(node.ctx, ast.Store):  # a value changed in place could grow inside others already checked
            raise UnsafeExpression("no se permite cambiar un elemento (x[...] = ...): asigne un valor nuevo")
        self.generic_visit(node)


def _guard(name: str, args: list, node: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]), node)


class _Guarder(ast.NodeTransformer):
    """Rewrites what makes a value into guarded calls: ``*``, ``**``, ``+``, ``%`` (also augmented), calls,
    list, tuple and dict displays, and f-strings."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = _GUARDED_OPS.get(type(node.op))
        if guard is None:
            return node
        return _guard(guard, [node.left, node.right], node)

    def visit_Call(self, node):
        self.generic_visit(node)
        return _guard("__value", [node], node)

    def _display(self, node):
        self.generic_visit(node)
        return _guard("__value", [node], node) if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) else node

    visit_List = visit_Tuple = visit_Dict = _display

    def visit_JoinedStr(self, node):
        parts = [
            _guard("__text", [self.visit(part.value), ast.Constant(part.conversion)], part)
            if isinstance(part, ast.FormattedValue)
            else part
            for part in node.values
        ]
        return _guard("__fstring", parts, node)

    def visit_AugAssign(self, node):
        value = ast.BinOp(left=ast.Name(id=node.target.id, ctx=ast.Load()), op=node.op, right=node.value)
        assign = ast.Assign(targets=[node.target], value=self.visit_BinOp(ast.copy_location(value, node)))
        return ast.copy_location(assign, node)


def _callable_names():
    return frozenset(SAFE_BUILTINS) | frozenset(helpers.HELPERS)


@functools.lru_cache(maxsize=2048)
def compile_checked(source: str, mode: str):
    """Check ``source`` against the whitelist and compile it; raises UnsafeExpression or SyntaxError."""
    if len(source) > budget.MAX_SOURCE_CHARS:
        raise UnsafeExpression(f"el código supera {budget.MAX_SOURCE_CHARS} caracteres")
    try:
        tree = ast.parse(source, mode=mode)
        _Checker(_callable_names()).visit(tree)
        tree = ast.fix_missing_locations(_Guarder().visit(tree))
        return compile(tree, SOURCE_NAME, mode)
    except (RecursionError, MemoryError) as exc:  # the parser's own recursion, before the checker counts
        raise UnsafeExpression(_TOO_DEEP) from exc


def check(source: str, mode: str) -> str | None:
    """The Spanish reason ``source`` would be refused, or None if it may run."""
    try:
        compile_checked(source, mode)
    except UnsafeExpression as exc:
        return str(exc)
    except SyntaxError as exc:
        return f"error de sintaxis: {exc.msg} (línea {exc.lineno})"
    return None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs checked code with the case's data, the safe builtins and the named helpers only."""

    def __init__(self):
        super().__init__({})
        self._base = {"__builtins__": dict(SAFE_BUILTINS), **helpers.HELPERS, **_GUARDS}
        self._effects: list = []  # what service tasks asked for, until the runtime takes it

    def _scope(self, context, external_context):
        clash = set(helpers.HELPERS).intersection(context)
        if clash:
            raise UnsafeExpression(f"un dato del caso tapa una función auxiliar: {sorted(clash)}")
        scope = dict(self._base)
        for source in (external_context or {}, context):
            scope.update((k, v) for k, v in source.items() if not k.startswith("_"))
        return scope

    def evaluate(self, expression, context, external_context=None):
        with budget.metered():
            return eval(compile_checked(expression, "eval"), self._scope(context, external_context))

    def execute(self, script, context, external_context=None):
        with budget.metered():
            scope = self._scope(context, external_context)
            exec(compile_checked(script, "exec"), scope)
            for key, value in scope.items():
                if key not in self._base and not key.startswith("_"):
                    context[key] = value
            _within_data_budget(context)
        return True

    def call_service(self, context, operation_name, operation_params, **_kwargs):
        """Run a named operator of ``engine.bpm.scripting.operators``; keep its effects for the runtime to write."""
        from engine.bpm.scripting import operators  # imported here: operators check their parameters with this module

        values = {name: param["value"] for name, param in operation_params.items()}
        with budget.metered():
            result, effects = operators.run(operation_name, context, values)
            _value(result)
        self._effects.extend(effects)
        return json.dumps(result)

    def take_effects(self) -> list:
        """The effects collected since the last call, handed over once."""
        taken, self._effects = self._effects, []
        return taken


def _within_data_budget(data: dict) -> None:
    if budget.size(data) > MAX_DATA_CHARS:
        raise StepOverBudget(f"dejaría los datos del caso en más de {MAX_DATA_CHARS} caracteres (escritos como JSON)")


def _reraise(task, wrapped: WorkflowTaskException) -> NoReturn:
    """Raise SpiffWorkflow's error, or StepOverBudget naming the task if that is what it wraps: caused by
    SpiffWorkflow's error, so the chain keeps the task (for the incident) and the budget's words at its root."""
    inner = wrapped.__cause__ or wrapped.__context__
    if isinstance(inner, StepOverBudget):
        raise inner.at(task.task_spec.bpmn_id, task.task_spec.bpmn_name) from wrapped
    raise wrapped


class _Engine(PythonScriptEngine):
    """SpiffWorkflow's engine, with a service task's failure reported as such, and a step over its budget
    raised as ``StepOverBudget`` naming the element (caused by SpiffWorkflow's error for the task).

    SpiffWorkflow 3.2's own error path for service tasks refers to an undefined name and
    hides the real error behind a NameError (docs/architecture.md).
    """

    def evaluate(self, task, expression, external_context=None):
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as exc:
            _reraise(task, exc)

    def execute(self, task, script, external_context=None):
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as exc:
            _reraise(task, exc)

    def call_service(self, task, **kwargs):
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raised again, with the task that failed
            wrapped = WorkflowTaskException(f"la tarea de servicio falló: {exc}", task=task, exception=exc)
            wrapped.__cause__ = exc
            _reraise(task, wrapped)


def script_engine() -> PythonScriptEngine:
    """A SpiffWorkflow script engine bound to the restricted environment."""
    return _Engine(environment=RestrictedEnvironment())
