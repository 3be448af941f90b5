"""A search space: a spec with choice points (`choice(3, 5, 7)`,
`range(32, 129, 32)`), where they are, and the candidates they span.

Each choice point written in a spec is one decision per candidate: a choice
inside a block is shared by every call of the block (write it at the call
site, or pass it as an argument, to decide per call). A candidate is one
option index per choice point; its ID is those indices read as a mixed-radix
number, the last point varying fastest, so ID 0 takes every first option.
Choice points a candidate never reaches (in an `if` branch not taken, in a
block not called) do not distinguish candidates: the IDs that differ only
there are the same network, and the sweep counts the first of them.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from archdsl.errors import ArchError, Diagnostic
from archdsl.frontend import syntax as ast
from archdsl.frontend.parse import parse
from archdsl.lowering.expressions import SEARCH, Context, EvalError, search_values, show_value
from archdsl.lowering.workspace import Workspace, read_spec
from archdsl.records import dataclass


@dataclass(frozen=True, slots=True)
class Site:
    """One choice point: where it is written, what it is called in tables, and
    its options (as written; `values` where they are constants)."""

    index: int
    expr: ast.Function
    label: str
    options: tuple[str, ...]
    in_block: bool  # written inside a block definition (shared by its calls)

    @property
    def key(self) -> tuple:
        span = self.expr.span
        return span.file, span.line, span.col

    @property
    def count(self) -> int:
        return len(self.options)


class Space:
    """A parsed spec, every file it uses, and its choice points."""

    def __init__(self, path: str | Path, network: str | None = None):
        self.path = Path(path)
        self.text = read_spec(self.path)
        self.program = parse(self.text, str(path))
        self.workspace = Workspace()
        base = self.path.parent
        key = self.path.resolve()
        self.workspace.programs[key] = self.program
        self.workspace.add_program(self.program, base, (key,))
        if self.workspace.diagnostics:
            raise ArchError(self.workspace.diagnostics)
        nets = self.program.networks
        if network is not None:
            nets = [n for n in nets if n.name == network]
        if not nets:
            raise ArchError(Diagnostic("error", f"{self.path.name} defines no network"
                                       + (f" named {network}" if network else "")))
        self.network = nets[-1]
        self.sites: list[Site] = []
        errors: list[Diagnostic] = []
        for program in self.workspace.programs.values():
            _Scanner(self, errors).program(program)
        if errors:
            raise ArchError(errors)
        main = str(self.path)
        ordered = sorted(self.sites, key=lambda t: (t.key[0] != main, t.key))  # as written, the spec first
        self.sites = [dataclasses.replace(site, index=i) for i, site in enumerate(ordered)]
        self.by_key = {s.key: s for s in self.sites}
        self.block_sites = tuple(s.index for s in self.sites if s.in_block)
        self.strides = []
        stride = 1
        for site in reversed(self.sites):
            self.strides.append(stride)
            stride *= site.count
        self.strides.reverse()
        self.size = stride  # how many IDs; distinct networks may be fewer

    def decode(self, cid: int) -> list[int]:
        """The option index of every choice point for candidate `cid`."""
        if not 0 <= cid < self.size:
            raise ValueError(f"candidate IDs of this space run from 0 to {self.size - 1:,}, not {cid:,}")
        return [(cid // stride) % site.count for site, stride in zip(self.sites, self.strides, strict=True)]

    def encode(self, indices: list[int]) -> int:
        return sum(i * s for i, s in zip(indices, self.strides, strict=True))


class _Scanner:
    """Finds every choice point of a program, naming it by what it sets."""

    def __init__(self, space: Space, errors: list):
        self.space, self.errors = space, errors

    def program(self, program: ast.Program) -> None:
        for block in program.blocks:
            for param in block.params:
                if param.default is not None:
                    self.walk(param.default, f"{block.name}({param.name}=)", True)
            self.body(block.body, True, block.name)
        for net in program.networks:
            self.body(net.body, False, net.name)
        for entry in getattr(program, "defaults", ()) or ():
            self.walk(entry, "defaults", True)  # file defaults reach every block: shared like a block's

    def body(self, statements, in_block: bool, where: str) -> None:
        for stmt in statements:
            self.statement(stmt, in_block, where)

    def statement(self, stmt, in_block: bool, where: str) -> None:
        kind = type(stmt)
        if kind is ast.Layer:
            for i, arg in enumerate(stmt.args):
                self.walk(arg, f"{stmt.op} #{i + 1}" if i else stmt.op, in_block)
            for kw in stmt.kwargs:
                self.walk(kw.value, f"{stmt.op} {kw.name}", in_block)
            return
        if kind is ast.Call:
            block = self.space.workspace.blocks.get(stmt.block)
            params = [p.name for p in block.params] if block is not None else []
            for i, arg in enumerate(stmt.args):
                name = params[i] if i < len(params) else str(i + 1)
                self.walk(arg, f"{stmt.block}({name})", in_block)
            for kw in stmt.kwargs:
                self.walk(kw.value, f"{stmt.block}({kw.name})", in_block)
            return
        if kind is ast.Repeat:
            self.walk(stmt.count, "repeat", in_block)
            self.body(stmt.body, in_block, where)
            return
        # Everything else: its expressions, then the statements it holds.
        for f in dataclasses.fields(stmt):
            value = getattr(stmt, f.name)
            self.walk_any(value, f"{kind.__name__.lower()}", in_block, where)

    def walk_any(self, value, label, in_block, where) -> None:
        if isinstance(value, list):
            for item in value:
                self.walk_any(item, label, in_block, where)
        elif _is_statement(value):
            self.statement(value, in_block, where)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            self.walk(value, label, in_block)

    def walk(self, expr, label: str, in_block: bool) -> None:
        """Every choice point inside an expression (a choice's options may hold more)."""
        if isinstance(expr, list):
            for item in expr:
                self.walk(item, label, in_block)
            return
        if not dataclasses.is_dataclass(expr) or isinstance(expr, type):
            return
        if type(expr) is ast.Function and expr.name in SEARCH:
            self.add(expr, label, in_block)
        for f in dataclasses.fields(expr):
            value = getattr(expr, f.name)
            if isinstance(value, list) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
                if _is_statement(value) or (isinstance(value, list) and value and _is_statement(value[0])):
                    for stmt in value if isinstance(value, list) else [value]:
                        self.statement(stmt, in_block, label)
                else:
                    self.walk(value, label, in_block)

    def add(self, expr: ast.Function, label: str, in_block: bool) -> None:
        if expr.name == "range":
            try:
                options = tuple(show_value(v) for v in search_values(expr, Context()))
            except EvalError as exc:
                self.errors.append(Diagnostic(
                    "error", f"range() in a search space takes numbers written out: {exc.message}", expr.span,
                    hint="the sweep counts the options before it runs; for values that depend on a block "
                         "parameter write choice(c, 2 * c)"))
                return
        else:
            if not expr.args:
                self.errors.append(Diagnostic("error", "choice() needs at least one value", expr.span,
                                              hint="choice(3, 5, 7)"))
                return
            options = tuple(a.span.text() or "?" for a in expr.args)
        line = expr.span.line
        name = Path(expr.span.file).name
        where = f"line {line}" if expr.span.file == str(self.space.path) else f"{name}:{line}"
        self.space.sites.append(Site(len(self.space.sites), expr, f"{label} ({where})", options, in_block))


_STATEMENTS = tuple(t for t in (getattr(ast, n, None) for n in (
    "Layer", "Call", "Repeat", "Merge", "Branch", "Residual", "If", "From", "Defaults")) if t is not None)


def _is_statement(value) -> bool:
    return isinstance(value, _STATEMENTS)
