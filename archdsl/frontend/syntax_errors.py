"""Lark's syntax errors -> diagnostics in the words a person typed: what was
expected ("a layer, a block call or '}'"), and hints for the usual slips
(keyword typos, commas, parentheses, which brace is left open)."""
from __future__ import annotations

import difflib
import re

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from archdsl.core.ops import MERGES
from archdsl.errors import Diagnostic, Fix
from archdsl.frontend.braces import indent, innermost_open, last_top_level_close, mismatched, opener, position
from archdsl.frontend.grammar import keywords
from archdsl.source import SourceFile, Span
from archdsl.text import join_words

# What a person calls the grammar's regex terminals.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "CALLNAME": "a block call",
    "INT": "an integer",
    "FLOAT": "a number",
    "DIMS": "a size like 3x224x224",
    "STRING": 'a quoted path ("...")',
    "_SEP": "end of line",
    "ALWAYS": "'always'",
    "REF": "a tensor like @e4",
    "COMPARE": "a comparison",
    "$END": "end of file",
}


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


def syntax_diagnostic(exc: UnexpectedInput, source: SourceFile, parser: Lark) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(exc, source)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        return _unexpected_token(exc, source, parser)
    return _unexpected_end(exc, source, parser)


def _bad_character(exc: UnexpectedCharacters, source: SourceFile) -> Diagnostic:
    ch = source.text[exc.pos_in_stream] if exc.pos_in_stream < len(source.text) else "?"
    span = source.span(exc.line, exc.column)
    # Show the character as typed; repr only for quotes and invisible ones.
    shown = f"'{ch}'" if ch.isprintable() and ch not in "'\"" else repr(ch)
    hint = None
    if ch == "'":
        hint = 'paths are written in double quotes: use "blocks.arch"'
    elif ch == "\\":
        rest = source.line(exc.line)[exc.column:].strip()
        hint = "a line continuation `\\` must end the line"
        if rest.startswith("#"):
            hint += "; move the comment to a line of its own"
    elif ch == "[":
        return _brackets(source, exc.line, exc.column, shown)
    return Diagnostic("error", f"unexpected character {shown}", span, hint=hint)


def _brackets(source: SourceFile, line: int, col: int, shown: str) -> Diagnostic:
    """`k=[3,3]`, `s=[2, 2]`: a Python or Keras list where archdsl writes a size (3x3)."""
    text = source.line(line)
    close = text.find("]", col)
    inside = text[col:close] if close >= 0 else ""
    key = re.search(r"([A-Za-z_]\w*)\s*=\s*$", text[: col - 1])
    values = [v for v in re.split(r"[,\s]+", inside.strip()) if v]
    span = source.span(line, col)
    if close < 0 or not values or not all(v.isdigit() for v in values):
        return Diagnostic("error", f"unexpected character {shown}", span,
                          hint="archdsl has no lists: sizes are written 3x3, per-axis values (1, c)")
    size = "x".join(values)
    name = f"{key.group(1)}=" if key else ""
    same = f" (or {name}{values[0]}, the same on every axis)" if len(values) > 1 and len(set(values)) == 1 else ""
    return Diagnostic("error", f"unexpected character {shown}", source.span(line, col, line, close + 2),
                      hint=f"sizes are written without brackets: {name}{size}{same}",
                      fix=Fix(source.span(line, col, line, close + 2), size))


def _unexpected_token(exc: UnexpectedToken, source: SourceFile, parser: Lark) -> Diagnostic:
    tok = exc.token
    span = Span(source.name, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + 1, source)
    if tok.type == "_SEP" and tok.startswith("\n"):
        # Point at the end of the line, not the start of the next one.
        span = Span(source.name, tok.line, tok.column, tok.line, tok.column + 1, source)
    found = _token_text(tok)
    line_text = source.line(tok.line)
    prefix = line_text[: tok.column - 1]
    words = prefix.split()
    if str(tok) == "{" and words in (["shortcut"], ["shortcut", "always"]):
        return _shortcut_on_next_line(source, tok.line, prefix)
    if str(tok) == "{" and words[:1] in (["network"], ["block"]):
        inside = _definition_inside_open(tok, prefix, source)
        if inside is not None:
            return inside
    misspelt = _misspelt_keyword(tok, prefix, source) or _misspelt_opener(tok, exc.expected, source)
    if misspelt is not None:
        return misspelt
    # After a stray '=' the list of what could follow is noise; the hint says it.
    notes = [] if str(tok) == "=" else [f"expected {_join(_expected_words(parser, exc.expected))}"]
    hint = (_hint_for(tok, exc.expected)
            or _layer_hint(tok, prefix, line_text)
            or _header_hint(tok, words, exc.expected)
            or _top_level_hint(tok, exc.expected, source)
            or _misplaced_close_hint(source, tok.start_pos))
    return Diagnostic("error", f"unexpected {found}", span, notes=notes, hint=hint)


