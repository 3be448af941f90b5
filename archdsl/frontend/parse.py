"""Text -> syntax tree. Lark's LALR tables do the parsing; this module shapes
its output into `syntax` nodes with spans, and keeps looking past a syntax
error for independent ones (`syntax_errors` words each diagnostic).

Well-formed text is parsed by `lalr.py` from tables generated from the
grammar, without importing Lark; text with a syntax error is parsed again by
Lark itself, whose exceptions `syntax_errors` turns into diagnostics. When the
grammar no longer matches the tables (it was edited and `lalr_build` not run),
everything goes through Lark."""
from __future__ import annotations

import math
import re
import threading
from functools import lru_cache

from archdsl.errors import ArchError, Diagnostic
from archdsl.frontend import syntax as ast
from archdsl.frontend.braces import braces, braces_sound
from archdsl.frontend.grammar import grammar_text, keywords
from archdsl.source import SourceFile, Span

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from lark import Lark, Token

MAX_DIGITS = 30
MAX_SYNTAX_ERRORS = 20  # reported in one run; later ones are rarely independent



# A plain one-line layer statement, `conv 64 k=3 s=2 bias=false`, read without the
# tables (`_ToAst.layer_shortcut`): the name, then arguments that are single atoms,
# each lexed by its terminal's own regex from the tables, tried in Lark's order and
# ending where the next token must begin (a blank, a separator or `}`), then the
# end of the statement. Anything else (labels, operators, calls, braces,
# continuations) is left to the tables.
_ATOMS = ("DIMS", "FLOAT", "REF", "NAME", "STRING", "INT", "FLOW")


@lru_cache(maxsize=1)
def _shortcut_lexer():
    """The matchers of a name, an argument and the end, and the terminal of each argument group,
    made from the terminals' patterns of the tables the fast parser runs."""
    from archdsl.frontend import lalr_tables as tables
    patterns, blank = tables.PATTERNS, tables.PATTERNS["__IGNORE_0"]
    order = {name: i for i, name in enumerate(tables.ROOT_LEXER[4])}
    atoms = sorted(_ATOMS, key=order.__getitem__)  # the first that matches wins, as in Lark
    name = patterns["NAME"]
    arg = re.compile(rf"{blank}(?:({name})(?:{blank})?{patterns['EQUAL']}(?:{blank})?)?"
                     rf"(?>{'|'.join(f'({patterns[t]})' for t in atoms)})(?=[ \t\f\n;#}}]|\Z)")
    assert arg.groups == 1 + len(atoms)  # no terminal's pattern has a group of its own
    return (re.compile(rf"(?:{blank})?({name})").match, arg.match,
            re.compile(rf"(?:{blank})?(?:[\n;#}}]|\Z)").match, (None, None, *atoms))


class _Body(list):
    """Statements of a `{ ... }` with the span of its braces."""

    span: Span


class _Labels(tuple):
    """The names before a ':' (several only for `a, b: split 2`), with their span."""

    span: Span


