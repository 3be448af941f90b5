"""Lark's concrete tree (every token kept, comments inside `_SEP`) -> lines.

The printer walks the tree once, in source order, and writes each token with
the spacing its role asks for; it never reorders or invents a token, so the
formatted text parses to the same program. A line made only of one-line
statements becomes a *row* of cells (label, statements, call arguments) that
`align` may line up with its neighbours; everything else is written as is.
Comments, blank lines, `;` chains and `\\` continuations come from the text."""
from __future__ import annotations

import re

from lark import Token, Tree

from archdsl.records import dataclass, field

INDENT = 2  # spaces per level of braces
CONTINUATION = 4  # extra spaces on a line continued with `\`

CODE, ROW, COMMENT, BLANK = "code", "row", "comment", "blank"

# Binary operators written with spaces around them, or without inside a
# layer's arguments (which spaces separate: `conv c/4 k=1`).
BINARY = frozenset({"plus", "minus", "times", "divide", "floordiv", "modulo", "compare"})
NUMBERS = frozenset({"int", "float", "dims"})
_SEP_ITEM = re.compile(r";|\n|#[^\n]*")

# Roles after which, and before which, no space is written.
_NO_SPACE_AFTER = frozenset({"open", "glued-open", "dot", "eq", "unary", "tight", "callname"})
_NO_SPACE_BEFORE = frozenset({"close", "comma", "colon", "dot", "eq", "tight", "glued-open", "semi"})


@dataclass(slots=True)
class Call:
    """A block call's parts, for argument tables: `head` is `Name(`, `key`
    the block and the keyword of each argument (None for positional ones)."""

    head: str
    key: tuple
    args: list[tuple[str, bool]]  # (text, is a number)
    padded: bool  # the author put extra spaces between the arguments


@dataclass(slots=True)
class Cell:
    """One statement of a row. Columns are those of the original text: the
    alignment the author chose is recognised by them."""

    label: str | None
    body: str
    start_col: int  # where the statement (its label included) started
    body_col: int  # where it started after the label
    label_padded: bool  # more than one space after the label
    sep_padded: bool  # more than one space after the `;` before it
    call: Call | None = None


@dataclass(slots=True)
class Line:
    """One output line: code, a row of cells, a comment of its own, or blank."""

    indent: int
    text: str = ""
    comment: str | None = None
    kind: str = CODE
    cells: list[Cell] | None = None
    run: int = 0  # rows of one run (no blank line or multi-line statement between) may align
    joiner: str = "; "  # between the cells of a row ("; " for statements, " " for branches)


@dataclass(slots=True)
class _Sep:
    """A `_SEP` token read as a line structure."""

    trailing: list[str] = field(default_factory=list)  # comments on the line it ends
    lines: list[str | None] = field(default_factory=list)  # then: a comment line, or None for a blank one
    newline: bool = False


def read_sep(value: str) -> _Sep:
    sep, segment, seen_newline = _Sep(), [], False
    for item in _SEP_ITEM.findall(value):
        if item == "\n":
            if seen_newline:
                sep.lines.append(segment[0] if segment else None)
            else:
                sep.trailing = segment
            segment, seen_newline = [], True
        elif item.startswith("#"):
            segment.append(item.rstrip())
    if seen_newline:
        sep.newline = True
        if segment:  # a comment at the very end of the file, without a newline
            sep.lines.append(segment[0])
    else:
        sep.trailing = segment
    return sep


def first_token(node) -> Token:
    while isinstance(node, Tree):
        node = next(c for c in node.children if c is not None)
    return node


def last_token(node) -> Token:
    while isinstance(node, Tree):
        node = next(c for c in reversed(node.children) if c is not None)
    return node


def _is_sep(node) -> bool:
    return isinstance(node, Token) and node.type == "_SEP"


def _flatten(children) -> list:
    """A body's statements and separators in order (`stmts` nests to the left)."""
    out = []
    for child in children:
        if isinstance(child, Tree) and child.data == "stmts":
            out.extend(_flatten(child.children))
        elif child is not None:
            out.append(child)
    return out


