"""Evaluating the expressions of a spec: `c/4`, `2*c`, `(k, 1)`, `s == 1 and
in.c == c`, `max(8, c // 8 * 8)`, `@e4`, `in.c`.

A spec is data: only these operators and built-in functions are evaluated,
never Python. Values are numbers, booleans, sizes (tuples), bare words
(`same`), layer kinds (`hardswish`, passed to a block) and tensors (`@e4`,
`in`: their shapes can be read, `@e4.c`).
"""
from __future__ import annotations

import math
from contextvars import ContextVar

from archdsl.core.ops.base import Kind, Tensor, Word, number_text
from archdsl.errors import Fix
from archdsl.frontend import syntax as ast
from archdsl.records import dataclass, field
from archdsl.text import AXIS_LETTERS, close_matches, dims_text

KNOWN_WORDS = frozenset({"same", "valid", "half", "true", "false"})
INPUT = "in"  # inside a block: its input tensor
_BOOLEANS = {"true": True, "false": False}


class EvalError(Exception):
    """An expression that cannot be evaluated; lowering reports it at `span`."""

    def __init__(self, message, span, hint=None, notes=(), fix=None):
        super().__init__(message)
        self.message, self.span, self.hint, self.notes, self.fix = message, span, hint, list(notes), fix


class UnknownShape(EvalError):
    """`in.c` of a tensor whose shape an earlier (reported) error left unknown:
    the value is unknown, and saying so again would only echo that error."""


@dataclass(slots=True)
class Context:
    """What names mean where an expression is evaluated.

    `params` holds the block parameters (and `in`, the block's input, inside a
    block); `tensors` resolves `@label`; `flow` is the current tensor (`@`);
    `is_kind` says whether a bare name is a layer kind or block (so it can be
    passed to a block: `CBA(16, act=hardswish)`); `where` names the place for
    hints ("block SE" or "network N")."""

    params: dict = field(default_factory=dict)
    tensors: object = None  # names.TensorScope
    flow: object = None  # ir.Node
    is_kind: object = None  # callable(str) -> bool
    where: str = ""


def evaluate(expr, ctx: Context):
    """The value of `expr`; EvalError for what cannot be evaluated."""
    kind = type(expr)
    if kind is ast.Num:
        return expr.value
    if kind is ast.Dims:
        return expr.values
    if kind is ast.Name:
        return _name(expr, ctx)
    if kind is ast.BinOp:
        left = _number(evaluate(expr.left, ctx), expr.left.span)
        right = _number(evaluate(expr.right, ctx), expr.right.span)
        return _arith(expr, left, right, ctx)
    return _EVALUATORS[kind](expr, ctx)


def _name(expr: ast.Name, ctx: Context):
    params = ctx.params
    if expr.id in params:
        return params[expr.id]
    if expr.id in _BOOLEANS:
        return _BOOLEANS[expr.id]  # so `if se { ... }` works on a parameter given `true`
    if expr.id in KNOWN_WORDS:
        return Word(expr.id)
    if ctx.is_kind is not None and ctx.is_kind(expr.id):
        return Kind(expr.id)
    if expr.id == INPUT:
        raise EvalError("`in` is the input of a block; it means nothing here", expr.span,
                        hint="use in.c, in.h, in.w inside a block body; in a network, refer to a tensor: @label.c")
    names = [n for n in params if n != INPUT]
    close = close_matches(expr.id, names + sorted(KNOWN_WORDS), n=1, cutoff=0.6)
    guess = f"did you mean '{close[0]}'? " if close else ""
    fix = Fix(expr.span, close[0]) if close else None
    if names:
        hint = guess + f"the parameters here are: {', '.join(names)}"
    elif ctx.where.startswith("block"):
        hint = guess + f"{ctx.where} has no parameters; names stand for block parameters"
    else:
        hint = guess + "names stand for block parameters; a network body takes literal values"
    raise EvalError(f"unknown name '{expr.id}'", expr.span, hint=hint, fix=fix)


def _number(value, span):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvalError(f"arithmetic needs numbers, got {show_value(value)}", span)
    return value


def _arith(expr: ast.BinOp, a, b, ctx: Context):
    op = expr.op
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise EvalError("division by zero", expr.span, notes=_computed(expr, ctx))
    if op == "/":
        if isinstance(a, int) and isinstance(b, int):
            if a % b:
                return _not_whole(expr, a, b, ctx)
            return a // b
        return a / b
    if op == "//":
        return a // b
    return a % b


def _not_whole(expr, a: int, b: int, ctx: Context):
    # Suggest // only where rounding down still gives a size: 80 // 120 is 0.
    hint = "sizes must divide exactly; use // to round down" if a // b >= 1 else \
        f"sizes must divide exactly, and {a} // {b} would round down to {a // b}: check the values"
    raise EvalError(f"{a}/{b} is not a whole number", expr.span, hint=hint, notes=_computed(expr, ctx))


def _computed(expr, ctx: Context) -> list[str]:
    """`w / gw = 80 / 120`: what a computed value was made of, when names were involved."""
    written, values = render(expr), render(expr, ctx.params)
    return [f"{written} = {values}"] if written != values else []


