"""Braces in spec text, outside comments and strings: the scanner syntax-error
recovery and wording share (which brace is open, which one was closed where)."""
from __future__ import annotations

from archdsl.records import dataclass


def braces(text: str, end: int | None = None):
    """Walk the braces of `text[:end]` outside comments and strings.
    Yields (kind, offset) with kind '{' or '}'."""
    i, n = 0, len(text) if end is None else min(end, len(text))
    while i < n:
        ch = text[i]
        if ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif ch == '"':
            j = text.find('"', i + 1)
            k = text.find("\n", i + 1)
            i = n if j < 0 else (j + 1 if k < 0 or j < k else k)
        else:
            if ch in "{}":
                yield ch, i
            i += 1


def braces_sound(text: str) -> bool:
    """Braces balance and every '}' lines up with its '{' (so a syntax error
    is local to its line, and looking past it finds independent errors)."""
    scan = mismatched(text)
    return not scan.open and scan.suspect is None and not scan.stray


def position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def opener(text: str, offset: int) -> str:
    """The words before a '{' on its line: `repeat 2 {`, `network N {`."""
    start = text.rfind("\n", 0, offset) + 1
    head = text[start:offset].split("}")[-1].strip()
    return f"{head} {{" if head else "{"


def indent(text: str, offset: int) -> tuple[int, bool]:
    """Indentation of the line holding `offset`, and whether the brace starts that line."""
    start = text.rfind("\n", 0, offset) + 1
    line = text[start:offset]
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip()), not line.strip()


@dataclass(frozen=True, slots=True)
class Scan:
    """What one pass over the braces found."""

    open: list[int]  # offsets of the '{' still open, outermost first
    suspect: tuple[int, int] | None  # the first ('{', '}') pair indented unlike each other
    stray: bool  # a '}' with nothing open


def mismatched(text: str, end: int | None = None) -> Scan:
    """Scan the braces of `text[:end]` once: the braces still open, a '}' that
    closes nothing, and the first pair whose '}' starts its line at another
    indentation than the line of its '{' (people line a '}' up with the line
    that opened it: such a pair usually means an inner '{' lost its '}' and this
    '}' closes the wrong one)."""
    stack, suspect, stray = [], None, False
    for kind, offset in braces(text, end):
        if kind == "{":
            stack.append(offset)
        elif stack:
            opened = stack.pop()
            close_indent, alone = indent(text, offset)
            if suspect is None and alone and close_indent != indent(text, opened)[0]:
                suspect = (opened, offset)
        else:
            stray = True
    return Scan(stack, suspect, stray)


def last_top_level_close(text: str, end: int):
    """Where the last top-level item before `end` was closed: ((line, col), opener, alone)."""
    stack, last = [], None
    for kind, offset in braces(text, end):
        if kind == "{":
            stack.append(offset)
        elif stack:
            opened = stack.pop()
            if not stack:
                last = (opened, offset)
    if last is None:
        return None
    opened, closed = last
    return position(text, closed), opener(text, opened), indent(text, closed)[1]


def innermost_open(text: str, end: int) -> int | None:
    """The offset of the innermost '{' still open at `end`, or None."""
    stack = []
    for kind, offset in braces(text, end):
        if kind == "{":
            stack.append(offset)
        elif stack:
            stack.pop()
    return stack[-1] if stack else None
