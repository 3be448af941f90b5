"""The rows every table format prints: one per layer, or per folded block."""
from __future__ import annotations

from archdsl.backends.report.columns import (
    DEFAULT,
    Column,
    View,
    activations,
    neurons,
    total_neurons,
    weight_layer_count,
    weight_shape,
)
from archdsl.core.analysis import BYTES_FP32, Layer
from archdsl.core.ir import Scope, ScopeKind
from archdsl.core.network import Network
from archdsl.core.shapes import Shape, is_tokens
from archdsl.records import dataclass
from archdsl.text import axes_header, count_with_rounding, human_bytes, shape_text


@dataclass(slots=True)
class FoldedRow:
    """A block instance (or labelled repeat) folded into one row: the fields
    of a `Layer` row, with its subtotals and its last layer's output."""

    index: str  # `17-26`
    name: str
    op: str  # block | repeat
    hyper: str  # the call as written, or `3 x Bottleneck(512)`
    output_shape: Shape | None
    params: int
    buffers: int
    macs: int
    receptive_field: tuple[int, ...] | None
    attention_macs: int = 0
    neurons: int = 0  # of its weight layers (columns.neurons)
    weight_layers: int = 0
    weight_shape: tuple[int, ...] | None = None  # of its one weight layer, when it has one
    activations: int = 0  # the values its layers' outputs hold (columns.activations)
    folded = True  # a class attribute, as Layer's


Row = Layer | FoldedRow


def table_rows(net: Network, depth: int | None = None) -> list[Row]:
    """Rows in order: the layers themselves, or with `depth`, every block
    instance (and labelled repeat) nested deeper than `depth` folded into one
    row carrying its subtotals.

    Only what names a level in the dotted layer names counts as one: a block
    instance (`bottleneck2.conv1`) or a labelled repeat (`stage2: repeat 3`).
    An unlabelled `repeat` is transparent, so `Bottleneck(512, s=2);
    repeat 3 { Bottleneck(512) }` gives four rows alike at `--depth 0` and four
    expanded blocks at `--depth 1`."""
    if depth is None:
        return list(net.layers)
    rows: list[Row] = []
    folded_at: dict[Scope, FoldedRow] = {}
    first_index: dict[Scope, int] = {}
    for layer in net.layers:
        scope = _fold_scope(layer.node.scope, depth)
        if scope is None:
            rows.append(layer)
            continue
        row = folded_at.get(scope)
        if row is None:
            sub = net.subtotal(scope)
            block = scope.kind == ScopeKind.BLOCK
            row = FoldedRow(str(layer.index), scope.path or scope.label, "block" if block else "repeat",
                            scope.label if block else _repeat_text(scope), None, sub.params, sub.buffers,
                            sub.macs, None, sub.attention_macs)
            folded_at[scope] = row
            first_index[scope] = layer.index
            rows.append(row)
        row.output_shape = layer.output_shape
        row.receptive_field = layer.receptive_field
        row.neurons += neurons(layer)
        shape = weight_shape(layer)
        if shape is not None:
            row.weight_layers += 1
            row.weight_shape = shape if row.weight_layers == 1 else None
        row.activations += activations(layer)
        row.index = index_range(first_index[scope], layer.index)
    return rows


def index_range(first: int, last: int) -> str:
    """`17-26`, or `17` for a block of one layer."""
    return str(first) if first == last else f"{first}-{last}"


def _repeat_text(scope: Scope) -> str:
    """`2 x Bottleneck(256)` when a folded repeat holds one kind of block call,
    else `repeat 2`: the slide reader wants to know what is repeated."""
    labels = {c.label if isinstance(c, Scope) and c.kind == ScopeKind.BLOCK else None
              for c in scope.children}
    only = next(iter(labels)) if len(labels) == 1 else None
    return f"{scope.count} x {only}" if only else f"repeat {scope.count}"


def is_level(scope: Scope) -> bool:
    """Whether `scope` is a nesting level for --depth: a block instance or a labelled repeat."""
    return scope.kind == "block" or (scope.kind == "repeat" and scope.name is not None)


def _fold_scope(scope: Scope, depth: int) -> Scope | None:
    """The outermost level (see `is_level`) nested deeper than `depth`, if any."""
    level = 0
    for s in scope.ancestors():
        if is_level(s):
            level += 1
            if level > depth:
                return s
    return None


