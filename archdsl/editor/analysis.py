"""One analysis of an editor buffer: problems, per-line shapes, and what hover,
completion and go-to-definition look things up in.

Editors speak in 0-based lines and characters; archdsl's spans are 1-based.
Everything here is converted once, so the adapters (the language server, the
live page) never do position arithmetic. A keystroke pays for parsing and
lowering only: receptive fields and per-layer figures (`Snapshot.network`)
are computed when a hover first asks for them."""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from archdsl.core.ir import Graph, Node, Scope, ScopeKind
from archdsl.errors import ArchError, Diagnostic
from archdsl.frontend import syntax as ast
from archdsl.frontend.parse import normalise, parse
from archdsl.limits import DEFAULT_LIMITS
from archdsl.records import dataclass, field
from archdsl.runtime import gc_paused
from archdsl.source import SourceFile, Span
from archdsl.text import shape_text

ARROW = "\u2192"


@dataclass(frozen=True, slots=True)
class Range:
    """0-based, end exclusive, as LSP and CodeMirror count."""

    line: int
    character: int
    end_line: int
    end_character: int

    @classmethod
    def of(cls, span: Span) -> Range:
        return cls(span.line - 1, span.col - 1, span.end_line - 1, max(span.end_col - 1, span.col))

    def contains(self, line: int, character: int) -> bool:
        return (self.line, self.character) <= (line, character) <= (self.end_line, self.end_character)


@dataclass(frozen=True, slots=True)
class Problem:
    """A diagnostic where the editor shows it; `message` reads as the CLI's
    (the message, its `=` notes, its hint)."""

    severity: str
    message: str
    range: Range
    code: str | None = None
    fix: tuple[Range, str] | None = None
    elsewhere: str | None = None  # the file it is in, when not this buffer (shown at its `use`)

    @property
    def headline(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True, slots=True)
class Hint:
    """The shape after a statement, shown at the end of its line."""

    line: int
    character: int
    label: str
    tooltip: str


def problem_text(d: Diagnostic) -> str:
    """The message with its notes and hint, as the CLI prints them under the quote."""
    lines = [d.message]
    lines += [f"= {note}" for note in d.notes]
    if d.hint:
        lines.append(f"hint: {d.hint}")
    return "\n".join(lines)


@dataclass(slots=True)
class _Lowered:
    graph: Graph
    warnings: list[Diagnostic]


@dataclass
class Snapshot:
    """The analysis of one version of a buffer. `program` is None after a
    syntax error; `graphs` is empty after any error (lowering reports every
    independent error and then gives up on the file)."""

    text: str
    path: str
    version: int | None = None
    program: ast.Program | None = None
    graphs: list[Graph] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    trains: tuple = ()

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def base(self) -> Path:
        return Path(self.path).parent

    @cached_property
    def hints(self) -> list[Hint]:
        """The shape at the end of each line (computed on first use: diagnostics go out first)."""
        return line_hints(self.graphs, self.path, self.text.split("\n")) if self.graphs else []

    @cached_property
    def networks(self):
        """The analysed networks (figures, receptive fields), computed on first use."""
        from archdsl.core.analysis import analyse
        from archdsl.core.network import Network
        with gc_paused():
            return [Network(g, analyse(g), [], self.trains) for g in self.graphs]

    @cached_property
    def workspace(self):
        """Every block the buffer can call (its own and those its `use`s reach)."""
        from archdsl.lowering.workspace import Workspace
        ws = Workspace()
        ws.add_program(self.program if self.program is not None else salvage(self.text, self.path), self.base)
        return ws


def salvage(text: str, path: str) -> ast.Program:
    """The `use`s and the blocks that parse on their own, from text with a
    syntax error elsewhere: completion and definitions go on working while
    the user is in the middle of a line. Each block is parsed where it stands
    (padded to its position), so its spans are the buffer's."""
    from archdsl.frontend.braces import braces
    program = ast.Program(SourceFile(path, text))
    starts = [m for m in re.finditer(r"(?m)^[ \t]*(use|block)\b", text)]
    closes = {}
    stack = []
    for kind, at in braces(text):
        if kind == "{":
            stack.append(at)
        elif stack:
            closes[stack.pop()] = at
    for m in starts:
        if m.group(1) == "use":
            end = text.find("\n", m.start())
            chunk = text[m.start(): len(text) if end < 0 else end]
        else:
            brace = text.find("{", m.start())
            if brace < 0 or brace not in closes:
                continue
            chunk = text[m.start(): closes[brace] + 1]
        line = text.count("\n", 0, m.start())
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
        try:
            piece = parse("\n" * line + " " * col + chunk, path)
        except ArchError:
            continue
        program.uses.extend(piece.uses)
        program.blocks.extend(piece.blocks)
    return program


