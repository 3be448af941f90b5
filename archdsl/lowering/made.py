"""Layers already made in this lowering, for statements that say the same.

A layer statement whose arguments are all literals or block parameters
(`conv 64 k=3 p=1 bias=false`, or `conv c k=1` in a use where c is 64)
binds to the same values, and on the same input shape makes the same op
with the same output and the same lints, wherever it stands: deep networks
write a few such statements thousands of times (ResNet-152's 2,325 layers
come from a few dozen distinct ones). `literal_key` is what determines the
outcome; the lowerer keeps (op, output, lints, tensor inputs) under it, only
for statements that lowered without a diagnostic of their own, so a
statement that errs or warns differently is always lowered in full."""
from __future__ import annotations

from archdsl.frontend import syntax as ast
from archdsl.lowering.binding import TIMES

_PARAM = "parameter"


def literal_key(cls, stmt: ast.Layer, params, kind_defaults: dict | None, shape_in) -> tuple | None:
    """What the layer made from `stmt` on `shape_in` depends on, or None when an
    argument is not a literal or a block parameter (an expression, a tensor)."""
    items = [cls, type(shape_in), shape_in]
    for arg in stmt.args:
        atom = _atom(arg, params)
        if atom is None:
            return None
        items.append(atom)
    for kw in stmt.kwargs:
        atom = _atom(kw.value, params)
        if atom is None:
            return None
        items.append((kw.name, atom))
    if kind_defaults:
        items.append(tuple(kind_defaults.items()))
    return tuple(items)


def _atom(expr, params):
    kind = type(expr)
    if kind is ast.Num:
        return kind, type(expr.value), expr.value  # 1 and 1.0 are equal keys, not equal values
    if kind is ast.Name:
        if expr.id in params:  # a block parameter binds as the value it has in this use
            value = params[expr.id]
            return _PARAM, type(value), value
        if TIMES.fullmatch(expr.id) is not None:
            return None  # perhaps the rest of a size typed with spaces (binding's size_typo)
        return kind, expr.id
    if kind is ast.Dims:
        return kind, expr.values
    if kind is ast.Str:
        return kind, expr.value
    return None