class _ToAst:
    """Builds syntax nodes while the parser runs (an inline transformer: no parse
    tree, which halves parsing time). Inline callbacks get no position
    metadata, so every token is kept and spans run from the first child to the
    last one. Tokens are Lark's or lalr.py's: the only `str` children."""

    source: SourceFile

    def _tok(self, tok: Token) -> Span:
        return Span(self.source.name, tok.line, tok.column, tok.end_line, tok.end_column, self.source)

    def _span(self, children) -> Span:
        # From the first child to the last one that is neither a placeholder nor a separator.
        first = next(c for c in children if c is not None and not (isinstance(c, str) and c.type == "_SEP"))
        last = next(c for c in reversed(children)
                    if c is not None and not (isinstance(c, str) and c.type == "_SEP"))
        if isinstance(first, str):
            line, col = first.line, first.column
        else:
            line, col = _start_of(first)
        if isinstance(last, str):
            return Span(self.source.name, line, col, last.end_line, last.end_column, self.source)
        end_line, end_col = _end_of(last)
        return Span(self.source.name, line, col, end_line, end_col, self.source)

    def layer_shortcut(self, text: str, pos: int, line: int, line_start: int):
        """(Layer, end) for a plain one-line layer statement at `pos`, built as the
        callbacks below build it from the tokens; None for anything else."""
        match_op, match_arg, match_end, terminal = _shortcut_lexer()
        m = match_op(text, pos)
        if m is None:
            return None
        op, reserved = m.group(1), _reserved()
        if op in reserved:
            return None
        name, source = self.source.name, self.source
        start, op_end = m.start(1) - line_start + 1, m.end(1) - line_start + 1
        op_span = Span(name, line, start, line, op_end, source)
        args, kwargs, end, pos = [], [], op_end, m.end()
        while (a := match_arg(text, pos)) is not None:
            group = a.lastindex
            kind, value = terminal[group], a.group(group)
            first, end = a.start(group) - line_start + 1, a.end(group) - line_start + 1
            span = Span(name, line, first, line, end, source)
            if kind == "INT":
                if len(value) > MAX_DIGITS:
                    return None  # the callback's error
                node = ast.Num(int(value), span)
            elif kind == "NAME":
                if value in reserved:
                    return None
                node = ast.Name(value, span)
            elif kind == "DIMS":
                parts = value.split("x")
                if max(map(len, parts)) > MAX_DIGITS:
                    return None
                node = ast.Dims(tuple(map(int, parts)), span)
            elif kind == "FLOAT":
                number = float(value)
                if not math.isfinite(number):
                    return None
                node = ast.Num(number, span)
            elif kind == "STRING":
                node = ast.Str(value[1:-1], span)
            elif kind == "REF":
                node = ast.Ref(value[1:], span)
            else:
                node = ast.Flow(span)
            key = a.group(1)
            if key is None:
                args.append(node)
            else:
                if key in reserved:
                    return None
                key_start = a.start(1) - line_start + 1
                kwargs.append(ast.Kwarg(key, node, Span(name, line, key_start, line, end, source),
                                        Span(name, line, key_start, line, a.end(1) - line_start + 1, source)))
            pos = a.end()
        if match_end(text, pos) is None:
            return None
        return ast.Layer(None, op, op_span, args, kwargs, Span(name, line, start, line, end, source), ()), pos

    # expressions
    def int(self, children):
        (tok,) = children
        return ast.Num(self._integer(tok, tok), self._tok(tok))

    def _integer(self, digits: str, tok: Token) -> int:
        # Python refuses to convert very long digit strings; no size needs them.
        if len(digits) > MAX_DIGITS:
            raise ArchError(Diagnostic("error", f"number with {len(digits)} digits is too large",
                                       self._tok(tok), hint=f"sizes have at most {MAX_DIGITS} digits"))
        return int(digits)

    def float(self, children):
        (tok,) = children
        value = float(tok)
        if not math.isfinite(value):
            # 1e309 reads as infinity: no hyper-parameter means that.
            raise ArchError(Diagnostic("error", f"the number {tok} is too large", self._tok(tok),
                                       hint="numbers must be finite (at most about 1.8e308)"))
        return ast.Num(value, self._tok(tok))

    def dims(self, children):
        (tok,) = children
        return ast.Dims(tuple(self._integer(v, tok) for v in tok.split("x")), self._tok(tok))

    def name(self, children):
        (tok,) = children
        return ast.Name(str(tok), self._tok(tok))

    def string(self, children):
        (tok,) = children
        return ast.Str(str(tok)[1:-1], self._tok(tok))

    def ref(self, children):
        (tok,) = children
        return ast.Ref(str(tok)[1:], self._tok(tok))

    def flow(self, children):
        (tok,) = children
        return ast.Flow(self._tok(tok))

    def attribute(self, children):
        value, _dot, name = children
        return ast.Attribute(value, str(name), self._span(children), self._tok(name))

    def function(self, children):
        name = children[0]
        return ast.Function(str(name), _nodes(children[1:]), self._span(children), self._tok(name))

    def compare(self, children):
        left, op, right = children
        return ast.Compare(str(op), left, right, self._span(children))

    def or_(self, children):
        return ast.BoolOp("or", children[0], children[-1], self._span(children))

    def and_(self, children):
        return ast.BoolOp("and", children[0], children[-1], self._span(children))

    def not_(self, children):
        return ast.Not(children[-1], self._span(children))

    def conditional(self, children):
        then, _if, cond, _else, orelse = children
        return ast.Conditional(then, cond, orelse, self._span(children))

    def group(self, children):
        return children[1]

    def tuple(self, children):
        return ast.TupleExpr(_nodes(children), self._span(children))

    def _binop(op):  # noqa: N805 - a factory evaluated in the class body
        def rule(self, children):
            return ast.BinOp(op, children[0], children[-1], self._span(children))
        return rule

    plus, minus, times = _binop("+"), _binop("-"), _binop("*")
    divide, floordiv, modulo = _binop("/"), _binop("//"), _binop("%")

    def negate(self, children):
        return ast.Neg(children[-1], self._span(children))

    # arguments and statements
    def kwarg(self, children):
        key, value = children[0], children[-1]
        return ast.Kwarg(str(key), value, self._span(children), self._tok(key))

    def label(self, children):
        labels = _Labels(str(c) for c in children if isinstance(c, str) and c.type == "NAME")
        labels.span = self._span(children)
        return labels

    def layer(self, children):
        label, op, *rest = children
        args, kwargs = _split_args(rest)
        return ast.Layer(_str(label), str(op), self._tok(op), args, kwargs, self._span(children),
                         tuple(label) if label else ())

    def call(self, children):
        label, block, *rest = children
        args, kwargs = _split_args(rest)
        return ast.Call(_str(label), str(block), self._tok(block), args, kwargs, self._span(children))

    def stmts(self, children):
        if len(children) == 1:
            return [children[0]]
        children[0].append(children[-1])  # in place: linear, not quadratic
        return children[0]

    def body(self, children):
        body = _Body(next((c for c in children if isinstance(c, list)), []))
        body.span = self._span(children)
        return body

    def repeat(self, children):
        label, _kw, count, body = children
        return ast.Repeat(_str(label), count, list(body), self._span(children))

    def branches(self, children):
        branches = _Body(c for c in children if isinstance(c, ast.Branch))
        branches.span = self._span(children)
        return branches

    def branch(self, children):
        return ast.Branch(list(children[-1]), self._span(children))

    def merge(self, children):
        label, kind, branches = children
        return ast.Merge(str(kind), self._tok(kind), _str(label), branches, self._span(children))

    def shortcut(self, children):
        _kw, always, body = children
        return (always is not None, list(body), self._span(children))

    def residual(self, children):
        label, _kw, optional, body, shortcut = children
        span = self._span(children)
        if shortcut is None:
            return ast.Residual(_str(label), list(body), None, False, span, optional=optional is not None)
        always, sc_body, sc_span = shortcut
        return ast.Residual(_str(label), list(body), sc_body, always, span, sc_span, optional is not None)

    def if_stmt(self, children):
        _kw, cond, body, orelse = children
        return ast.If(cond, list(body), orelse, self._span(children))

    def else_part(self, children):
        rest = children[-1]
        return [rest] if isinstance(rest, ast.If) else list(rest)

    def from_stmt(self, children):
        label, _kw, source, body = children
        return ast.From(_str(label), source, list(body), self._span(children))

    def defaults(self, children):
        return ast.Defaults(list(children[-1]), self._span(children))

    # top level
    def use(self, children):
        return ast.Use(str(children[1])[1:-1], self._span(children))

    def param(self, children):
        name, default = children[0], (children[2] if len(children) > 2 else None)
        return ast.Param(str(name), default, self._span(children))

    def params(self, children):
        return [c for c in children if isinstance(c, ast.Param)]

    def block(self, children):
        _kw, name, params, body = children
        return ast.BlockDef(str(name), params or [], list(body), self._span(children), self._tok(name),
                            parens=params is not None)

    def network(self, children):
        name, body = children[1], children[-1]
        return ast.NetworkDef(str(name), list(body), self._span(children), self._tok(name))

    def train(self, children):
        return ast.TrainDef(list(children[-1]), self._span(children))

    def layout(self, children):
        value = children[-1]
        return ast.LayoutDecl(str(value), self._span(children), self._tok(value))

    def start(self, children):
        program = ast.Program(self.source)
        for item in children:
            if isinstance(item, ast.Use):
                program.uses.append(item)
            elif isinstance(item, ast.BlockDef):
                program.blocks.append(item)
            elif isinstance(item, ast.NetworkDef):
                program.networks.append(item)
            elif isinstance(item, ast.TrainDef):
                program.trains.append(item)
            elif isinstance(item, ast.Defaults):
                program.defaults.append(item)
            elif isinstance(item, ast.LayoutDecl):
                program.layouts.append(item)
        return program


