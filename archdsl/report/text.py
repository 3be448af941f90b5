"""Terminal tables: `text` (plain, aligned, no dependencies) and `table` (rich)."""
from __future__ import annotations

import io

from ..network import Network
from .rows import COLUMNS, NUMERIC, output_header, row_cells, table_rows, totals_lines


def _headers(layout: str) -> list[str]:
    return [output_header(layout) if c == "Output" else c for c in COLUMNS]


def render_text(net: Network, layout: str = "chw", depth: int | None = None, batch: int = 1) -> str:
    headers = _headers(layout)
    body = [row_cells(r, layout) for r in table_rows(net, depth)]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    numeric = [c in NUMERIC for c in COLUMNS]

    def line(cells):
        out = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)]
        return "  ".join(out).rstrip()

    rule = "-" * len(line(["-" * w for w in widths]))
    lines = [f"{net.name}: input {_shape(net, layout)}", rule, line(headers), rule]
    lines += [line(r) for r in body]
    lines.append(rule)
    label_width = max(len(k) for k, _ in totals_lines(net, batch))
    lines += [f"{k.ljust(label_width)}  {v}" for k, v in totals_lines(net, batch)]
    return "\n".join(lines) + "\n"


def _shape(net: Network, layout: str) -> str:
    from ..shapes import format_shape
    return format_shape(net.input_shape, layout)


def render_rich(net: Network, layout: str = "chw", depth: int | None = None, batch: int = 1,
                width: int | None = None, color: bool | None = None) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{net.name}  (input {_shape(net, layout)})", box=box.SIMPLE_HEAD,
                  title_justify="left", title_style="bold")
    for c, h in zip(COLUMNS, _headers(layout)):
        table.add_column(h, justify="right" if c in NUMERIC else "left",
                         no_wrap=c in ("Layer", "Output", "Params", "MACs"))
    for row in table_rows(net, depth):
        table.add_row(*row_cells(row, layout), style="italic" if row.folded else None)
    summary = Table(box=None, show_header=False, padding=(0, 1))
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    for k, v in totals_lines(net, batch):
        summary.add_row(k, v)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 200, force_terminal=bool(color), no_color=not color,
                      color_system="standard" if color else None, highlight=False)
    console.print(table)
    console.print(summary)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