def analyse_text(text: str, path: str, version: int | None = None, limits=DEFAULT_LIMITS) -> Snapshot:
    """Parse and lower a buffer; never raises for a mistake in the spec."""
    from archdsl.lowering.workspace import lower_program
    text = normalise(text)
    snap = Snapshot(text, path, version)
    with gc_paused():
        try:
            snap.program = parse(text, path)
        except ArchError as exc:
            snap.problems = _problems(exc.diagnostics, snap)
            return snap
        try:
            lowered = lower_program(snap.program, snap.base, limits)
            if snap.program.trains:
                from archdsl.train.section import read_config
                read_config(snap.program.trains)
                snap.trains = tuple(snap.program.trains)
        except ArchError as exc:
            snap.problems = _problems(exc.diagnostics, snap)
            return snap
    snap.graphs = [done.graph for done in lowered]
    snap.problems = _problems([w for done in lowered for w in done.warnings], snap)
    return snap


def _problems(diagnostics: list[Diagnostic], snap: Snapshot) -> list[Problem]:
    out = []
    for d in diagnostics:
        fix = (Range.of(d.fix.span), d.fix.text) if d.fix is not None and d.fix.span.file == snap.path else None
        if d.span is not None and d.span.file == snap.path:
            out.append(Problem(d.severity, problem_text(d), Range.of(d.span), d.code, fix))
            continue
        # In a file the buffer uses (or about no file): shown at the `use` that reaches it.
        where = _use_range(snap, d.span.file if d.span else None)
        text = problem_text(d)
        if d.span is not None:
            text = f"{d.span}: {text}"
        out.append(Problem(d.severity, text, where, d.code, None, d.span.file if d.span else None))
    return out


def _use_range(snap: Snapshot, file: str | None) -> Range:
    uses = snap.program.uses if snap.program is not None else []
    if file is not None:
        name = Path(file).name
        for use in uses:
            if Path(use.path).name == name:
                return Range.of(use.span)
    if uses:
        return Range.of(uses[0].span)
    return Range(0, 0, 0, 1)


# -- shapes at the end of each line ----------------------------------------------------------

@dataclass(slots=True)
class _Producer:
    """A statement of the buffer and what it produced: a node, or a block
    call / repeat (a scope) with its last node."""

    span: Span
    index: int
    shape: tuple | None
    context: Scope | None  # the block instance it was lowered in (None: a network body)
    scope: Scope | None = None

    @property
    def rank(self) -> tuple:
        # The last node wins; between equals, the statement around the others.
        s = self.span
        return (self.index, s.end_line - s.line, s.end_col - s.col if s.end_line == s.line else 0, -s.col)


def line_hints(graphs: list[Graph], path: str, lines: list[str]) -> list[Hint]:
    """One hint per line where statements of `path` end: the shape of the flow
    after the last of them, in every use of the block it is in. It goes at the
    end of the line, after any comment: a handout's aligned comments stay put,
    and a comment that states a shape (`# 96x55x55`) is checked at a glance."""
    by_line: dict[int, dict[int, _Producer]] = {}
    for producer in _producers(graphs, path):
        per_use = by_line.setdefault(producer.span.end_line, {})
        key = id(producer.context)
        best = per_use.get(key)
        if best is None or producer.rank > best.rank:
            per_use[key] = producer
    return [_hint(list(per_use.values()), lines) for _line, per_use in sorted(by_line.items())]


def _producers(graphs: list[Graph], path: str):
    for graph in graphs:
        for node in graph.nodes:
            if node.span is not None and node.span.file == path and node.op is not None:
                yield _Producer(node.span, node.index, node.shape, node.scope.block())
        for scope in graph.scopes:
            if scope.kind in (ScopeKind.BLOCK, ScopeKind.REPEAT) and scope.span is not None \
                    and scope.span.file == path:
                nodes = scope.nodes()
                if nodes:
                    context = scope.parent.block() if scope.parent is not None else None
                    yield _Producer(scope.span, nodes[-1].index, nodes[-1].shape, context, scope)


def _hint(uses: list[_Producer], lines: list[str]) -> Hint:
    first = min(uses, key=lambda p: p.index)
    shapes = list(dict.fromkeys(shape_text(p.shape) for p in sorted(uses, key=lambda p: p.index)))
    label = f"{ARROW} " + (" | ".join(shapes) if len(shapes) <= 3 else " | ".join(shapes[:2]) + " | \u2026")
    tooltip = f"output {shapes[0]}" if len(shapes) == 1 else f"outputs in {len(uses)} uses: " + ", ".join(shapes)
    scopes = [p.scope for p in uses if p.scope is not None]
    if scopes and len(scopes) == len(uses):
        counts = {scope_params(s) for s in scopes}
        if len(counts) == 1:
            params = counts.pop()
            label += f" \u00b7 {params:,} params"
            tooltip += f"; {params:,} parameters in {_what(scopes[0])}"
    elif len(uses) > 1:
        tooltip += f" (this line runs {len(uses)} times)"
    line = first.span.end_line - 1
    end = len(lines[line].rstrip()) if line < len(lines) else first.span.end_col - 1
    return Hint(line, end, label, tooltip)


def _what(scope: Scope) -> str:
    return scope.label if scope.kind == ScopeKind.BLOCK else f"the {scope.label}"


def scope_params(scope: Scope) -> int:
    return sum(node_params(n) for n in scope.nodes())


def node_params(node: Node) -> int:
    return node.op.params() if node.op is not None else 0