def _start_of(item):
    if isinstance(item, str):
        return item.line, item.column
    span = _item_span(item)
    return span.line, span.col


def _end_of(item):
    if isinstance(item, str):
        return item.end_line, item.end_column
    span = _item_span(item)
    return span.end_line, span.end_col


def _item_span(item) -> Span:
    if isinstance(item, tuple) and not isinstance(item, _Labels):  # a shortcut: (always, body, span)
        return item[2]
    if isinstance(item, list) and not hasattr(item, "span"):  # an else part: its statements
        return Span(item[0].span.file, item[0].span.line, item[0].span.col, item[-1].span.end_line,
                    item[-1].span.end_col) if item else None
    return item.span


@lru_cache(maxsize=1)
def _reserved() -> frozenset[str]:
    return frozenset(keywords())


def _nodes(children):
    return [c for c in children if c is not None and not isinstance(c, str)]


def _split_args(items):
    args, kwargs = [], []
    for a in items:
        if a is not None and not isinstance(a, str):
            (kwargs if type(a) is ast.Kwarg else args).append(a)
    return args, kwargs


def _str(label) -> str | None:
    """The (first) name of a label."""
    return None if not label else str(label[0])


_transformer = _ToAst()
_lock = threading.Lock()


@lru_cache(maxsize=1)
def parser() -> Lark:
    """Lark's parser of the grammar: for text with syntax errors (its exceptions
    carry what was expected) and for a grammar newer than the tables."""
    from lark import Lark

    from archdsl.frontend.lalr_build import LARK_OPTIONS
    # cache=True stores the LALR tables in the temp dir, so that table generation
    # is paid once per grammar, not on every error.
    return Lark(grammar_text(), **LARK_OPTIONS, transformer=_transformer, cache=True)


