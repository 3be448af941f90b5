"""Text -> syntax tree. Lark (LALR) does the parsing; this module shapes its
output into `syntax` nodes with spans and turns Lark's errors into diagnostics
written in the words a person typed."""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import syntax as ast
from .errors import ArchError, Diagnostic
from .source import SourceFile, Span

GRAMMAR_PATH = Path(__file__).with_name("grammars") / "archdsl.lark"
MAX_DIGITS = 30

# What a person calls the grammar's regex terminals.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "CALLNAME": "a block call",
    "INT": "an integer",
    "FLOAT": "a number",
    "DIMS": "a size like 3x224x224",
    "STRING": 'a quoted path ("...")',
    "_SEP": "end of line or ';'",
    "ALWAYS": "'always'",
    "$END": "end of file",
}


class _Body(list):
    """Statements of a `{ ... }` with the span of its braces."""

    span: Span


class _ToAst(Transformer):
    """Builds syntax nodes while Lark parses (an inline transformer: no parse
    tree, which halves parsing time). Lark gives inline callbacks no position
    metadata, so every token is kept and spans run from the first child to the
    last one."""

    source: SourceFile

    def _tok(self, tok: Token) -> Span:
        return Span(self.source.name, tok.line, tok.column, tok.end_line, tok.end_column, self.source)

    def _span(self, children) -> Span:
        items = [c for c in children if c is not None and not (isinstance(c, Token) and c.type == "_SEP")]
        first, last = _start_of(items[0]), _end_of(items[-1])
        return Span(self.source.name, first[0], first[1], last[0], last[1], self.source)

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
        return ast.Num(float(tok), self._tok(tok))

    def dims(self, children):
        (tok,) = children
        return ast.Dims(tuple(self._integer(v, tok) for v in tok.split("x")), self._tok(tok))

    def name(self, children):
        (tok,) = children
        return ast.Name(str(tok), self._tok(tok))

    def string(self, children):
        (tok,) = children
        return ast.Str(str(tok)[1:-1], self._tok(tok))

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
        return children[0]

    def layer(self, children):
        label, op, *rest = children
        args, kwargs = _split_args(rest)
        return ast.Layer(_str(label), str(op), self._tok(op), args, kwargs, self._span(children))

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

    def concat(self, children):
        return ast.Merge("concat", _str(children[0]), children[-1], self._span(children))

    def add(self, children):
        return ast.Merge("add", _str(children[0]), children[-1], self._span(children))

    def shortcut(self, children):
        _kw, always, body = children
        return (always is not None, list(body), self._span(children))

    def residual(self, children):
        label, _kw, body, shortcut = children
        span = self._span(children)
        if shortcut is None:
            return ast.Residual(_str(label), list(body), None, False, span)
        always, sc_body, sc_span = shortcut
        return ast.Residual(_str(label), list(body), sc_body, always, span, sc_span)

    # top level
    def use(self, children):
        return ast.Use(str(children[1])[1:-1], self._span(children))

    def param(self, children):
        name, default = children[0], (children[2] if len(children) > 2 else None)
        return ast.Param(str(name), default, self._span(children))

    def block(self, children):
        name, body = children[1], children[-1]
        params = [c for c in children if isinstance(c, ast.Param)]
        return ast.BlockDef(str(name), params, list(body), self._span(children), self._tok(name))

    def network(self, children):
        name, body = children[1], children[-1]
        return ast.NetworkDef(str(name), list(body), self._span(children), self._tok(name))

    def start(self, children):
        program = ast.Program(self.source)
        for item in children:
            if isinstance(item, ast.Use):
                program.uses.append(item)
            elif isinstance(item, ast.BlockDef):
                program.blocks.append(item)
            elif isinstance(item, ast.NetworkDef):
                program.networks.append(item)
        return program


def _start_of(item):
    if isinstance(item, Token):
        return item.line, item.column
    if isinstance(item, tuple):  # a shortcut: (always, body, span)
        item = item[2]
        return item.line, item.col
    span = item.span
    return span.line, span.col


def _end_of(item):
    if isinstance(item, Token):
        return item.end_line, item.end_column
    span = item[2] if isinstance(item, tuple) else item.span
    return span.end_line, span.end_col


def _nodes(children):
    return [c for c in children if c is not None and not isinstance(c, Token)]


def _split_args(items):
    items = _nodes(items)
    return ([a for a in items if not isinstance(a, ast.Kwarg)],
            [a for a in items if isinstance(a, ast.Kwarg)])


