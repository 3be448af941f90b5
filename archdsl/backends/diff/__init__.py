"""`archdsl diff A.arch B.arch`: what changed between two networks, layer by
layer (align.py) and in total, as a table (text, Markdown) and JSON."""
from __future__ import annotations

import json

from archdsl.backends.diff.align import Change, Row, align
from archdsl.core.analysis import BYTES_FP32
from archdsl.core.network import Network
from archdsl.text import axes_text, count_text, human_bytes, shape_text

FORMATS = ("text", "markdown", "json")
MARK = {Change.SAME: "", Change.RENAMED: "renamed", Change.CHANGED: "changed", Change.ADDED: "+ added",
        Change.REMOVED: "- removed"}


def diff_networks(a: Network, b: Network) -> list[Row]:
    return align(a.layers, b.layers)


def totals(a: Network, b: Network) -> list[tuple[str, int, int]]:
    """(figure, A, B) for the totals."""
    ta, tb = a.totals, b.totals
    return [
        ("layers", len(a.layers), len(b.layers)),
        ("params", ta.params, tb.params),
        ("buffers", ta.buffers, tb.buffers),
        ("MACs", ta.macs, tb.macs),
        ("activation memory (fp32, batch 1)", ta.activation_elements * BYTES_FP32,
         tb.activation_elements * BYTES_FP32),
    ]


def _value(name: str, v) -> str:
    if v is None:
        return "?"
    if name == "output":
        return shape_text(v)
    if name == "rf":
        return axes_text(v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _delta(x: int, y: int, memory: bool = False) -> str:
    d = y - x
    if not d:
        return "="
    pct = f" ({d / x:+.1%})" if x else ""
    if memory:
        return ("+" if d > 0 else "-") + human_bytes(abs(d)) + pct
    return f"{d:+,}{pct}"


def _figure(name: str, v: int) -> str:
    return human_bytes(v) if "memory" in name else f"{v:,}"


def _layer_cells(row: Row) -> list[str]:
    layer = row.a or row.b
    cells = [row.a.name if row.a else "", row.b.name if row.b else "", MARK[row.change], layer.op]
    if row.change == Change.CHANGED:
        what = "; ".join(f"{k} {_value(k, x)} \u2192 {_value(k, y)}" for k, (x, y) in row.fields.items())
    else:
        what = ", ".join(p for p in (layer.hyper, shape_text(layer.output_shape) if layer.output_shape else "",
                                     f"{count_text(layer.params)} params" if layer.params else "") if p)
    return cells + [what]


def _shown(rows: list[Row], every: bool, context: int = 1) -> list[Row | None]:
    """The changed rows with `context` unchanged ones around them; None marks a gap."""
    if every:
        return list(rows)
    keep = set()
    for k, r in enumerate(rows):
        if r.change not in (Change.SAME,):
            keep.update(range(max(k - context, 0), min(k + context + 1, len(rows))))
    out: list[Row | None] = []
    last = -1
    for k in sorted(keep):
        if k != last + 1:
            out.append(None)
        out.append(rows[k])
        last = k
    if out and last != len(rows) - 1:
        out.append(None)
    return out


def _title(a: Network, b: Network, a_name: str, b_name: str) -> str:
    return f"{a.name} ({a_name}) \u2192 {b.name} ({b_name})"


def _counts(rows: list[Row]) -> str:
    found = {c: sum(1 for r in rows if r.change == c) for c in Change}
    return ", ".join(f"{n} {c.value}" for c, n in found.items() if n)


def render_text(a: Network, b: Network, a_name: str, b_name: str, every: bool = False) -> str:
    rows = diff_networks(a, b)
    lines = [_title(a, b, a_name, b_name), f"  {_counts(rows)}", ""]
    table = [["A", "B", "change", "op", "what"]]
    for r in _shown(rows, every):
        table.append(["...", "", "", "", ""] if r is None else _layer_cells(r))
    widths = [max(len(t[i]) for t in table) for i in range(4)]
    for k, t in enumerate(table):
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(t[:4], widths, strict=True)) + "  " + t[4])
        if k == 0:
            lines.append("  " + "-" * (sum(widths) + 8 + max(len(t[4]) for t in table)))
    if len(table) == 1:
        lines.append("  (no layer differs)")
    lines += ["", "Totals"]
    figures = totals(a, b)
    width = max(len(n) for n, _, _ in figures)
    cells = [(_figure(n, x), _figure(n, y)) for n, x, y in figures]
    wa, wb = max(len(x) for x, _ in cells), max(len(y) for _, y in cells)
    for (name, x, y), (cx, cy) in zip(figures, cells, strict=True):
        lines.append(f"  {name.ljust(width)}  {cx.rjust(wa)} \u2192 {cy.rjust(wb)}   {_delta(x, y, 'memory' in name)}")
    if a.output_shape != b.output_shape:
        lines.append(f"  {'output'.ljust(width)}  {shape_text(a.output_shape)} \u2192 {shape_text(b.output_shape)}")
    return "\n".join(lines) + "\n"


def render_markdown(a: Network, b: Network, a_name: str, b_name: str, every: bool = False) -> str:
    esc = lambda t: t.replace("|", "\\|")  # noqa: E731
    rows = diff_networks(a, b)
    lines = [f"### {esc(_title(a, b, a_name, b_name))}", "", _counts(rows), "",
             "| A | B | change | op | what |", "|---|---|---|---|---|"]
    for r in _shown(rows, every):
        lines.append("| ... | | | | |" if r is None else "| " + " | ".join(esc(c) for c in _layer_cells(r)) + " |")
    lines += ["", "| total | A | B | change |", "|---|---:|---:|---:|"]
    for name, x, y in totals(a, b):
        lines.append(f"| {name} | {_figure(name, x)} | {_figure(name, y)} | {_delta(x, y, 'memory' in name)} |")
    return "\n".join(lines) + "\n"


def to_dict(a: Network, b: Network, a_name: str, b_name: str) -> dict:
    def layer(x):
        return None if x is None else {"name": x.name, "op": x.op, "hyper": x.hyper,
                                       "output_shape": list(x.output_shape) if x.output_shape else None,
                                       "params": x.params, "macs": x.macs,
                                       "receptive_field": list(x.receptive_field) if x.receptive_field else None}

    def plain(v):
        return list(v) if isinstance(v, tuple) else v

    rows = diff_networks(a, b)
    return {
        "a": {"network": a.name, "spec": a_name}, "b": {"network": b.name, "spec": b_name},
        "rows": [{"change": str(r.change), "a": layer(r.a), "b": layer(r.b),
                  "fields": {k: [plain(x), plain(y)] for k, (x, y) in r.fields.items()}} for r in rows],
        "totals": {name: {"a": x, "b": y, "delta": y - x} for name, x, y in totals(a, b)},
        "output_shape": {"a": list(a.output_shape or ()), "b": list(b.output_shape or ())},
    }


def render(a: Network, b: Network, a_name: str, b_name: str, fmt: str = "text", every: bool = False) -> str:
    if fmt == "json":
        return json.dumps(to_dict(a, b, a_name, b_name), indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(a, b, a_name, b_name, every)
    return render_text(a, b, a_name, b_name, every)