def layout_of(net: Network, layout: str | None) -> str:
    """The layout a table prints: `--layout` when given, else the spec's own (`layout hwc`)."""
    return layout or getattr(net.graph, "layout", "chw")


def totals_lines(net: Network, batch: int = 1, columns: tuple[Column, ...] = DEFAULT) -> list[tuple[str, str]]:
    """(label, value) pairs for the summary under every table; the weights and
    neurons columns bring their totals (VGG's "16 weight layers", AlexNet's "650K neurons")."""
    t = net.totals
    act = t.activation_elements * BYTES_FP32 * batch
    per = "" if batch == 1 else f" (batch {batch})"
    lines = [
        ("Parameters", f"{t.params:,}"),
        ("Buffers (BN running stats)", f"{t.buffers:,}"),
    ]
    if t.buffers:
        lines.append(("Keras-style total (with BN moving statistics)", f"{t.params + t.buffers:,}"))
    keys = {c.key for c in columns}
    if "weights" in keys:
        lines.append(("Weight layers (conv, fc)", f"{weight_layer_count(net):,}"))
    if "neurons" in keys:
        lines.append(("Neurons (weight-layer outputs)", count_with_rounding(total_neurons(net))))
    attention = [("Attention MACs (q @ k^T, attn @ v)", count_with_rounding(t.attention_macs)),
                 ("MACs with attention", count_with_rounding(t.macs + t.attention_macs))] if t.attention_macs else []
    return lines + [
        ("MACs", count_with_rounding(t.macs)),
        *attention,
        ("FLOPs (2 x MACs)", count_with_rounding(t.flops)),
        (f"Activation memory{per}, fp32", human_bytes(act)),
        ("Parameter memory, fp32", human_bytes(t.params * BYTES_FP32)),
    ]


KERAS_NOTE = ("Keras's model.summary() counts BatchNorm's moving mean and variance as non-trainable "
              "parameters; PyTorch keeps them as buffers, outside the parameter count.")


def footer_lines(net: Network, layout: str = "chw") -> list[str]:
    """What a table says under its totals besides them: the inputs and outputs of
    a network with several (or named ones), the warnings the spec allowed, and
    how it trains."""
    graph, lines = net.graph, []
    named_out = graph.output_names != ["output"]
    if len(graph.inputs) > 1 or len(graph.outputs) > 1 or named_out:
        lines.append("Inputs   " + " \u00b7 ".join(f"{n.local_name} {shape_text(n.shape, layout)}"
                                                    for n in graph.inputs))
        lines.append("Outputs  " + " \u00b7 ".join(f"{name} {shape_text(n.shape, layout)}"
                                                    for name, n in zip(graph.output_names, graph.outputs,
                                                                       strict=True)))
    for w in net.allowed:
        lines.append(f"Allowed warning ({w.code}) at line {w.line}: {w.message}")
    if net.train is not None:
        from archdsl.train.section import summary_lines
        lines += ["Training"] + [f"  {line}" for line in summary_lines(net.train)]
    return lines


def totals_note(net: Network) -> str | None:
    """The sentence under the totals that explains the Keras-style line, when there is one."""
    return KERAS_NOTE if net.totals.buffers else None


def row_cells(row: Row, layout: str, columns: tuple[Column, ...] = DEFAULT, batch: int = 1) -> list[str]:
    view = View(layout, batch)
    return [c.cell(row, view) for c in columns]


def output_header(layout: str, rank: int = 2) -> str:
    """`Output (CxHxW)` for a 2-D network; the axes follow its input's spatial
    rank (`Output (CxL)`, `Output (CxDxHxW)`), and just `Output` when flat."""
    axes = axes_header(layout, rank)
    return f"Output ({axes})" if axes else "Output"


def headers(net: Network, layout: str, columns: tuple[Column, ...] = DEFAULT) -> list[str]:
    """The column headers of `net`'s table."""
    rank = len(net.input_shape) - 1
    output = output_header(layout, rank)
    grids = {len(layer.output_shape) for layer in net.layers if is_tokens(layer.output_shape)}
    if grids:  # the token rows hold their features last, whatever the layout
        tokens = " or ".join(("LxD", "HxWxD")[n - 2] for n in sorted(grids))
        output = f"{output[:-1]}; tokens {tokens})" if output.endswith(")") else f"Output (tokens {tokens})"
    return [output if c.key == "output" else c.header for c in columns]