class Printer:
    """Writes a tree as lines; `lines` holds the result."""

    def __init__(self, text: str):
        self.text = text
        self.lines: list[Line] = []
        self.line: Line | None = None
        self.depth = 0
        self.prev: str | None = None  # role of the last token on the line
        self.last_end: int | None = None  # where it ended in the text
        self.run = 0

    # -- lines ------------------------------------------------------------------
    def new_line(self, indent: int | None = None, kind: str = CODE) -> Line:
        self.line = Line(self.depth * INDENT if indent is None else indent, kind=kind, run=self.run)
        self.lines.append(self.line)
        self.prev = None
        return self.line

    def break_run(self) -> None:
        self.run += 1

    def comment_line(self, text: str) -> None:
        self.lines.append(Line(self.depth * INDENT, comment=text, kind=COMMENT, run=self.run))

    def blank(self) -> None:
        self.break_run()
        self.lines.append(Line(0, kind=BLANK))

    # -- tokens -----------------------------------------------------------------
    def token(self, tok: Token, role: str = "plain") -> None:
        if self.line is None:
            self.new_line()
        if self.last_end is not None and "\\" in self.text[self.last_end:tok.start_pos]:
            # The author continued the line here: so do we, one step in.
            self.line.text += " \\"
            self.break_run()
            self.new_line(self.depth * INDENT + CONTINUATION)
        elif self.prev is not None and self.prev not in _NO_SPACE_AFTER and role not in _NO_SPACE_BEFORE:
            self.line.text += " "
        self.line.text += tok.value
        self.prev = role
        self.last_end = tok.end_pos

    def semi(self) -> None:
        """The `;` between two statements on one line."""
        self.line.text += ";"
        self.prev = "semi"

    def walk(self, node, tight: bool = False) -> None:
        if node is None:
            return
        if isinstance(node, Token):
            self.token(node)
            return
        if node.data in ("body", "branches"):
            self.body(node)
            return
        if node.data == "start":
            self.top(node)
            return
        self.children(node.data, [c for c in node.children if c is not None], tight or node.data == "layer")

    def children(self, data: str, kids: list, tight: bool) -> None:
        for i, child in enumerate(kids):
            if isinstance(child, Token):
                role = _role(data, child, kids, i, tight)
                if role is not None:
                    self.token(child, role)
            else:
                self.walk(child, tight)

    # -- bodies -------------------------------------------------------------------
    def body(self, node: Tree) -> None:
        kids = [c for c in node.children if c is not None]
        opening, closing, items = kids[0], kids[-1], _flatten(kids[1:-1])
        self.token(opening)
        if opening.line == closing.line:
            self._inline(items, statements=node.data == "body")
            self.token(closing)
            return
        self.depth += 1
        self.break_run()
        self.items(items)
        self.depth -= 1
        self.break_run()
        self.new_line()
        self.last_end = None
        self.token(closing)

    def _inline(self, items: list, statements: bool) -> None:
        """`{ conv 8 k=3; relu }` on one line stays on one line."""
        wrote = False
        for item in items:
            if _is_sep(item):
                continue
            if wrote and statements:
                self.semi()
            self.walk(item)
            wrote = True

    def top(self, node: Tree) -> None:
        self.items([c for c in node.children if c is not None])

    def items(self, items: list) -> None:
        """Statements (or branches, or top-level items) and their separators:
        rows of statements with the comments and blank lines between them."""
        row: list = []
        for item in items:
            if not _is_sep(item):
                row.append(item)
                continue
            sep = read_sep(item.value)
            if not sep.newline and not sep.trailing and row:
                continue  # `a; b`: the row goes on
            if row:
                self.row(row)
                row = []
            self.sep(sep)
            self.last_end = item.end_pos
        if row:
            self.row(row)

    def sep(self, sep: _Sep) -> None:
        for text in sep.trailing:
            if self.line is not None and self.line.comment is None:
                self.line.comment = text
            else:
                self.comment_line(text)
        if sep.newline:
            self.line = None
        for text in sep.lines:
            if text is None:
                self.blank()
            else:
                self.comment_line(text)

    def row(self, stmts: list) -> None:
        """One line of the original: one statement, or several chained with `;`."""
        if all(first_token(s).line == last_token(s).line == first_token(stmts[0]).line for s in stmts):
            cells, prev_end = [], None
            for s in stmts:
                cells.append(self._cell(s, prev_end))
                prev_end = last_token(s).end_pos
            joiner = " " if stmts[0].data == "branch" else "; "
            self.lines.append(Line(self.depth * INDENT, kind=ROW, cells=cells, run=self.run, joiner=joiner))
            self.line = self.lines[-1]
            self.prev, self.last_end = "plain", last_token(stmts[-1]).end_pos
            return
        self.break_run()
        self.new_line()
        for i, s in enumerate(stmts):
            if i and s.data != "branch":
                self.semi()
            self.walk(s)
        self.break_run()

    def _cell(self, stmt: Tree, prev_end: int | None) -> Cell:
        kids = [c for c in stmt.children if c is not None]
        label = kids[0] if isinstance(kids[0], Tree) and kids[0].data == "label" else None
        rest = kids[1:] if label is not None else kids
        start, body_start = first_token(stmt), first_token(rest[0])
        label_text = _inline(self.text, label) if label is not None else None
        label_padded = label is not None and body_start.start_pos - last_token(label).end_pos >= 2
        sep_padded = prev_end is not None and start.start_pos - self._semicolon_end(prev_end, start) >= 2
        body = _inline(self.text, Tree(stmt.data, rest))
        call = _call_cells(self.text, stmt.data, rest) if stmt.data == "call" else None
        return Cell(label_text, body, start.column, body_start.column, label_padded, sep_padded, call)

    def _semicolon_end(self, prev_end: int, start: Token) -> int:
        """Where the `;` before a chained statement ends (its padding follows)."""
        between = self.text[prev_end:start.start_pos]
        return prev_end + between.rfind(";") + 1 if ";" in between else start.start_pos