def _str(tok) -> str | None:
    return None if tok is None else str(tok)


_transformer = _ToAst()
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # cache=True stores the LALR tables in the temp dir: start-up is what
    # makes `archdsl check` feel instant, and table generation dominates it.
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        maybe_placeholders=True,
        transformer=_transformer,
        cache=True,
    )


def normalise(text: str) -> str:
    """Drop a BOM and turn CRLF/CR into LF; columns stay as the user sees them."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str, name: str = "<string>") -> ast.Program:
    """Parse one file's text. Raises ArchError on a syntax error."""
    source = SourceFile(name, normalise(text))
    parser = _parser()
    with _lock:  # the inline transformer holds the file being parsed
        _transformer.source = source
        try:
            return parser.parse(source.text)
        except UnexpectedInput as exc:
            raise ArchError(_syntax_diagnostic(exc, source, parser)) from None


def _describe_terminal(parser: Lark, name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def _token_text(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "_SEP":
        return "end of line" if "\n" in tok or tok.startswith("#") else "';'"
    return f"'{tok}'"


def _syntax_diagnostic(exc: UnexpectedInput, source: SourceFile, parser: Lark) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        ch = source.text[exc.pos_in_stream] if exc.pos_in_stream < len(source.text) else "?"
        span = source.span(exc.line, exc.column)
        hint = None
        if ch == "'":
            hint = 'paths are written in double quotes: use "blocks.arch"'
        return Diagnostic("error", f"unexpected character {ch!r}", span, hint=hint)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        tok = exc.token
        span = Span(source.name, tok.line, tok.column, tok.end_line or tok.line,
                    tok.end_column or tok.column + 1, source)
        if tok.type == "_SEP" and tok.startswith("\n"):
            # Point at the end of the line, not the start of the next one.
            span = Span(source.name, tok.line, tok.column, tok.line, tok.column + 1, source)
        expected = _expected_words(parser, exc.expected)
        found = _token_text(tok)
        prefix = source.line(tok.line)[: tok.column - 1]
        if str(tok) == "{" and prefix.split() in (["shortcut"], ["shortcut", "always"]):
            # `}` then `shortcut {` on the next line: the newline ended the residual.
            start = prefix.index("shortcut") + 1
            return Diagnostic("error", "`shortcut` must follow the residual's closing brace on the same line",
                              source.span(tok.line, start, tok.line, start + len("shortcut")),
                              hint="write `} shortcut {` on the line that closes `residual { ... }`")
        # After a stray '=' the list of what could follow is noise; the hint says it.
        notes = [] if str(tok) == "=" else [f"expected {_join(expected)}"]
        return Diagnostic("error", f"unexpected {found}", span, notes=notes,
                          hint=_hint_for(tok, exc.expected))
    # End of input: point at the last character.
    text = source.text.rstrip()
    line = text.count("\n") + 1
    col = len(text) - (text.rfind("\n") + 1)
    expected = sorted({_describe_terminal(parser, t) for t in getattr(exc, "expected", ()) or ()})
    notes = [f"expected {_join(expected)}"] if expected else []
    hint = "a '{' is not closed" if "'}'" in expected else None
    return Diagnostic("error", "unexpected end of file", source.span(line, max(col, 1)),
                      notes=notes, hint=hint)


def _hint_for(tok: Token, expected: set[str]) -> str | None:
    if str(tok) == "shortcut":
        return "write `} shortcut {` on the same line as the closing brace of `residual`"
    if str(tok) == "branch":
        return "`branch { ... }` goes directly inside `concat { }` or `add { }`"
    if tok.type == "CALLNAME":
        return None
    if str(tok) == "=":
        return "'=' goes right after a parameter name, as in k=3 or s=2"
    if str(tok) == "{":
        return "only network, block, repeat, concat, add, branch, residual and shortcut open a '{'"
    return None


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "__ANON_0", "__ANON_1"}


def _expected_words(parser: Lark, terminals) -> list[str]:
    """What was expected, in a person's words; arithmetic operators fold into one entry
    (nobody forgot a '%': they are listed only because an expression may go on)."""
    words = {_describe_terminal(parser, t) for t in terminals}
    ops = {w for w in words if w in ("'+'", "'-'", "'*'", "'/'", "'//'", "'%'")}
    if len(ops) > 1:
        words = (words - ops) | {"an operator"}
    return sorted(words)


def _join(words: list[str]) -> str:
    if len(words) > 8:
        words = words[:8] + ["..."]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]