def _tuple(expr: ast.TupleExpr, ctx: Context):
    return tuple(evaluate(e, ctx) for e in expr.items)


def _neg(expr: ast.Neg, ctx: Context):
    return -_number(evaluate(expr.operand, ctx), expr.operand.span)


def _ref(expr: ast.Ref, ctx: Context):
    value = ctx.params.get(expr.name)
    if isinstance(value, Tensor):
        return value  # a block argument holding a tensor
    if ctx.tensors is None:
        raise EvalError(f"@{expr.name}: no tensors can be named here", expr.span)
    return ctx.tensors.lookup(expr.name, expr.span)


def _flow(expr: ast.Flow, ctx: Context):
    if ctx.flow is None:
        raise EvalError("`@` (the current flow) has no value here", expr.span,
                        hint="`@` stands for the flow where a merge lists its inputs: concat @skip @")
    return Tensor(ctx.flow, "")


def _attribute(expr: ast.Attribute, ctx: Context):
    value = evaluate(expr.value, ctx)
    if not isinstance(value, Tensor):
        raise EvalError(f"only tensors have attributes, and {render(expr.value)} is {show_value(value)}",
                        expr.span, hint="in.c, in.h, in.w or @label.c read a tensor's shape")
    return tensor_attribute(value, expr.name, expr.name_span)


def tensor_attribute(value: Tensor, name: str, span):
    shape = value.shape
    if shape is None:
        raise UnknownShape(f"the shape of {value!r} is unknown (an earlier error)", span)
    rank = len(shape) - 1
    letters = [a.lower() for a in AXIS_LETTERS.get(rank, ())]
    if getattr(shape, "is_tokens", False):
        # Tokens hold their features last: in.c is D (what a block sizes its fc by),
        # in.l the number of tokens of a sequence, in.h and in.w a grid's sides.
        letters = ["l"] if rank == 1 else ["h", "w"]
        if name == "c":
            return shape[-1]
        if name in letters:
            return shape[letters.index(name)]
    if name == "c":
        return shape[0]
    if name == "shape":
        return tuple(shape)
    if name == "rank":
        return rank
    if name in letters:
        return shape[1 + letters.index(name)]
    offered = ", ".join(["c", *letters, "shape", "rank"])
    if name in ("l", "d", "h", "w"):
        what = repr(value) if value.name and value.name != INPUT else "the input"
        raise EvalError(f"{what} is {dims_text(shape)}: it has no axis '{name}'", span,
                        hint=f"its attributes are {offered}")
    raise EvalError(f"a tensor has no attribute '{name}'", span, hint=f"its attributes are {offered}")


def _compare(expr: ast.Compare, ctx: Context):
    a, b = evaluate(expr.left, ctx), evaluate(expr.right, ctx)
    if expr.op in ("==", "!="):
        # true is not 1: a boolean equals only a boolean.
        same = isinstance(a, bool) == isinstance(b, bool) and a == b
        return same if expr.op == "==" else not same
    a, b = _number(a, expr.left.span), _number(b, expr.right.span)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[expr.op]


def _truth(value, span) -> bool:
    if not isinstance(value, bool):
        raise EvalError(f"a condition must be true or false, got {show_value(value)}", span,
                        hint="compare it: s == 1, in.c != c, k > 1")
    return value


def _bool_op(expr: ast.BoolOp, ctx: Context):
    left = _truth(evaluate(expr.left, ctx), expr.left.span)
    if expr.op == "and" and not left or expr.op == "or" and left:
        return left  # short-circuit, as Python's: the right side may not apply
    return _truth(evaluate(expr.right, ctx), expr.right.span)


def _not(expr: ast.Not, ctx: Context):
    return not _truth(evaluate(expr.operand, ctx), expr.operand.span)


def _conditional(expr: ast.Conditional, ctx: Context):
    cond = _truth(evaluate(expr.cond, ctx), expr.cond.span)
    return evaluate(expr.then if cond else expr.orelse, ctx)


# -- built-in functions ----------------------------------------------------------------