def _role(data: str, tok: Token, kids: list, i: int, tight: bool) -> str | None:
    """How a token is spaced; None drops it (a trailing comma)."""
    value = tok.value
    if tok.type == "CALLNAME":
        return "callname"
    if value == "(":
        glued = data == "params" or (i > 0 and isinstance(kids[i - 1], Token) and kids[i - 1].type == "CALLNAME")
        return "glued-open" if glued else "open"
    if value == ")":
        return "close"
    if value == ",":
        nxt = kids[i + 1] if i + 1 < len(kids) else None
        if isinstance(nxt, Token) and nxt.value == ")" and not _one_tuple(data, kids):
            return None
        return "comma"
    if value == ":" and data == "label":
        return "colon"
    if value == "." and data == "attribute":
        return "dot"
    if value == "=":
        return "eq"
    if data == "negate" and value == "-":
        return "unary"
    if data in BINARY and i == 1:
        return "tight" if tight else "op"
    return "plain"


def _one_tuple(data: str, kids: list) -> bool:
    """`(a,)`: the comma makes it a tuple and stays."""
    return data == "tuple" and sum(1 for k in kids if not isinstance(k, Token)) == 1


def _inline(text: str, node) -> str:
    """A one-line piece of the tree as text."""
    printer = Printer(text)
    printer.walk(node)
    return printer.lines[0].text if printer.lines else ""


def _call_cells(text: str, data: str, kids: list) -> Call:
    name = next(k for k in kids if isinstance(k, Token) and k.type == "CALLNAME")
    args = [k for k in kids if isinstance(k, Tree)]
    keys = tuple(a.children[0].value if a.data == "kwarg" else None for a in args)
    cells = [(_inline(text, Tree("call_arg", [a])), _is_number(a)) for a in args]
    padded, prev = False, None
    for k in kids:
        if isinstance(k, Token) and k.value in "(,":
            prev = k
        elif isinstance(k, Tree) and prev is not None:
            gap = first_token(k).start_pos - prev.end_pos
            padded = padded or gap >= (1 if prev.value == "(" else 2)
    return Call(f"{name.value}(", (name.value, keys), cells, padded)


def _is_number(node) -> bool:
    if node.data == "negate":
        node = node.children[-1]
    return isinstance(node, Tree) and node.data in NUMBERS