def _unexpected_end(exc: UnexpectedInput, source: SourceFile, parser: Lark) -> Diagnostic:
    # End of input: point at the last character.
    text = source.text.rstrip()
    line = text.count("\n") + 1
    col = len(text) - (text.rfind("\n") + 1)
    expected = _expected_words(parser, getattr(exc, "expected", ()) or ())
    notes = [f"expected {_join(expected)}"] if expected else []
    hint = None
    unclosed = _unclosed_brace(source)
    if unclosed is not None:
        (b_line, b_col), opener = unclosed
        hint = f"the '{{' of `{opener}` at line {b_line}:{b_col} is never closed"
    elif "'}'" in expected:
        hint = "a '{' is not closed"
    return Diagnostic("error", "unexpected end of file", source.span(line, max(col, 1)),
                      notes=notes, hint=hint)


# -- hints --------------------------------------------------------------------------

# Keywords that open no '{' (the rest of the grammar's keywords do).
_INLINE_KEYWORDS = frozenset({"use", "always", "layout", "optional", "and", "or", "not"})




def structure_words() -> tuple[str, ...]:
    """Words that open a '{': the grammar's structural keywords and the merges."""
    return tuple(k for k in keywords() if k not in _INLINE_KEYWORDS) + tuple(MERGES)


def _close_keyword(word: str, choices=None) -> str | None:
    choices = keywords() + tuple(MERGES) if choices is None else choices
    if word in choices or len(word) < 3:
        return None
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.7)
    return close[0] if close else None


def _misspelt_keyword(tok: Token, prefix: str, source: SourceFile) -> Diagnostic | None:
    """`residul { ... }`, `networ N {`, `brnch { }`: a keyword with a typo."""
    if tok.type in ("NAME", "CALLNAME"):
        # The typo itself is the unexpected token (top level, or inside concat { }).
        close = _close_keyword(str(tok))
        if close is None:
            return None
        span = Span(source.name, tok.line, tok.column, tok.line, tok.column + len(tok), source)
        return Diagnostic("error", f"unknown keyword '{tok}'", span, hint=f"did you mean '{close}'?",
                          fix=Fix(span, close))
    if str(tok) != "{":
        return None
    # `residul {` parses as a layer named residul until the '{': blame the word.
    stmt = prefix.split(":", 1)[1] if re.match(r"\s*[A-Za-z_]\w*\s*:", prefix) else prefix
    words = stmt.split()
    if not words:
        return None
    close = _close_keyword(words[0], structure_words())
    if close is None:
        return None
    col = len(prefix) - len(stmt) + stmt.index(words[0]) + 1
    span = source.span(tok.line, col, tok.line, col + len(words[0]))
    return Diagnostic("error", f"unknown keyword '{words[0]}'", span, hint=f"did you mean '{close}'?",
                      fix=Fix(span, close))


def _shortcut_on_next_line(source: SourceFile, line: int, prefix: str) -> Diagnostic:
    """`}` then `shortcut {` on the next line: the newline ended the residual."""
    start = prefix.index("shortcut") + 1
    return Diagnostic("error", "`shortcut` must follow the residual's closing brace on the same line",
                      source.span(line, start, line, start + len("shortcut")),
                      hint="write `} shortcut {` on the line that closes `residual { ... }`")


def _misspelt_opener(tok: Token, expected, source: SourceFile) -> Diagnostic | None:
    """`residul { conv ... }` parses as a merge named residul, so the error comes
    at the first statement inside; blame the word before the open '{' when it is
    a keyword with a typo (or `shortcut` on the line after the residual)."""
    if "BRANCH" not in expected:
        return None
    offset = innermost_open(source.text, tok.start_pos)
    if offset is None:
        return None
    line, _ = position(source.text, offset)
    start = source.text.rfind("\n", 0, offset) + 1
    head = source.text[start:offset]
    if head.split() in (["shortcut"], ["shortcut", "always"]):
        return _shortcut_on_next_line(source, line, head)
    if head.split()[:1] == ["else"]:
        start = head.index("else") + 1
        return Diagnostic("error", "`else` must follow the if's closing brace on the same line",
                          source.span(line, start, line, start + len("else")),
                          hint="write `} else {` on the line that closes `if ... { ... }`")
    stmt = head.split(":", 1)[1] if re.match(r"\s*[A-Za-z_]\w*\s*:", head) else head
    words = stmt.split()
    if len(words) != 1 or words[0] in MERGES:
        return None
    close = _close_keyword(words[0], tuple(k for k in structure_words() if k not in MERGES))
    if close is None:
        return None
    col = len(head) - len(stmt) + stmt.index(words[0]) + 1
    span = source.span(line, col, line, col + len(words[0]))
    return Diagnostic("error", f"unknown keyword '{words[0]}'", span, hint=f"did you mean '{close}'?",
                      fix=Fix(span, close))


