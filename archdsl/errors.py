"""Diagnostics and the one exception type every user mistake raises.

A diagnostic holds structured fields (position, message, arithmetic notes,
hint); rendering it as compiler-style text with the quoted line and a caret
is done here, colour is added only by the CLI.
"""
from __future__ import annotations

from archdsl.records import dataclass, field
from archdsl.source import SourceFile, Span

QUOTE_WIDTH = 100  # columns of a long line quoted around the caret


@dataclass(frozen=True, slots=True)
class Fix:
    """A machine-applicable hint: replace the text of `span` by `text`
    (an editor offers it as a quick fix; tests apply it and check again)."""

    span: Span
    text: str

    def to_dict(self) -> dict:
        s = self.span
        return {"line": s.line, "col": s.col, "end_line": s.end_line, "end_col": s.end_col, "text": self.text}


@dataclass(slots=True)
class Diagnostic:
    """One error or warning, pointing at a span of a source file. A warning
    has a `code` (`not-whole`) that `# archdsl: allow CODE` on its line silences."""

    severity: str  # "error" | "warning"
    message: str
    span: Span | None = None
    notes: list[str] = field(default_factory=list)
    hint: str | None = None
    fix: Fix | None = None
    code: str | None = None

    @property
    def line(self) -> int:
        return self.span.line if self.span else 0

    @property
    def col(self) -> int:
        return self.span.col if self.span else 0

    def format(self) -> str:
        return format_diagnostic(self)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "message": self.message,
            "file": self.span.file if self.span else None,
            "line": self.line,
            "col": self.col,
            "notes": list(self.notes),
            "hint": self.hint,
            "code": self.code,
            "fix": self.fix.to_dict() if self.fix else None,
        }


class ArchError(Exception):
    """Every mistake in a spec. `diagnostics` holds all independent errors found
    in one run; `line`, `col` and `file` are those of the first."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__(self.format())

    @property
    def first(self) -> Diagnostic:
        """The first error (warnings found on the way may precede it)."""
        return next((d for d in self.diagnostics if d.severity == "error"), self.diagnostics[0])

    @property
    def line(self) -> int:
        return self.first.line

    @property
    def col(self) -> int:
        return self.first.col

    @property
    def file(self) -> str | None:
        return self.first.span.file if self.first.span else None

    @property
    def message(self) -> str:
        return self.first.message

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class UsageError(Exception):
    """A mistake in how the tool was called (bad flag value, missing file); exit code 2."""


class OptionError(ArchError):
    """An option given next to the spec (a network name, an input shape) that the
    spec cannot honour. The API raises it like any ArchError; the CLI reports it
    as a usage error (exit 2), since the spec itself is fine."""


def format_diagnostic(d: Diagnostic) -> str:
    if d.span is None:
        head = f"{d.severity}: {d.message}"
    else:
        head = f"{d.span}: {d.severity}: {d.message}"
    lines = [head]
    quoted = d.span is not None and d.span.source is not None
    if quoted:
        lines.extend(_quote(d.span.source, d.span))
    gutter = " " * (len(str(d.span.line)) + 1) if quoted else " "
    for note in d.notes:
        lines.append(f"{gutter} = {note}")
    if d.hint:
        lines.append(f"hint: {d.hint}")
    return "\n".join(lines)


def _quote(source: SourceFile, span: Span) -> list[str]:
    raw = source.line(span.line)
    # Tabs are expanded in the quote and the caret alike so they stay aligned.
    text = raw.expandtabs(4)
    start = len(raw[: span.col - 1].expandtabs(4))
    if span.end_line == span.line:
        end = len(raw[: max(span.end_col - 1, span.col)].expandtabs(4))
    else:
        end = len(text.rstrip())
    width = max(end - start, 1)
    text = text.rstrip()
    # Quote at most a window of the line: a minified spec must not flood the terminal.
    if len(text) > QUOTE_WIDTH:
        width = min(width, QUOTE_WIDTH // 2)
        left = max(0, min(start - QUOTE_WIDTH // 4, len(text) - QUOTE_WIDTH))
        right = left + QUOTE_WIDTH
        prefix = "..." if left > 0 else ""
        suffix = "..." if right < len(text) else ""
        text = prefix + text[left:right] + suffix
        start = start - left + len(prefix)
    number = str(span.line)
    pad = " " * len(number)
    return [f" {number} | {text}", f" {pad} | {' ' * start}{'^' * width}"]

