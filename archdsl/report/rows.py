"""The rows every table format prints: one per layer, or per folded block."""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis import BYTES_FP32
from ..ir import Scope
from ..network import Network
from ..shapes import Shape, format_shape
from ..units import human_bytes, human_count


@dataclass(slots=True)
class Row:
    index: str
    name: str
    op: str
    hyper: str
    shape: Shape | None
    params: int
    buffers: int
    macs: int
    receptive_field: tuple[int, ...] | None
    folded: bool = False


def table_rows(net: Network, depth: int | None = None) -> list[Row]:
    """Rows in order; with `depth`, blocks and repeats nested deeper than
    `depth` fold into one row carrying their subtotals."""
    rows: list[Row] = []
    folded_at: dict[Scope, Row] = {}
    for layer in net.layers:
        scope = _fold_scope(layer.node.scope, depth) if depth is not None else None
        if scope is None:
            rows.append(Row(str(layer.index), layer.name, layer.op, layer.hyper, layer.output_shape,
                            layer.params, layer.buffers, layer.macs, layer.receptive_field))
            continue
        row = folded_at.get(scope)
        if row is None:
            sub = net.subtotal(scope)
            label = scope.label if scope.kind == "block" else _repeat_text(net, scope)
            row = Row(str(layer.index), scope.path or scope.label, "block" if scope.kind == "block" else "repeat",
                      label, None, sub.params, sub.buffers, sub.macs, None, folded=True)
            folded_at[scope] = row
            rows.append(row)
        row.shape = layer.output_shape
        row.receptive_field = layer.receptive_field
        row.index = row.index.split("-")[0] + f"-{layer.index}"
    return rows


def _repeat_text(net: Network, scope: Scope) -> str:
    """`2 x Bottleneck(256, 1)` when a folded repeat holds one kind of block call,
    else `repeat 2`: the slide reader wants to know what is repeated."""
    labels = set()
    for layer in net.layers:
        chain = layer.node.scope.ancestors()
        at = next((i for i, s in enumerate(chain) if s is scope), None)
        if at is None:
            continue
        child = chain[at + 1] if at + 1 < len(chain) else None
        labels.add(child.label if child is not None and child.kind == "block" else None)
        if len(labels) > 1:
            break
    only = next(iter(labels)) if len(labels) == 1 else None
    return f"{scope.count} x {only}" if only else f"repeat {scope.count}"


def _fold_scope(scope: Scope, depth: int) -> Scope | None:
    """The outermost block/repeat scope nested deeper than `depth`, if any."""
    for s in scope.ancestors():
        if s.kind in ("block", "repeat") and s.depth > depth:
            return s
    return None


def rf_text(rf: tuple[int, ...] | None) -> str:
    if not rf:
        return ""
    return str(rf[0]) if len(set(rf)) == 1 else "x".join(str(r) for r in rf)


def shape_text(shape: Shape | None, layout: str) -> str:
    return format_shape(shape, layout) if shape else ""


def totals_lines(net: Network, batch: int = 1) -> list[tuple[str, str]]:
    """(label, value) pairs for the summary under every table."""
    t = net.totals
    act = t.activation_elements * BYTES_FP32 * batch
    per = "" if batch == 1 else f" (batch {batch})"
    return [
        ("Parameters", f"{t.params:,}"),
        ("Trainable parameters", f"{t.trainable_params:,}"),
        ("Non-trainable parameters", f"{t.params - t.trainable_params:,}"),
        ("Buffers (BN running stats)", f"{t.buffers:,}"),
        ("MACs", f"{t.macs:,} ({human_count(t.macs)})"),
        ("FLOPs (2 x MACs)", f"{t.flops:,} ({human_count(t.flops)})"),
        (f"Activation memory{per}, fp32", human_bytes(act)),
        ("Parameter memory, fp32", human_bytes(t.params * BYTES_FP32)),
    ]


COLUMNS = ("#", "Layer", "Op", "Kernel / stride / pad", "Output", "Params", "MACs", "RF")
NUMERIC = {"#", "Params", "MACs", "RF"}


def row_cells(row: Row, layout: str) -> list[str]:
    return [row.index, row.name, row.op, row.hyper, shape_text(row.shape, layout),
            f"{row.params:,}" if row.params else "", f"{row.macs:,}" if row.macs else "",
            rf_text(row.receptive_field)]


def output_header(layout: str) -> str:
    return "Output (HxWxC)" if layout == "hwc" else "Output (CxHxW)"