def make_divisible(v, divisor, min_value=None):
    """torchvision's `_make_divisible`: the nearest multiple of `divisor` to v, at
    least `min_value` (default: the divisor), and never 10% below v."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


def _round(x, digits=None):
    return round(x) if digits is None else round(x, digits)


FUNCTIONS = {
    "min": (min, 2, None), "max": (max, 2, None), "abs": (abs, 1, 1),
    "round": (_round, 1, 2), "floor": (math.floor, 1, 1), "ceil": (math.ceil, 1, 1), "int": (int, 1, 1),
    "make_divisible": (make_divisible, 2, 3),
}


# -- search spaces: choice(3, 5, 7), range(32, 129, 32) ------------------------------------

SEARCH = ("choice", "range")
# Who decides a choice point (archdsl.sweep drives it); None: a plain load, which refuses.
CHOOSER: ContextVar = ContextVar("archdsl_chooser", default=None)


def search_values(expr: ast.Function, ctx: Context) -> list:
    """The values a choice point offers: choice's arguments (any values, each
    evaluated where the choice is), or range's integers (start, stop[, step]:
    stop excluded, as Python's range)."""
    if expr.name == "choice":
        if not expr.args:
            raise EvalError("choice() needs at least one value", expr.span, hint="choice(3, 5, 7)")
        return [evaluate(a, ctx) for a in expr.args]
    if not 1 <= len(expr.args) <= 3:
        raise EvalError(f"range() takes 1 to 3 values, got {len(expr.args)}", expr.span,
                        hint="range(32, 129, 32) is 32, 64, 96, 128")
    bounds = [_number(evaluate(a, ctx), a.span) for a in expr.args]
    if any(isinstance(b, float) and not b.is_integer() for b in bounds):
        raise EvalError("range() takes whole numbers", expr.span, hint="range(32, 129, 32)")
    bounds = [int(b) for b in bounds]
    if len(bounds) == 3 and bounds[2] == 0:
        raise EvalError("range() step must not be zero", expr.args[2].span)
    values = list(range(*bounds))
    if not values:
        raise EvalError(f"range({', '.join(map(str, bounds))}) is empty", expr.span,
                        hint="the stop is excluded: range(32, 129, 32) ends at 128")
    return values


def _search(expr: ast.Function, ctx: Context):
    chooser = CHOOSER.get()
    if chooser is None:
        written = render(expr)
        raise EvalError(f"{written} makes this spec a search space, not one network", expr.span,
                        hint="archdsl sweep SPEC explores it; archdsl sweep SPEC --pick ID writes one of its "
                             "networks as a spec")
    return chooser.choose(expr, search_values(expr, ctx))


def _function(expr: ast.Function, ctx: Context):
    if expr.name in SEARCH:
        return _search(expr, ctx)
    entry = FUNCTIONS.get(expr.name)
    if entry is None:
        close = close_matches(expr.name, list(FUNCTIONS), n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        raise EvalError(f"unknown function '{expr.name}'", expr.name_span,
                        hint=guess + f"the functions are {', '.join((*FUNCTIONS, *SEARCH))}",
                        fix=Fix(expr.name_span, close[0]) if close else None)
    fn, low, high = entry
    if len(expr.args) < low or (high is not None and len(expr.args) > high):
        wanted = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
        raise EvalError(f"{expr.name}() takes {wanted} values, got {len(expr.args)}", expr.span)
    args = [_number(evaluate(a, ctx), a.span) for a in expr.args]
    return fn(*args)


_EVALUATORS = {
    ast.Str: lambda e, ctx: e.value, ast.TupleExpr: _tuple, ast.Neg: _neg, ast.Ref: _ref, ast.Flow: _flow,
    ast.Attribute: _attribute, ast.Compare: _compare, ast.BoolOp: _bool_op, ast.Not: _not,
    ast.Conditional: _conditional, ast.Function: _function,
}


# -- text --------------------------------------------------------------------------------

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6}


def render(expr, values: dict | None = None, parent: int = 0) -> str:
    """An expression as text; with `values`, its names replaced by them
    (`w // gw` -> `80 // 120`), so messages show what a computed value was made of."""
    kind = type(expr)
    if kind is ast.Num:
        return number_text(expr.value)
    if kind is ast.Dims:
        return dims_text(expr.values)
    if kind is ast.Name:
        if values is not None and expr.id in values and not isinstance(values[expr.id], Tensor):
            return show_value(values[expr.id])
        return expr.id
    if kind is ast.Str:
        return f'"{expr.value}"'
    if kind is ast.Ref:
        return f"@{expr.name}"
    if kind is ast.Flow:
        return "@"
    if kind is ast.Attribute:
        return f"{render(expr.value, None, 9)}.{expr.name}"
    if kind is ast.Function:
        return f"{expr.name}(" + ", ".join(render(a, values) for a in expr.args) + ")"
    if kind is ast.TupleExpr:
        return "(" + ", ".join(render(a, values) for a in expr.items) + ")"
    if kind is ast.Neg:
        return "-" + render(expr.operand, values, 7)
    if kind is ast.Not:
        return "not " + render(expr.operand, values, 3)
    if kind is ast.Conditional:
        text = f"{render(expr.then, values, 1)} if {render(expr.cond, values, 1)} else {render(expr.orelse, values)}"
        return f"({text})" if parent else text
    op = expr.op
    level = _PRECEDENCE["compare" if kind is ast.Compare else op]
    text = f"{render(expr.left, values, level)} {op} {render(expr.right, values, level + 1)}"
    return f"({text})" if level < parent else text


def show_value(value) -> str:
    """A value the way a spec writes it: 64, 0.5, 3x3, true, hardswish, @e4."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return dims_text(value)
    if isinstance(value, Tensor):
        return repr(value) if value.name else "the current flow"
    if isinstance(value, float) and not value.is_integer():
        # A computed float (0.2 * 3 / 16) reads as 0.0375, not 0.037500000000000006.
        return f"{value:.12g}"
    return number_text(value)
