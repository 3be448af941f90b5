"""Finding things in a buffer: the statement under the cursor, the word under
it, where a block or a `use` path is defined, and the outline (symbols)."""
from __future__ import annotations

import re
from pathlib import Path

from archdsl.editor.analysis import Range, Snapshot
from archdsl.frontend import syntax as ast
from archdsl.records import dataclass, field

WORD = re.compile(r"@?[A-Za-z_][A-Za-z0-9_]*")
USE = re.compile(r'^\s*use\s+"([^"\n]*)"?')


def _bodies(stmt) -> list[list]:
    """The statement lists nested directly in a statement."""
    if isinstance(stmt, ast.Repeat | ast.From | ast.Defaults):
        return [stmt.body]
    if isinstance(stmt, ast.Merge):
        return [b.body for b in stmt.branches]
    if isinstance(stmt, ast.Residual):
        return [stmt.body] + ([stmt.shortcut] if stmt.shortcut is not None else [])
    if isinstance(stmt, ast.If):
        return [stmt.body] + ([stmt.orelse] if stmt.orelse is not None else [])
    return []


def walk_statements(body: list):
    """Every statement of a body, nested ones included, in source order."""
    for stmt in body:
        yield stmt
        for inner in _bodies(stmt):
            yield from walk_statements(inner)


def statement_at(snap: Snapshot, line: int, character: int):
    """(definition, innermost statement) around a 0-based position; either may be None."""
    program = snap.program
    if program is None:
        return None, None
    for item in (*program.networks, *program.blocks):
        if Range.of(item.span).contains(line, character):
            found = None
            for stmt in walk_statements(item.body):
                if Range.of(stmt.span).contains(line, character):
                    found = stmt  # the walk goes outside in: the last hit is the innermost
            return item, found
    return None, None


def word_at(text: str, line: int, character: int) -> tuple[str, Range] | None:
    """The name (or `@name`) under the cursor."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    for m in WORD.finditer(lines[line]):
        if m.start() <= character <= m.end():
            return m.group(), Range(line, m.start(), line, m.end())
    return None


@dataclass(frozen=True, slots=True)
class Location:
    path: str
    range: Range


def definition(snap: Snapshot, line: int, character: int) -> Location | None:
    """Where the block called, the file a `use` names, or the tensor referred to is defined."""
    lines = snap.text.split("\n")
    if 0 <= line < len(lines):
        m = USE.match(lines[line])
        if m and m.start(1) - 1 <= character <= m.end(1) + 1:
            target = resolve_use(m.group(1), snap.base)
            return Location(str(target), Range(0, 0, 0, 0)) if target is not None else None
    word = word_at(snap.text, line, character)
    if word is None:
        return None
    name = word[0]
    if name.startswith("@"):
        return _tensor(snap, name[1:], line, character)
    block = snap.workspace.blocks.get(name)
    if block is not None:
        return Location(block.name_span.file, Range.of(block.name_span))
    return None


def resolve_use(path: str, base: Path) -> Path | None:
    """The file a `use` path names, as lowering resolves it."""
    from archdsl.lowering.stdlib import PREFIX, resolve_std
    if path.startswith(PREFIX):
        return resolve_std(path)
    candidate = base / path
    return candidate if candidate.is_file() else None


def _tensor(snap: Snapshot, name: str, line: int, character: int) -> Location | None:
    item, _ = statement_at(snap, line, character)
    if item is None:
        return None
    best = None
    for stmt in walk_statements(item.body):
        labels = getattr(stmt, "labels", ()) or ((stmt.label,) if getattr(stmt, "label", None) else ())
        if name in labels and (stmt.span.line - 1, stmt.span.col - 1) <= (line, character):
            best = stmt  # the latest definition before the reference
    return Location(snap.path, Range.of(best.span)) if best is not None else None


@dataclass(slots=True)
class Symbol:
    """An outline entry: a network, a block, or a labelled statement inside them."""

    name: str
    kind: str  # network | block | label
    detail: str
    range: Range
    selection: Range
    children: list[Symbol] = field(default_factory=list)


def symbols(snap: Snapshot) -> list[Symbol]:
    program = snap.program
    if program is None:
        return []
    out = []
    for net in program.networks:
        out.append(Symbol(net.name, "network", "network", Range.of(net.span), Range.of(net.name_span),
                          _labels(net.body)))
    for block in program.blocks:
        out.append(Symbol(block.name, "block", signature(block), Range.of(block.span), Range.of(block.name_span),
                          _labels(block.body)))
    return sorted(out, key=lambda s: (s.range.line, s.range.character))


def _labels(body: list) -> list[Symbol]:
    out = []
    for stmt in walk_statements(body):
        labels = getattr(stmt, "labels", ()) or ((stmt.label,) if getattr(stmt, "label", None) else ())
        for label in labels:
            what = stmt.op if isinstance(stmt, ast.Layer) else (
                f"{stmt.block}(...)" if isinstance(stmt, ast.Call) else type(stmt).__name__.lower())
            r = Range.of(stmt.span)
            out.append(Symbol(label, "label", what, r, Range(r.line, r.character, r.line, r.character + len(label))))
    return out


def signature(block: ast.BlockDef) -> str:
    """`Bottleneck(c, s=1)` as written (defaults as their source text)."""
    if not block.parens:
        return block.name
    params = []
    for p in block.params:
        default = p.default.span.text() if p.default is not None else None
        params.append(p.name if default is None else f"{p.name}={default}")
    return f"{block.name}({', '.join(params)})"


def doc_comment(block: ast.BlockDef) -> str:
    """The comment lines right above a block's definition, without their `#`."""
    source = block.span.source
    if source is None:
        return ""
    lines, n = [], block.span.line - 1
    while n >= 1 and source.line(n).lstrip().startswith("#"):
        lines.append(source.line(n).lstrip()[1:].strip())
        n -= 1
    return "\n".join(reversed(lines)).strip()
