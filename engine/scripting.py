"""The restricted interpreter for every script, condition, DMN cell and timer.

A coordinator who can edit a diagram must not be able to run code on the
server. SpiffWorkflow's default environment is plain ``exec``/``eval``, and
RestrictedPython's ``safe_globals`` alone is escapable, so every source is
compiled with ``compile_restricted`` under a policy that also guards the
operators able to allocate huge objects, and runs under a wall-clock limit
enforced by a line tracer (which works in any thread, unlike ``SIGALRM``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine.deadline import DeadlineExceeded, call_with_deadline
from engine.errors import ScriptError

MAX_SEQUENCE_ITEMS = 1_000_000
MAX_INTEGER_BITS = 100_000
SCRIPT_FILENAME = "<string>"  # SpiffWorkflow looks for this name to report the failing line

_BLOCKED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "mro"})
_GUARDED_OPERATORS: dict[type[ast.operator], str] = {
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mod: "%",
}
MAX_FORMAT_WIDTH = 10_000
_FORMAT_NUMBERS = re.compile(r"\d+")


class ScriptTimeout(ScriptError):
    pass


class ScriptLimitExceeded(ScriptError):
    pass


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus a guard call around allocating operators."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _GUARDED_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        guarded = ast.Call(
            func=ast.Name("_arith_guard_", ast.Load()),
            args=[ast.Constant(symbol), node.left, node.right],
            keywords=[],
        )
        return ast.fix_missing_locations(ast.copy_location(guarded, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        """f-string specs such as ``{x:>999999999}`` would allocate without limit."""
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) for p in parts):
                self.error(node, "computed format specifications are not allowed")
            elif _too_wide("".join(str(p.value) for p in parts)):  # type: ignore[attr-defined]
                self.error(node, "format width is too large")
        return super().visit_FormattedValue(node)


def _too_wide(format_text: str) -> bool:
    return any(int(n) > MAX_FORMAT_WIDTH for n in _FORMAT_NUMBERS.findall(format_text))


def _check_size(symbol: str, left: Any, right: Any) -> None:
    if symbol == "*":
        for sequence, count in ((left, right), (right, left)):
            repeats = isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int)
            if repeats and len(sequence) * count > MAX_SEQUENCE_ITEMS:
                raise ScriptLimitExceeded("sequence repetition is too large")
    elif symbol == "%":
        if isinstance(left, str | bytes) and _too_wide(str(left)):
            raise ScriptLimitExceeded("format width is too large")
    elif isinstance(left, int) and isinstance(right, int):
        bits = right * max(left.bit_length(), 1) if symbol == "**" else right
        if bits > MAX_INTEGER_BITS:
            raise ScriptLimitExceeded(f"integer result of '{symbol}' is too large")


def _arith_guard(symbol: str, left: Any, right: Any) -> Any:
    _check_size(symbol, left, right)
    if symbol == "*":
        return left * right
    if symbol == "**":
        return left**right
    if symbol == "%":
        return left % right
    return left << right


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda a, b: a + b,
    "-=": lambda a, b: a - b,
    "*=": lambda a, b: _arith_guard("*", a, b),
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    "%=": lambda a, b: _arith_guard("%", a, b),
    "**=": lambda a, b: _arith_guard("**", a, b),
    "<<=": lambda a, b: _arith_guard("<<", a, b),
    ">>=": lambda a, b: a >> b,
    "&=": lambda a, b: a & b,
    "|=": lambda a, b: a | b,
    "^=": lambda a, b: a ^ b,
}


def _inplace(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    if name in _BLOCKED_METHODS:
        raise ScriptLimitExceeded(f"'{name}' is not available in scripts")
    try:
        return safer_getattr_raise(obj, name, *default)
    except NotImplementedError as refused:  # RestrictedPython's word for str.format and kin
        raise ScriptError(str(refused)) from None


def _limited_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_SEQUENCE_ITEMS:
        raise ScriptLimitExceeded("range is too large")
    return result


def _builtins() -> dict[str, Any]:
    allowed = {k: v for k, v in safe_builtins.items() if k not in {"__build_class__", "id"}}
    allowed.update(
        range=_limited_range,
        min=min,
        max=max,
        sum=sum,
        sorted=sorted,
        any=any,
        all=all,
        enumerate=enumerate,
        zip=zip,
        list=list,
        dict=dict,
        set=set,
        tuple=tuple,
        reversed=reversed,
        map=map,
        filter=filter,
    )
    return allowed


SANDBOX_GLOBALS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": _getattr,
    "_getitem_": lambda obj, key: obj[key],
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
    "_arith_guard_": _arith_guard,
}


@lru_cache(maxsize=4096)
def compile_source(source: str, mode: str) -> CodeType:
    """Compile once per distinct source; DMN tables evaluate the same cells often."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, SCRIPT_FILENAME, policy=_SandboxPolicy)
    if result.errors:
        raise ScriptError("; ".join(result.errors))
    return result.code


def check_compiles(source: str, mode: str) -> str | None:
    """Return why ``source`` is refused by the sandbox, or None when it compiles."""
    try:
        compile_source(source, mode)
    except ScriptError as error:
        return str(error)
    return None


def run_limited(code: CodeType, namespace: dict[str, Any], seconds: float) -> Any:
    """Evaluate compiled code; a script past its deadline fails with ScriptTimeout."""
    try:
        return call_with_deadline(seconds, lambda: eval(code, namespace))
    except DeadlineExceeded:
        raise ScriptTimeout("script ran longer than its time limit") from None


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow environment whose evaluate and execute go through the sandbox."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]], time_limit: float = 2.0):
        super().__init__(dict(helpers))
        self.time_limit = time_limit

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Any = None
    ) -> Any:
        namespace = dict(SANDBOX_GLOBALS)
        namespace.update(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        return run_limited(compile_source(expression.strip(), "eval"), namespace, self.time_limit)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        code = compile_source(script, "exec")
        context.update(SANDBOX_GLOBALS)
        context.update(self.globals)
        context.update(external_context or {})
        try:
            run_limited(code, context, self.time_limit)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
            for name in SANDBOX_GLOBALS:
                context.pop(name, None)
        return True


def restricted_script_engine(
    helpers: Mapping[str, Callable[..., Any]], time_limit: float = 2.0
) -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment(helpers, time_limit))