def _hint_for(tok: Token, expected: set[str]) -> str | None:
    if str(tok) == "shortcut":
        return "write `} shortcut {` on the same line as the closing brace of `residual`"
    if str(tok) == "branch":
        return "`branch { ... }` goes directly inside a merge: " + join_words(f"`{m} {{ }}`" for m in MERGES)
    if tok.type == "CALLNAME":
        return None
    if str(tok) == "=":
        return "'=' goes right after a parameter name, as in k=3 or s=2"
    return None


def _layer_hint(tok: Token, prefix: str, line_text: str) -> str | None:
    """Habits from Python and Keras: `conv(16) k=3`, `conv 16, k=3`."""
    from archdsl.core.ops import REGISTRY  # the layer keywords; imported late, parsing needs no ops
    call = re.match(r"\s*(?:[A-Za-z_]\w*\s*:\s*)?([A-Za-z_]\w*)\(([^()]*)\)\s*$", prefix)
    if call and call.group(1) in REGISTRY:
        op, args = call.group(1), call.group(2).replace(",", " ").split()
        rest = line_text[len(prefix):].split("#", 1)[0].split(";", 1)[0].split()
        fixed = " ".join([op, *args, *rest])
        return f"{op} is a layer: write `{fixed}` (no parentheses)"
    if str(tok) == ",":
        stmt = line_text.split("#", 1)[0].split(";", 1)[0]
        head = stmt.split(":", 1)[-1].split()
        if head and head[0] in REGISTRY and "(" not in stmt:
            fixed = " ".join(stmt.strip().replace(",", " ").split())
            return f"layer parameters are separated by spaces, not commas: `{fixed}`"
    return None


def _header_hint(tok: Token, words: list[str], expected) -> str | None:
    if str(tok) == "{" and words == ["network"]:
        return "a network needs a name: network MyNet {"
    if str(tok) == "{" and words == ["block"]:
        return "a block needs a name and parameters: block MyBlock(c) {"
    if str(tok) == "{" and len(words) == 2 and words[0] == "block":
        return f"a block lists its parameters in parentheses: block {words[1]}(c) {{"
    if str(tok) == "{":
        return f"only {join_words(structure_words(), 'and')} open a '{{'"
    return None


def _top_level_hint(tok: Token, expected, source: SourceFile) -> str | None:
    """Something other than block/network/use at the top level: say what closed the last one."""
    if "NETWORK" not in expected:
        return None
    closed = last_top_level_close(source.text, tok.start_pos)
    if closed is not None:
        (c_line, c_col), opener, alone = closed
        if str(tok) == "}":
            return f"nothing is open here: `{opener}` was closed at line {c_line}:{c_col}; remove this '}}'"
        if not alone:
            return (f"`{opener}` was closed by the '}}' at line {c_line}:{c_col}; "
                    "remove it if the network goes on")
        return f"`{opener}` ends at line {c_line}; layers go inside `network Name {{ ... }}`"
    if tok.type in ("NAME", "CALLNAME", "INT", "DIMS"):
        return "wrap layers in `network Name { ... }`"
    return None


# -- braces -------------------------------------------------------------------------

def _unclosed_brace(source: SourceFile):
    """The '{' most likely left open at the end of the file: the one of the first
    mismatched pair, else the innermost one still open."""
    text = source.text
    scan = mismatched(text)
    if not scan.open:
        return None
    offset = scan.suspect[0] if scan.suspect is not None else scan.open[-1]
    return position(text, offset), opener(text, offset)


