"""Values of a block's instances -> Python expressions of the block's parameters.

A block class is written once for every call of the block, so each number
its code needs (a conv's channels, a stride) must be an expression that gives
the right value for every instance: `c // 4`, `s`, `in_c`. The spec's own
expression comes first (translated to Python and checked against every
instance); then a literal when every instance agrees; then a small search
(a parameter, a multiple or a part of one, a sum); and where nothing explains
the values, the caller adds a constructor argument for them.

Expressions are Python text evaluated here only to be checked: the names are
the block's parameters and `in_c`, the values numbers and booleans.
"""
from __future__ import annotations

import itertools

from archdsl.frontend import syntax as ast
from archdsl.lowering.expressions import make_divisible

_BUILTINS = {"min": min, "max": max, "abs": abs, "round": round, "int": int, "make_divisible": make_divisible}
_FACTORS = (2, 3, 4, 6, 8, 16)
_PY_OPS = {"+": "+", "-": "-", "*": "*", "/": "//", "//": "//", "%": "%"}
_LEVEL = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "//": 6, "%": 6}


def evaluate(expr: str, env: dict):
    """The value of a generated expression; None when it fails."""
    try:
        return eval(expr, {"__builtins__": _BUILTINS}, dict(env))  # noqa: S307 - text we generated
    except Exception:  # noqa: BLE001 - a candidate that does not evaluate is just not a match
        return None


def agrees(value, target) -> bool:
    """An expression's value against an instance's: a scalar stands for every axis."""
    if isinstance(target, tuple) and not isinstance(value, tuple):
        return all(_same(value, t) for t in target)
    return _same(value, target)


def _same(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) \
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b and (isinstance(a, float) == isinstance(b, float) or float(a).is_integer())
    return a == b


def explains(expr: str, envs: list[dict], targets: list) -> bool:
    """Whether `expr` gives every instance's value."""
    for env, target in zip(envs, targets, strict=True):
        value = evaluate(expr, env)
        if value is None or not agrees(value, target):
            return False
    return True


def python_of(expr, names: dict[str, str], in_c: str | None, parent: int = 0) -> str | None:
    """A spec expression as Python over the class's names (param -> Python name);
    None where it uses what the class cannot (words, tensors, in.h)."""
    kind = type(expr)
    if kind is ast.Num:
        return repr(expr.value)
    if kind is ast.Name:
        if expr.id in names:
            return names[expr.id]
        return {"true": "True", "false": "False"}.get(expr.id)
    if kind is ast.Attribute:
        if isinstance(expr.value, ast.Name) and expr.value.id == "in" and expr.name == "c" and in_c:
            return in_c
        return None
    if kind is ast.Neg:
        inner = python_of(expr.operand, names, in_c, 7)
        return None if inner is None else f"-{inner}"
    if kind is ast.Function:
        if expr.name not in _BUILTINS:
            return None
        args = [python_of(a, names, in_c) for a in expr.args]
        return None if None in args else f"{expr.name}({', '.join(args)})"
    if kind is ast.BinOp:
        op = _PY_OPS[expr.op]
        return _binary(op, _LEVEL[op], expr, names, in_c, parent)
    if kind is ast.Compare:
        return _binary(expr.op, _LEVEL["compare"], expr, names, in_c, parent)
    if kind is ast.BoolOp:
        return _binary(expr.op, _LEVEL[expr.op], expr, names, in_c, parent)
    if kind is ast.Not:
        inner = python_of(expr.operand, names, in_c, 3)
        return None if inner is None else f"not {inner}"
    if kind is ast.Conditional:
        parts = [python_of(e, names, in_c, 1) for e in (expr.then, expr.cond, expr.orelse)]
        if None in parts:
            return None
        text = f"{parts[0]} if {parts[1]} else {parts[2]}"
        return f"({text})" if parent else text
    return None


def _binary(op, level, expr, names, in_c, parent):
    left = python_of(expr.left, names, in_c, level)
    right = python_of(expr.right, names, in_c, level + 1)
    if left is None or right is None:
        return None
    text = f"{left} {op} {right}"
    return f"({text})" if level < parent else text


def literal_of(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(literal_of(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def search(targets: list, variables: dict[str, list]) -> str | None:
    """The simplest expression of the variables that gives `targets`, or None.

    Tried in order: a variable; a multiple or an exact part of one; a sum or
    difference of two; a product or quotient of two; a sum of several."""
    if not targets or not all(isinstance(t, int) and not isinstance(t, bool) for t in targets):
        return _search_other(targets, variables)
    ints = {n: v for n, v in variables.items() if all(isinstance(x, int) and not isinstance(x, bool) for x in v)}
    for name, values in ints.items():
        if values == targets:
            return name
    for name, values in ints.items():
        for f in _FACTORS:
            if [v * f for v in values] == targets:
                return f"{name} * {f}"
            if all(v % f == 0 for v in values) and [v // f for v in values] == targets:
                return f"{name} // {f}"
    for (a, va), (b, vb) in itertools.permutations(ints.items(), 2):
        if [x + y for x, y in zip(va, vb, strict=True)] == targets and a < b:
            return f"{a} + {b}"
        if [x - y for x, y in zip(va, vb, strict=True)] == targets:
            return f"{a} - {b}"
        if [x * y for x, y in zip(va, vb, strict=True)] == targets and a < b:
            return f"{a} * {b}"
        if all(y and x % y == 0 for x, y in zip(va, vb, strict=True)) and \
                [x // y for x, y in zip(va, vb, strict=True)] == targets:
            return f"{a} // {b}"
    for name, values in ints.items():  # rounding down: p = k // 2 for an odd kernel
        for f in (2, 4):
            if [v // f for v in values] == targets:
                return f"{name} // {f}"
        if all(v >= 1 for v in values) and [(v - 1) // 2 for v in values] == targets:
            return f"({name} - 1) // 2"
    for name, values in ints.items():
        for b in (1, 2):
            if [v + b for v in values] == targets:
                return f"{name} + {b}"
            if [v - b for v in values] == targets:
                return f"{name} - {b}"
    return None


def _search_other(targets, variables) -> str | None:
    for name, values in variables.items():
        if all(_same(v, t) for v, t in zip(values, targets, strict=True)):
            return name
    return None


def condition(targets: list[bool], terms: list[str], envs: list[dict]) -> str | None:
    """A condition (one term, or two joined by `or`/`and`) that is True exactly
    where `targets` is."""
    for term in terms:
        if explains(term, envs, targets):
            return term
    for a, b in itertools.combinations(terms, 2):
        for joined in (f"{a} or {b}", f"{a} and {b}"):
            if explains(joined, envs, targets):
                return joined
    return None