@lru_cache(maxsize=1)
def fast_parser():
    """The Lark-free parser over the generated tables, or None when they were
    generated from another grammar than the one installed (or a rule of it has
    no callback here yet: Lark then builds a tree for it, as it always did)."""
    from archdsl.frontend import lalr
    if lalr.GRAMMAR != grammar_text():
        return None
    try:
        return lalr.Parser(_transformer)
    except LookupError:
        return None


def normalise(text: str) -> str:
    """Drop a BOM and turn CRLF/CR into LF; columns stay as the user sees them."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str, name: str = "<string>") -> ast.Program:
    """Parse one file's text. Raises ArchError on a syntax error."""
    source = SourceFile(name, normalise(text))
    with _lock:  # the inline transformer holds the file being parsed
        _transformer.source = source
        fast = fast_parser()
        if fast is not None:
            from archdsl.frontend.lalr import Fallback
            try:
                return fast.parse(source.text)
            except (Fallback, ArchError):
                pass  # not well-formed: Lark parses it again and says why
        return _parse_with_lark(source)


def _parse_with_lark(source: SourceFile) -> ast.Program:
    """Parse with Lark, collecting the syntax errors of independent lines."""
    from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken

    from archdsl.frontend.syntax_errors import syntax_diagnostic
    parser_ = parser()
    diagnostics: list[Diagnostic] = []
    attempt = source.text
    while True:
        try:
            program = parser_.parse(attempt)
            break
        except UnexpectedInput as exc:
            diagnostics.append(syntax_diagnostic(exc, source, parser_))
            at_end = isinstance(exc, UnexpectedEOF) or (
                isinstance(exc, UnexpectedToken) and exc.token.type == "$END")
        if at_end or len(diagnostics) >= MAX_SYNTAX_ERRORS or not braces_sound(source.text):
            # Past the end, or with braces out of balance, every further
            # error would be a consequence of this one.
            break
        attempt = _without_line(attempt, diagnostics[-1].line)
        if attempt is None:
            break
    if diagnostics:
        raise ArchError(diagnostics)
    return program



def _without_line(text: str, line: int) -> str | None:
    """The text with one line blanked, to look for further, independent syntax
    errors; None when that could invent errors (the line holds a brace or a
    continuation, or sits at the top level) or there is nothing left to try."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    code = lines[line - 1].split("#", 1)[0]
    if "{" in code or "}" in code or "\\" in lines[line - 1] or not code.strip():
        return None  # braces or a continuation tie the line to its neighbours
    start = sum(len(x) + 1 for x in lines[: line - 1])
    depth = sum(1 if kind == "{" else -1 for kind, _ in braces(text, start))
    if depth <= 0:
        return None  # at the top level one stray line is usually followed by more
    lines[line - 1] = " " * len(lines[line - 1])  # columns elsewhere stay as they were
    return "\n".join(lines)


