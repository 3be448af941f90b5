"""Text -> syntax tree. Lark (LALR) does the parsing; this module shapes its
output into `syntax` nodes with spans and turns Lark's errors into diagnostics
written in the words a person typed."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import syntax as ast
from .errors import ArchError, Diagnostic
from .source import SourceFile, Span

GRAMMAR_PATH = Path(__file__).with_name("grammars") / "archdsl.lark"

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


class _ToAst(Transformer):
    """Builds syntax nodes bottom-up from Lark's parse tree."""

    source: SourceFile

    def _span(self, meta) -> Span:
        return Span(self.source.name, meta.line, meta.column, meta.end_line, meta.end_column, self.source)

    def _tok(self, tok: Token) -> Span:
        return Span(self.source.name, tok.line, tok.column, tok.end_line, tok.end_column, self.source)

    # expressions
    def int(self, children):
        (tok,) = children
        return ast.Num(int(tok), self._tok(tok))

    def float(self, children):
        (tok,) = children
        return ast.Num(float(tok), self._tok(tok))

    def dims(self, children):
        (tok,) = children
        return ast.Dims(tuple(int(v) for v in tok.split("x")), self._tok(tok))

    def name(self, children):
        (tok,) = children
        return ast.Name(str(tok), self._tok(tok))

    def string(self, children):
        (tok,) = children
        return ast.Str(str(tok)[1:-1], self._tok(tok))

    @v_args(meta=True)
    def tuple(self, meta, children):
        return ast.TupleExpr([c for c in children if c is not None], self._span(meta))

    def _binop(op):  # noqa: N805 - a factory evaluated in the class body
        @v_args(meta=True)
        def rule(self, meta, children):
            left, right = children
            return ast.BinOp(op, left, right, self._span(meta))
        return rule

    plus, minus, times = _binop("+"), _binop("-"), _binop("*")
    divide, floordiv, modulo = _binop("/"), _binop("//"), _binop("%")

    @v_args(meta=True)
    def negate(self, meta, children):
        return ast.Neg(children[0], self._span(meta))

    # arguments and statements
    @v_args(meta=True)
    def kwarg(self, meta, children):
        key, value = children
        return ast.Kwarg(str(key), value, self._span(meta), self._tok(key))

    def label(self, children):
        return children[0]

    def _split_args(self, items):
        args = [a for a in items if not isinstance(a, ast.Kwarg) and a is not None]
        kwargs = [a for a in items if isinstance(a, ast.Kwarg)]
        return args, kwargs

    @v_args(meta=True)
    def layer(self, meta, children):
        label, op, *rest = children
        args, kwargs = self._split_args(rest)
        return ast.Layer(_str(label), str(op), self._tok(op), args, kwargs, self._span(meta))

    @v_args(meta=True)
    def call(self, meta, children):
        label, block, *rest = children
        args, kwargs = self._split_args(rest)
        return ast.Call(_str(label), str(block), self._tok(block), args, kwargs, self._span(meta))

    def body(self, children):
        return [c for c in children if c is not None]

    @v_args(meta=True)
    def repeat(self, meta, children):
        label, count, body = children
        return ast.Repeat(_str(label), count, body, self._span(meta))

    def branches(self, children):
        return [c for c in children if c is not None]

    @v_args(meta=True)
    def branch(self, meta, children):
        return ast.Branch(children[0], self._span(meta))

    @v_args(meta=True)
    def concat(self, meta, children):
        return ast.Merge("concat", _str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def add(self, meta, children):
        return ast.Merge("add", _str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def shortcut(self, meta, children):
        always, body = children
        return (always is not None, body, self._span(meta))

    @v_args(meta=True)
    def residual(self, meta, children):
        label, body, shortcut = children
        if shortcut is None:
            return ast.Residual(_str(label), body, None, False, self._span(meta))
        always, sc_body, sc_span = shortcut
        return ast.Residual(_str(label), body, sc_body, always, self._span(meta), sc_span)

    # top level
    @v_args(meta=True)
    def use(self, meta, children):
        return ast.Use(str(children[0])[1:-1], self._span(meta))

    @v_args(meta=True)
    def param(self, meta, children):
        name, default = children
        return ast.Param(str(name), default, self._span(meta))

    @v_args(meta=True)
    def block(self, meta, children):
        name, *params, body = children
        return ast.BlockDef(str(name), [p for p in params if p is not None], body,
                            self._span(meta), self._tok(name))

    @v_args(meta=True)
    def network(self, meta, children):
        name, body = children
        return ast.NetworkDef(str(name), body, self._span(meta), self._tok(name))

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


def _str(tok) -> str | None:
    return None if tok is None else str(tok)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # cache=True stores the LALR tables in the temp dir: start-up is what
    # makes `archdsl check` feel instant, and table generation dominates it.
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
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
    try:
        tree = parser.parse(source.text)
    except UnexpectedInput as exc:
        raise ArchError(_syntax_diagnostic(exc, source, parser)) from None
    transformer = _ToAst()
    transformer.source = source
    return transformer.transform(tree)


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
        expected = sorted({_describe_terminal(parser, t) for t in exc.expected})
        found = _token_text(tok)
        return Diagnostic("error", f"unexpected {found}", span,
                          notes=[f"expected {_join(expected)}"], hint=_hint_for(tok, exc.expected))
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
    if str(tok) == "=" and "NAME" not in expected:
        return "parameters are written key=value, e.g. k=3"
    if str(tok) == "{":
        return "only network, block, repeat, concat, add, branch, residual and shortcut open a '{'"
    return None


def _join(words: list[str]) -> str:
    if len(words) > 8:
        words = words[:8] + ["..."]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]