def _definition_inside_open(tok: Token, prefix: str, source: SourceFile) -> Diagnostic | None:
    """`network B {` (or `block`) while an earlier '{' is still open: the '}' of
    that earlier one is missing. Name it, as the end-of-file case does, and
    where its '}' goes (a fix, when the indentation leaves no doubt)."""
    text = source.text
    scan = mismatched(text, tok.start_pos)
    if not scan.open:
        return None
    col = len(prefix) - len(prefix.lstrip()) + 1
    span = source.span(tok.line, col, tok.line, tok.column + 1)
    header = f"{' '.join(prefix.split())} {{"
    still = [f"`{opener(text, o)}` (line {position(text, o)[0]}:{position(text, o)[1]})" for o in reversed(scan.open)]
    what = "is" if len(still) == 1 else "are"
    notes = [f"`{header}` would be inside {join_words(still, 'and')}, which {what} still open"]
    if scan.suspect is not None:
        return Diagnostic("error", f"a '}}' is missing before `{header}`", span, notes=notes,
                          hint=_misplaced_close_hint(source, tok.start_pos))
    missing = len(scan.open)
    last = _last_code_line(source, tok.line)
    innermost = scan.open[-1]
    (b_line, b_col) = position(text, innermost)
    names = join_words([f"`{opener(text, o)}`" for o in reversed(scan.open)], "and")
    message = f"a '}}' is missing before `{header}`" if missing == 1 else \
        f"{missing} '}}' are missing before `{header}`"
    if last is None:
        return Diagnostic("error", message, span, notes=notes,
                          hint=f"the '{{' of `{opener(text, innermost)}` at line {b_line}:{b_col} is never closed")
    closes = "".join("\n" + " " * indent(text, o)[0] + "}" for o in reversed(scan.open))
    end = len(source.line(last)) + 1
    plural = "its '}'" if missing == 1 else "their '}'"
    hint = (f"the '{{' of `{opener(text, innermost)}` at line {b_line}:{b_col} is never closed: add "
            f"{plural} after line {last}" if missing == 1 else f"close {names}: add {plural} after line {last}")
    return Diagnostic("error", message, span, notes=notes, hint=hint,
                      fix=Fix(source.span(last, end, last, end), closes))


def _last_code_line(source: SourceFile, before: int) -> int | None:
    """The last line before `before` that holds more than blanks and comments."""
    for line in range(before - 1, 0, -1):
        if source.line(line).split("#", 1)[0].strip():
            return line
    return None


def _misplaced_close_hint(source: SourceFile, end: int) -> str | None:
    """Mid-file, a '}' that closed the wrong '{' shows as an odd token further on."""
    text = source.text
    suspect = mismatched(text, end).suspect
    if suspect is None:
        return None
    opened, closed = suspect
    (o_line, o_col), (c_line, c_col) = position(text, opened), position(text, closed)
    return (f"is the '{{' of `{opener(text, opened)}` at line {o_line}:{o_col} closed? "
            f"The '}}' at line {c_line}:{c_col} closes it but is indented differently")


# -- what was expected ----------------------------------------------------------------

_OPERATORS = ("PLUS", "MINUS", "STAR", "SLASH", "FLOORDIV", "PERCENT", "COMPARE", "AND", "OR", "IF")
# What may begin a value: numbers, sizes, names, strings, tensors, '(', '-', `not`, a function.
_VALUES = ("INT", "FLOAT", "DIMS", "STRING", "LPAR", "MINUS", "NAME", "REF", "FLOW", "NOT", "CALLNAME")
# Statement keywords in the order a reader meets them.
_STATEMENT_ORDER = ("repeat", "residual", "if", "from", "defaults")


def _expected_words(parser: Lark, terminals) -> list[str]:
    """What was expected, in a person's words, grouped so the list stays short:
    at the start of a statement 'a layer, a block call, ...'; where a value may
    come, 'a value' stands for numbers, sizes, names, '(' and '-'; arithmetic
    operators fold into one entry. Nothing is cut off."""
    left = set(terminals)
    words: list[str] = []
    if "RESIDUAL" in left:  # only a statement starts with `residual`
        # A layer or merge (both start with a name), a block call, or a statement keyword.
        stated = {t for t in left if _describe_terminal(parser, t).strip("'").isidentifier()}
        words += ["a layer", "a block call", "'repeat'", *(f"'{m}'" for m in MERGES)]
        words += [f"'{k}'" for k in _STATEMENT_ORDER if k.upper() in stated and k != "repeat"]
        left -= {"NAME", "CALLNAME", *stated}
    if left & {"INT", "FLOAT", "DIMS"}:
        words.append("a value")
        left -= set(_VALUES)
    elif "NAME" in left:
        words.append("a name")
        left.discard("NAME")
    ops = left & set(_OPERATORS)
    if len(ops) > 1:
        words.append("an operator")
        left -= ops
    rest = {t: _describe_terminal(parser, t) for t in left}
    tail = ("RBRACE", "_SEP", "$END")  # closing words read best at the end
    words += sorted(w for t, w in rest.items() if t not in tail)
    words += [rest[t] for t in tail if t in rest]
    return words


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]
