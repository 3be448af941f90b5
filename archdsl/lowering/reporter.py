"""The diagnostics of one network's lowering: errors and warnings, placed in
the block use they came from, reported once per mistake, and warnings that
the spec silenced with `# archdsl: allow CODE` kept aside."""
from __future__ import annotations

import re

from archdsl.errors import Diagnostic, Fix
from archdsl.records import dataclass
from archdsl.source import Span

ALLOW = re.compile(r"#\s*archdsl:\s*allow\s+([\w\-, ]+)")
REPEAT_NOTES = 3  # further uses of a block listed under its first error


@dataclass(slots=True)
class Frame:
    """One block instance being lowered: which block, and where it was used."""

    block: str
    call_span: Span | None


class Reporter:
    """Collects diagnostics. `frames` is the stack of block uses lowering is
    inside, which places a diagnostic ("in block B, used at f.arch:7:3") and
    lets a block used ten times the same wrong way be reported once."""

    def __init__(self):
        self.diagnostics: list[Diagnostic] = []
        self.allowed: list[Diagnostic] = []  # warnings silenced by `# archdsl: allow`
        self.frames: list[Frame] = []
        self._warned: set = set()
        self._repeated: dict[tuple, tuple[Diagnostic, int]] = {}

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    @property
    def said(self) -> int:
        """How many diagnostics were recorded, the allowed warnings included."""
        return len(self.diagnostics) + len(self.allowed)

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def call_site(self) -> str | None:
        """The note that places a diagnostic inside a block: where that block was used."""
        if self.frames and self.frames[-1].call_span is not None:
            frame = self.frames[-1]
            return f"in block {frame.block}, used at {frame.call_span}"
        return None

    def error(self, message: str, span: Span | None, notes=(), hint: str | None = None,
              fix: Fix | None = None) -> None:
        notes = list(notes)
        call_site = self.call_site()
        if call_site is None:
            self.diagnostics.append(Diagnostic("error", message, span, notes, hint, fix))
            return
        frame = self.frames[-1]
        key = (span, message, tuple(notes))
        first = self._repeated.get(key)
        if first is not None:
            diagnostic, count = first
            if count < REPEAT_NOTES:
                diagnostic.notes.append(f"the same error in the use at {frame.call_span}")
            elif count == REPEAT_NOTES:
                diagnostic.notes.append("and in further uses")
            self._repeated[key] = (diagnostic, count + 1)
            return
        diagnostic = Diagnostic("error", message, span, [*notes, call_site], hint, fix)
        self._repeated[key] = (diagnostic, 0)
        self.diagnostics.append(diagnostic)

    def warn(self, message: str, span: Span, notes=(), hint: str | None = None, code: str = "lint",
             fix: Fix | None = None) -> None:
        # A block used ten times with the same shapes warns once, at its first use.
        key = (span, message, tuple(notes))
        if key in self._warned:
            return
        self._warned.add(key)
        notes = list(notes)
        call_site = self.call_site()
        if call_site is not None:
            notes.append(call_site)
        diagnostic = Diagnostic("warning", message, span, notes, hint, fix, code=code)
        (self.allowed if self._allows(code, span) else self.diagnostics).append(diagnostic)

    def _allows(self, code: str, span: Span) -> bool:
        """`# archdsl: allow CODE` on the warning's line, or on the line of any
        block use it is inside (the use is what the reader sees)."""
        spans = [span, *(f.call_span for f in self.frames if f.call_span is not None)]
        return any(code in allowed_codes(s) for s in spans)


def allowed_codes(span: Span) -> set[str]:
    """The warning codes a line allows: `conv 64 k=3  # archdsl: allow not-whole`."""
    if span.source is None:
        return set()
    match = ALLOW.search(span.source.line(span.line))
    if match is None:
        return set()
    return {c.strip() for c in re.split(r"[,\s]+", match.group(1)) if c.strip()}
