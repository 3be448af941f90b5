"""Evaluating the integer and float expressions of a spec (`c/4`, `2*c`, `(k, 1)`).

A spec is data: only these operators on numbers are evaluated, never Python."""
from __future__ import annotations

import difflib

from archdsl.core.ops.base import Word, number_text
from archdsl.frontend import syntax as ast
from archdsl.text import dims_text

KNOWN_WORDS = frozenset({"same", "valid", "true", "false"})


class EvalError(Exception):
    """An expression that cannot be evaluated; lowering reports it at `span`."""

    def __init__(self, message, span, hint=None):
        super().__init__(message)
        self.message, self.span, self.hint = message, span, hint


def evaluate(expr, env):
    """The value of `expr` with block parameters from `env`; bare words become `Word`s."""
    if isinstance(expr, ast.Num):
        return expr.value
    if isinstance(expr, ast.Dims):
        return expr.values
    if isinstance(expr, ast.Str):
        return expr.value
    if isinstance(expr, ast.Name):
        if expr.id in env:
            return env[expr.id]
        if expr.id in KNOWN_WORDS:
            return Word(expr.id)
        close = difflib.get_close_matches(expr.id, list(env) + sorted(KNOWN_WORDS), n=1, cutoff=0.6)
        guess = f"did you mean '{close[0]}'? " if close else ""
        if env:
            hint = guess + f"the parameters here are: {', '.join(env)}"
        else:
            hint = guess + "names stand for block parameters; a network body takes literal values"
        raise EvalError(f"unknown name '{expr.id}'", expr.span, hint=hint)
    if isinstance(expr, ast.TupleExpr):
        return tuple(evaluate(e, env) for e in expr.items)
    if isinstance(expr, ast.Neg):
        value = _number(evaluate(expr.operand, env), expr.operand.span)
        return -value
    if isinstance(expr, ast.BinOp):
        left = _number(evaluate(expr.left, env), expr.left.span)
        right = _number(evaluate(expr.right, env), expr.right.span)
        return _arith(expr, left, right)
    raise TypeError(expr)  # pragma: no cover


def _number(value, span):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvalError(f"arithmetic needs numbers, got {show_value(value)}", span)
    return value


def _arith(expr: ast.BinOp, a, b):
    op = expr.op
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise EvalError("division by zero", expr.span)
    if op == "/":
        if isinstance(a, int) and isinstance(b, int):
            if a % b:
                raise EvalError(f"{a}/{b} is not a whole number", expr.span,
                                 hint="sizes must divide exactly; use // to round down")
            return a // b
        return a / b
    if op == "//":
        return a // b
    return a % b


def show_value(value) -> str:
    if isinstance(value, tuple):
        return dims_text(value)
    return number_text(value)
