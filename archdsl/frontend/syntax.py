"""The syntax tree of a spec: what was written, with a span on every node.

Nothing here is evaluated; `lower` turns it into the IR.
"""
from __future__ import annotations

from archdsl.records import dataclass, field
from archdsl.source import SourceFile, Span

# -- expressions ------------------------------------------------------------

@dataclass(slots=True)
class Num:
    """An integer or float literal."""
    value: int | float
    span: Span


@dataclass(slots=True)
class Dims:
    """A literal like `3x224x224` or `1x7`."""
    values: tuple[int, ...]
    span: Span


@dataclass(slots=True)
class Name:
    """A block parameter, or a bare word such as `same`, `true`, `valid`."""
    id: str
    span: Span


@dataclass(slots=True)
class Str:
    """A string literal, quotes removed."""
    value: str
    span: Span


@dataclass(slots=True)
class TupleExpr:
    """`(a, b)`: one value per axis, written with expressions."""
    items: list[Expr]
    span: Span


@dataclass(slots=True)
class BinOp:
    """`a + b`, `a // b`, ...: arithmetic on two values."""
    op: str  # + - * / // %
    left: Expr
    right: Expr
    span: Span


@dataclass(slots=True)
class Neg:
    """`-a`."""
    operand: Expr
    span: Span


@dataclass(slots=True)
class Ref:
    """`@e4`: the output of the statement labelled e4 (or a block parameter holding a tensor)."""
    name: str
    span: Span


@dataclass(slots=True)
class Flow:
    """`@` alone: the current flow, where a merge lists its inputs."""
    span: Span


@dataclass(slots=True)
class Attribute:
    """`in.c`, `@e4.h`: a property of a tensor's shape."""
    value: Expr
    name: str
    span: Span
    name_span: Span


@dataclass(slots=True)
class Function:
    """`max(8, c)`, `make_divisible(c * 0.75, 8)`: a built-in function."""
    name: str
    args: list[Expr]
    span: Span
    name_span: Span


@dataclass(slots=True)
class Compare:
    """`a == b`, `in.c > 64`, ..."""
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    span: Span


@dataclass(slots=True)
class BoolOp:
    """`a and b`, `a or b`."""
    op: str  # and | or
    left: Expr
    right: Expr
    span: Span


@dataclass(slots=True)
class Not:
    """`not a`."""
    operand: Expr
    span: Span


@dataclass(slots=True)
class Conditional:
    """`a if cond else b`."""
    then: Expr
    cond: Expr
    orelse: Expr
    span: Span


Expr = (Num | Dims | Name | Str | TupleExpr | BinOp | Neg | Ref | Flow | Attribute | Function | Compare
        | BoolOp | Not | Conditional)


@dataclass(slots=True)
class Kwarg:
    """`key=value` in a layer or a block call."""
    name: str
    value: Expr
    span: Span
    name_span: Span


# -- statements ---------------------------------------------------------------

@dataclass(slots=True)
class Layer:
    """`[label:] op arg... key=value...` — one layer, or a statement shaped like
    one (`input image 3x224x224`, `output mask`, `expect 64x56x56`). `labels`
    holds several names only for `a, b: split 2`."""
    label: str | None
    op: str
    op_span: Span
    args: list[Expr]
    kwargs: list[Kwarg]
    span: Span
    labels: tuple[str, ...] = ()


@dataclass(slots=True)
class Call:
    """`[label:] Block(arg, key=value)` — an instance of a block."""
    label: str | None
    block: str
    block_span: Span
    args: list[Expr]
    kwargs: list[Kwarg]
    span: Span


@dataclass(slots=True)
class Repeat:
    """`[label:] repeat N { ... }`."""
    label: str | None
    count: Expr
    body: list[Stmt]
    span: Span


@dataclass(slots=True)
class Branch:
    """`branch { ... }` of a merge."""
    body: list[Stmt]
    span: Span


@dataclass(slots=True)
class Merge:
    """`concat { branch {...} ... }`, `add { branch {...} ... }`: any merge kind
    of the MERGES table (lowering checks the name)."""
    kind: str
    kind_span: Span
    label: str | None
    branches: list[Branch]
    span: Span


@dataclass(slots=True)
class Residual:
    """`residual [optional] { body } [shortcut [always] { projection }]`."""
    label: str | None
    body: list[Stmt]
    shortcut: list[Stmt] | None
    always: bool
    span: Span
    shortcut_span: Span | None = None
    optional: bool = False  # identity skip where the body keeps the shape, no skip elsewhere


@dataclass(slots=True)
class If:
    """`if cond { ... } else { ... }`, decided while lowering; `orelse` holds
    the else body (an `else if` is an If inside it)."""
    cond: Expr
    body: list[Stmt]
    orelse: list[Stmt] | None
    span: Span


@dataclass(slots=True)
class From:
    """`[label:] from @t { ... }`: the body starts from tensor t; its output is the new flow."""
    label: str | None
    source: Expr
    body: list[Stmt]
    span: Span


@dataclass(slots=True)
class Defaults:
    """`defaults { bn eps=1e-3; conv bias=false }`: attribute defaults for what follows."""
    body: list[Layer]
    span: Span


Stmt = Layer | Call | Repeat | Merge | Residual | If | From | Defaults


# -- top level ------------------------------------------------------------------

@dataclass(slots=True)
class Param:
    """A block parameter, with its default expression if it has one."""
    name: str
    default: Expr | None
    span: Span


@dataclass(slots=True)
class BlockDef:
    """`block Name(params) { ... }`."""
    name: str
    params: list[Param]
    body: list[Stmt]
    span: Span
    name_span: Span
    # `block B { }` has no parentheses: it takes no arguments and is called as a bare `B`.
    parens: bool = True


@dataclass(slots=True)
class NetworkDef:
    """`network Name { ... }`."""
    name: str
    body: list[Stmt]
    span: Span
    name_span: Span


@dataclass(slots=True)
class TrainDef:
    """`train { optimizer sgd lr=0.01; batch 128 }`: settings for `archdsl train`.
    Its statements parse like layers (a keyword, values, key=value pairs)."""
    body: list[Stmt]
    span: Span


@dataclass(slots=True)
class Use:
    """`use "file.arch"`."""
    path: str
    span: Span


@dataclass(slots=True)
class LayoutDecl:
    """`layout hwc` at the top of a file: how its shapes are written (`value` as
    typed, checked when the file is lowered; `value_span` is the word's)."""
    value: str
    span: Span
    value_span: Span


@dataclass(slots=True)
class Program:
    """One parsed file."""
    source: SourceFile
    uses: list[Use] = field(default_factory=list)
    blocks: list[BlockDef] = field(default_factory=list)
    networks: list[NetworkDef] = field(default_factory=list)
    trains: list[TrainDef] = field(default_factory=list)
    defaults: list[Defaults] = field(default_factory=list)  # top-level: for every network and block here
    layouts: list[LayoutDecl] = field(default_factory=list)  # top-level `layout hwc` (one is allowed)
