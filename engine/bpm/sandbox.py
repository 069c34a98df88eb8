"""The restricted environment in which diagram scripts, conditions and timer expressions run.

SpiffWorkflow's default engine hands every script to ``exec`` with the server's full
Python: a diagram could reach the operating system (docs/architecture.md). Here every
source is parsed and checked against a whitelist of syntax before it runs, and the
operations that could exhaust memory or CPU (``*``, ``**``, ``+`` on big values) are
rewritten into calls that bound their result. What a script sees is the case's data and
the named helpers of ``engine.bpm.helpers``; nothing else.
"""

from __future__ import annotations

import ast
import functools
import json

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpm import helpers
from engine.errors import UnsafeExpression

MAX_SOURCE_CHARS = 4000
MAX_SEQUENCE_LEN = 100_000
MAX_INT_BITS = 4096

SAFE_BUILTINS = {
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
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


def _bounded(value):
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_SEQUENCE_LEN:
        raise UnsafeExpression(f"el resultado supera {MAX_SEQUENCE_LEN} elementos")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise UnsafeExpression("el número resultante es demasiado grande")
    return value


def _mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if (
            isinstance(seq, (str, bytes, list, tuple))
            and isinstance(n, int)
            and len(seq) * max(n, 0) > MAX_SEQUENCE_LEN
        ):
            raise UnsafeExpression(f"el resultado supera {MAX_SEQUENCE_LEN} elementos")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise UnsafeExpression("el número resultante es demasiado grande")
    return a * b


def _pow(a, b):
    if isinstance(b, (int, float)) and abs(b) > 64:
        raise UnsafeExpression("exponente demasiado grande (máximo 64)")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() * max(b, 0) > MAX_INT_BITS:
        raise UnsafeExpression("el número resultante es demasiado grande")
    return _bounded(a**b)


def _add(a, b):
    return _bounded(a + b)


_GUARDS = {"__mul": _mul, "__pow": _pow, "__add": _add}
_GUARDED_OPS = {ast.Mult: "__mul", ast.Pow: "__pow", ast.Add: "__add"}


class _Checker(ast.NodeVisitor):
    def __init__(self, callables):
        self.callables = callables

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
                and abs(exponent.value) > 64
            )
        ):
            raise UnsafeExpression("exponente demasiado grande (máximo 64)")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if not isinstance(node.target, ast.Name):
            raise UnsafeExpression("«+=» solo se permite sobre un nombre")
        self.generic_visit(node)


class _Guarder(ast.NodeTransformer):
    """Rewrites ``a * b``, ``a ** b`` and ``a + b`` (also augmented) into bounded calls."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = _GUARDED_OPS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node):
        value = ast.BinOp(left=ast.Name(id=node.target.id, ctx=ast.Load()), op=node.op, right=node.value)
        assign = ast.Assign(targets=[node.target], value=self.visit_BinOp(ast.copy_location(value, node)))
        return ast.copy_location(assign, node)


def _callable_names():
    return frozenset(SAFE_BUILTINS) | frozenset(helpers.HELPERS)


@functools.lru_cache(maxsize=2048)
def compile_checked(source: str, mode: str):
    """Check ``source`` against the whitelist and compile it; raises UnsafeExpression or SyntaxError."""
    if len(source) > MAX_SOURCE_CHARS:
        raise UnsafeExpression(f"el código supera {MAX_SOURCE_CHARS} caracteres")
    tree = ast.parse(source, mode=mode)
    _Checker(_callable_names()).visit(tree)
    tree = ast.fix_missing_locations(_Guarder().visit(tree))
    return compile(tree, "<diagrama>", mode)


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
        return eval(compile_checked(expression, "eval"), self._scope(context, external_context))

    def execute(self, script, context, external_context=None):
        scope = self._scope(context, external_context)
        exec(compile_checked(script, "exec"), scope)
        for key, value in scope.items():
            if key not in self._base and not key.startswith("_"):
                context[key] = value
        return True

    def call_service(self, context, operation_name, operation_params, **_kwargs):
        """Run a named operator of ``engine.bpm.operators``; keep its effects for the runtime to write."""
        from engine.bpm import operators  # imported here: operators check their parameters with this module

        values = {name: param["value"] for name, param in operation_params.items()}
        result, effects = operators.run(operation_name, context, values)
        self._effects.extend(effects)
        return json.dumps(result)

    def take_effects(self) -> list:
        """The effects collected since the last call, handed over once."""
        taken, self._effects = self._effects, []
        return taken


class _Engine(PythonScriptEngine):
    """SpiffWorkflow's engine, with a service task's failure reported as such.

    SpiffWorkflow 3.2's own error path for service tasks refers to an undefined name and
    hides the real error behind a NameError (docs/architecture.md).
    """

    def call_service(self, task, **kwargs):
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as exc:
            raise WorkflowTaskException(f"la tarea de servicio falló: {exc}", task=task, exception=exc) from exc


def script_engine() -> PythonScriptEngine:
    """A SpiffWorkflow script engine bound to the restricted environment."""
    return _Engine(environment=RestrictedEnvironment())
