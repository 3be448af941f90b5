"""The syntax tree of a spec: what was written, with a span on every node.

Nothing here is evaluated; `lower` turns it into the IR.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
    value: str
    span: Span


@dataclass(slots=True)
class TupleExpr:
    """`(a, b)`: one value per axis, written with expressions."""
    items: list[Expr]
    span: Span


@dataclass(slots=True)
class BinOp:
    op: str  # + - * / // %
    left: Expr
    right: Expr
    span: Span


@dataclass(slots=True)
class Neg:
    operand: Expr
    span: Span


Expr = Num | Dims | Name | Str | TupleExpr | BinOp | Neg


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
    """`[label:] op arg... key=value...` — one layer."""
    label: str | None
    op: str
    op_span: Span
    args: list[Expr]
    kwargs: list[Kwarg]
    span: Span


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
    label: str | None
    count: Expr
    body: list[Stmt]
    span: Span


@dataclass(slots=True)
class Branch:
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
    """`residual { body } [shortcut [always] { projection }]`."""
    label: str | None
    body: list[Stmt]
    shortcut: list[Stmt] | None
    always: bool
    span: Span
    shortcut_span: Span | None = None


Stmt = Layer | Call | Repeat | Merge | Residual


# -- top level ------------------------------------------------------------------

@dataclass(slots=True)
class Param:
    name: str
    default: Expr | None
    span: Span


@dataclass(slots=True)
class BlockDef:
    name: str
    params: list[Param]
    body: list[Stmt]
    span: Span
    name_span: Span


@dataclass(slots=True)
class NetworkDef:
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
    path: str
    span: Span


@dataclass(slots=True)
class Program:
    """One parsed file."""
    source: SourceFile
    uses: list[Use] = field(default_factory=list)
    blocks: list[BlockDef] = field(default_factory=list)
    networks: list[NetworkDef] = field(default_factory=list)
    trains: list[TrainDef] = field(default_factory=list)
