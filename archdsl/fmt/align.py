"""Lines -> text: tables where the author lined statements up, one column
for trailing comments, and the blank-line rules.

Trailing comments always align, at one column for the whole file: the first
multiple of 4 at least two past the longest commented line (lines longer
than `MAX_COMMENT_COLUMN` keep their comment two spaces after the code).

Tables are kept, never invented. Within a run of rows (consecutive one-line
statements; comment lines do not break a run, blank lines and multi-line
statements do), the author's alignment is recognised by its columns:

- labels: rows whose statement started at the same column, one of them with
  its label padded, have their labels padded to the widest (`b1:  Conv(..)`,
  `b10: Conv(..)`);
- chains: rows whose k-th `;`-chained statement started at the same column,
  one of them after a padded `;`, have it start at one column again;
- call arguments: calls of one block with the same keywords, one of them
  with padded arguments, become a table (numbers right-aligned).

Once aligned, a table is recognised again by the same columns, so the
layout is a fixed point: formatting formatted text changes nothing."""
from __future__ import annotations

from collections import defaultdict

from archdsl.fmt.printer import BLANK, CODE, COMMENT, ROW, Cell, Line

COMMENT_STEP = 4
MAX_COMMENT_COLUMN = 72
COMMENT_GAP = 2


def render(lines: list[Line]) -> str:
    """The formatted text of a file."""
    lines = _tidy_blanks(lines)
    for run in _runs(lines):
        if len(run) > 1:
            _align_calls(run)
            _align_labels(run)
        for row, text in zip(run, _chain_texts(run), strict=True):
            row.text = text
    column = _comment_column(lines)
    out = []
    for line in lines:
        if line.kind == BLANK:
            out.append("")
        elif line.kind == COMMENT:
            out.append(" " * line.indent + line.comment)
        else:
            code = " " * line.indent + line.text
            if line.comment is not None:
                width = len(code)
                code += " " * (column - width if width + COMMENT_GAP <= column else COMMENT_GAP) + line.comment
            out.append(code.rstrip())
    return "\n".join(out) + "\n" if out else ""


def _tidy_blanks(lines: list[Line]) -> list[Line]:
    """At most one blank line in a row, none at either end of a body or the file."""
    kept: list[Line] = []
    for i, line in enumerate(lines):
        if line.kind != BLANK:
            kept.append(line)
            continue
        after = next((x for x in lines[i + 1:] if x.kind != BLANK), None)
        if not kept or kept[-1].kind == BLANK or after is None:
            continue
        if _opens(kept[-1]) or (after.kind in (CODE, ROW) and _closes(after)):
            continue
        kept.append(line)
    return kept


def _opens(line: Line) -> bool:
    return line.kind == CODE and line.text.endswith("{")


def _closes(line: Line) -> bool:
    return line.kind == CODE and line.text.startswith("}")


def _runs(lines: list[Line]) -> list[list[Line]]:
    by_run: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        if line.kind == ROW:
            by_run[line.run].append(line)
    return list(by_run.values())


def _align_calls(rows: list[Line]) -> None:
    groups: dict[tuple, list[Cell]] = defaultdict(list)
    for row in rows:
        if len(row.cells) == 1 and row.cells[0].call is not None:
            groups[row.cells[0].call.key].append(row.cells[0])
    for cells in groups.values():
        if len(cells) < 2 or not any(c.call.padded for c in cells):
            continue
        columns = list(zip(*(c.call.args for c in cells), strict=True))
        widths = [max(len(text) for text, _ in col) for col in columns]
        right = [all(number for _, number in col) for col in columns]
        for cell in cells:
            cell.body = cell.call.head + _table_args(cell.call.args, widths, right) + ")"


def _table_args(args: list[tuple[str, bool]], widths: list[int], right: list[bool]) -> str:
    """Arguments in columns: numbers right-aligned, the rest left-aligned."""
    out = ""
    for i, (text, _number) in enumerate(args):
        out += text.rjust(widths[i]) if right[i] else text
        if i < len(args) - 1:
            out += ", " + ("" if right[i] else " " * (widths[i] - len(text)))
    return out


def _align_labels(rows: list[Line]) -> None:
    groups: dict[int, list[Cell]] = defaultdict(list)
    for row in rows:
        first = row.cells[0]
        if first.label is not None:
            groups[first.body_col].append(first)
    for cells in groups.values():
        if any(c.label_padded for c in cells):
            width = max(len(c.label) for c in cells)
            for c in cells:
                c.label = c.label.ljust(width)


def _cell_text(cell: Cell) -> str:
    return f"{cell.label} {cell.body}" if cell.label is not None else cell.body


def _chain_texts(rows: list[Line]) -> list[str]:
    """Each row's text, chained statements lined up where the author did."""
    texts = [_cell_text(r.cells[0]) for r in rows]
    for k in range(1, max(len(r.cells) for r in rows)):
        groups: dict[int, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            if len(r.cells) > k:
                groups[r.cells[k].start_col].append(i)
        for members in groups.values():
            semis = all(rows[i].joiner == "; " for i in members)
            aligned = semis and len(members) > 1 and any(rows[i].cells[k].sep_padded for i in members)
            width = max(len(texts[i]) + 1 for i in members) if aligned else 0
            for i in members:
                head = texts[i] + rows[i].joiner.rstrip()
                texts[i] = head.ljust(width) + " " + _cell_text(rows[i].cells[k])
    return texts


def _comment_column(lines: list[Line]) -> int:
    widths = [line.indent + len(line.text) for line in lines
              if line.kind in (CODE, ROW) and line.comment is not None]
    fitting = [w for w in widths if w + COMMENT_GAP <= MAX_COMMENT_COLUMN]
    if not fitting:
        return 0
    need = max(fitting) + COMMENT_GAP
    return min(-(-need // COMMENT_STEP) * COMMENT_STEP, MAX_COMMENT_COLUMN)
