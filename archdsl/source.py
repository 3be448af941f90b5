"""Source text and positions: where every diagnostic points."""
from __future__ import annotations

from archdsl.records import dataclass, field


@dataclass(slots=True, unsafe_hash=True)
class Span:
    """A region of a source file; lines and columns are 1-based, `end_col` exclusive.
    `source` lets a diagnostic quote the line without a lookup table.

    Treated as immutable (nothing assigns to a span; equal spans hash alike) but
    not declared frozen: a frozen class's `__init__` sets each field through
    `object.__setattr__`, five times the cost, and parsing makes a span per token."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    source: SourceFile | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def text(self) -> str | None:
        """The source text of a one-line span (None across lines or without the source)."""
        if self.source is None or self.end_line != self.line:
            return None
        return self.source.line(self.line)[self.col - 1: self.end_col - 1]


class SourceFile:
    """The text of one spec, kept so diagnostics can quote the offending line."""

    __slots__ = ("name", "text", "_lines")

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self._lines: list[str] | None = None

    def line(self, number: int) -> str:
        if self._lines is None:
            self._lines = self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""

    def span(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> Span:
        return Span(self.name, line, col, end_line or line, end_col or col + 1, self)
