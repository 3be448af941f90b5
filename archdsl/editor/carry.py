"""While a buffer has an error, the last good analysis stays visible where it
is still valid.

The lines of the last good text are matched to the current text (a line
diff, so it works from full texts as well as from incremental edits). A
shape stays valid when its line is unchanged and nothing it depends on
changed: an edit in a network invalidates that network from the edit on; an
edit in a block invalidates the block from the edit on and every other
definition (any of them may call it); an edit outside any definition (`use`,
top-level `defaults`) invalidates everything."""
from __future__ import annotations

from dataclasses import replace
from difflib import SequenceMatcher

from archdsl.editor.analysis import Hint, Snapshot
from archdsl.records import dataclass

STALE = "from the last analysis without errors"


@dataclass(slots=True)
class _Item:
    kind: str  # network | block
    start: int  # 0-based lines, inclusive
    end: int


class Carry:
    """Maps the last good snapshot onto the current text."""

    def __init__(self, good: Snapshot, text: str):
        self.good = good
        old, new = good.text.split("\n"), text.split("\n")
        self.to_new: dict[int, int] = {}
        self.to_old: dict[int, int] = {}
        dirty: list[int] = []
        for tag, i1, i2, j1, _j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    self.to_new[i1 + k] = j1 + k
                    self.to_old[j1 + k] = i1 + k
            else:
                dirty.extend(range(i1, max(i2, i1 + 1)))
        program = good.program
        self.items = [] if program is None else sorted(
            [_Item("network", n.span.line - 1, n.span.end_line - 1) for n in program.networks]
            + [_Item("block", b.span.line - 1, b.span.end_line - 1) for b in program.blocks],
            key=lambda it: it.start)
        self._invalid = [self._damage(d) for d in dirty]

    def _item(self, line: int) -> _Item | None:
        return next((it for it in self.items if it.start <= line <= it.end), None)

    def _damage(self, line: int):
        """What an edit at old `line` invalidates: a predicate on old lines."""
        item = self._item(line)
        if item is None:
            return lambda _old: True
        if item.kind == "network":
            return lambda old: item.start <= old <= item.end and old >= line
        # A block: itself from the edit on, and every other line (any definition may call it).
        return lambda old: not item.start <= old <= item.end or old >= line

    def valid(self, old: int) -> bool:
        return old in self.to_new and not any(hit(old) for hit in self._invalid)

    def hints(self) -> list[Hint]:
        """The last good hints that still hold, moved to their current lines."""
        out = []
        for h in self.good.hints:
            if self.valid(h.line):
                out.append(replace(h, line=self.to_new[h.line], tooltip=f"{h.tooltip} ({STALE})"))
        return out

    def old_line(self, new: int) -> int | None:
        """The line of the good snapshot a current line shows, if it is still valid."""
        old = self.to_old.get(new)
        return old if old is not None and self.valid(old) else None
