"""The columns a table can print, and `--columns` to choose them.

Every column is one `Column` in `ALL`, in the order tables print them: the
defaults (`#`, layer, op, kernel, output, params, MACs, RF) and the lecture
columns a handout asks for -- the weight shape (`11×11×3×96`, kh×kw×Cin×Cout
as lecture notes write kernels), neurons (the outputs of each weight layer, as
the AlexNet paper counts its 650,000) and each layer's activation memory. A
column names its cell for a row, its CSV value and how LaTeX sets it; every
format reads the same table, so a new column is one entry here.

`--columns +weights,+neurons` adds to a format's defaults (each in its place
in `ALL`), `-rf` drops one, and a plain list (`name,output,weights,params`)
is exactly the columns wanted, in that order."""
from __future__ import annotations

from collections.abc import Callable

from archdsl.core.analysis import BYTES_FP32
from archdsl.core.ops.conv import Conv
from archdsl.core.ops.dense import Linear
from archdsl.core.ops.transposed import ConvTranspose
from archdsl.core.shapes import numel
from archdsl.records import dataclass
from archdsl.text import TIMES, axes_text, close_matches, dims_text, human_bytes, shape_text


@dataclass(frozen=True, slots=True)
class View:
    """What a cell's text depends on besides its row."""

    layout: str = "chw"
    batch: int = 1


# -- the lecture figures of one layer ------------------------------------------------------

def _conv_weights(op) -> tuple[int, ...]:
    return (*op.window.kernel, op.in_channels // op.groups, op.out_channels)


def _transposed_weights(op) -> tuple[int, ...]:
    return (*op.kernel, op.in_channels // op.groups, op.out_channels)


def _linear_weights(op) -> tuple[int, ...]:
    return (op.in_features, op.out_features)


# The weight layers and their weight shape in the lecture order: kernel sizes,
# input channels (per group), output channels; fc is in x out. The product is
# the number of weights (the bias aside).
WEIGHT_SHAPES: dict[type, Callable] = {Conv: _conv_weights, ConvTranspose: _transposed_weights,
                                       Linear: _linear_weights}


def weight_shape(layer) -> tuple[int, ...] | None:
    """kh x kw x Cin x Cout of a conv, in x out of an fc; None for other layers. A
    folded block shows the weights of its one weight layer (VGG's conv-relu blocks)."""
    if layer.folded:
        return layer.weight_shape
    op = layer.node.op
    rule = WEIGHT_SHAPES.get(type(op))
    return rule(op) if rule is not None else None


def is_weight_layer(layer) -> bool:
    return not layer.folded and weight_shape(layer) is not None


def neurons(layer) -> int:
    """The outputs of a weight layer (its units, each a weighted sum); 0 for other layers.
    An activation, pooling or normalisation after it transforms these neurons and adds none."""
    return numel(layer.output_shape) if is_weight_layer(layer) else 0


def activations(layer) -> int:
    """The values a layer's output holds, and what it keeps besides (attention's maps),
    as the memory total counts them (0 for the input, which it leaves out)."""
    node = layer.node
    return 0 if node.op is None or node.keyword == "input" else numel(node.shape) + layer.intermediates


def weight_layer_count(net) -> int:
    return sum(1 for layer in net.layers if is_weight_layer(layer))


def total_neurons(net) -> int:
    return sum(neurons(layer) for layer in net.layers)


# -- columns ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Column:
    """One column. `cell(row, view)` is its text in a table; `value(row, view)`
    its CSV value; `latex` how LaTeX sets the text: "text", "math" (sizes and
    arrows as mathematics), "product" (`11×11×3×96`), "count" (thousands
    separators) or "index" (a range)."""

    key: str  # the name --columns takes
    header: str  # `Output` gains the axes of the network's input (`Output (CxHxW)`)
    cell: Callable
    value: Callable
    csv: str
    numeric: bool = False
    latex: str = "text"
    aliases: tuple[str, ...] = ()
    doc: str = ""


def _count(n: int) -> str:
    return f"{n:,}" if n else ""


def _output(row, view: View) -> str:
    return shape_text(row.output_shape, view.layout) if row.output_shape else ""


def _weights(row, view: View) -> str:
    shape = weight_shape(row)
    return dims_text(shape, TIMES) if shape else ""


def _memory_bytes(row, view: View) -> int:
    return row.activations * BYTES_FP32 * view.batch if row.folded else activations(row) * BYTES_FP32 * view.batch


def _memory(row, view: View) -> str:
    n = _memory_bytes(row, view)
    return human_bytes(n) if n else ""


def _neurons(row) -> int:
    return row.neurons if row.folded else neurons(row)


def _rf(row, view: View) -> str:
    return axes_text(row.receptive_field) if row.receptive_field else ""


ALL: tuple[Column, ...] = (
    Column("index", "#", lambda r, v: str(r.index), lambda r, v: r.index, "index", numeric=True, latex="index",
           aliases=("#",), doc="the layer's position (a range for a folded block)"),
    Column("name", "Layer", lambda r, v: r.name, lambda r, v: r.name, "name", aliases=("layer",),
           doc="the dotted layer name"),
    Column("op", "Op", lambda r, v: r.op, lambda r, v: r.op, "op", doc="the layer kind"),
    Column("hyper", "Kernel / stride / pad", lambda r, v: r.hyper, lambda r, v: r.hyper, "hyper", latex="math",
           aliases=("kernel",), doc="kernel, stride, padding and the like"),
    Column("weights", "Weights", _weights, lambda r, v: dims_text(weight_shape(r) or ()), "weight_shape",
           latex="product", aliases=("weight", "weight_shape"),
           doc="the weight shape of conv and fc layers, kh×kw×Cin×Cout (Cin per group) and in×out"),
    Column("output", "Output", _output, _output, "output_shape", latex="math",
           doc="the output shape, in --layout order"),
    Column("neurons", "Neurons", lambda r, v: _count(_neurons(r)), lambda r, v: _neurons(r), "neurons",
           numeric=True, latex="count", doc="the outputs of each weight layer (conv, fc), as the AlexNet paper "
                                            "counts neurons"),
    Column("memory", "Memory", _memory, _memory_bytes, "memory_bytes", numeric=True, aliases=("mem",),
           doc="the layer's output in fp32 bytes, times --batch (the activation memory, per layer)"),
    Column("params", "Params", lambda r, v: _count(r.params), lambda r, v: r.params, "params", numeric=True,
           latex="count", aliases=("parameters",), doc="parameters (weights, biases, BN scale and shift)"),
    Column("buffers", "Buffers", lambda r, v: _count(r.buffers), lambda r, v: r.buffers, "buffers", numeric=True,
           latex="count", doc="BatchNorm running statistics"),
    Column("macs", "MACs", lambda r, v: _count(r.macs), lambda r, v: r.macs, "macs", numeric=True, latex="count",
           doc="multiply-accumulates of conv and fc weights"),
    Column("attn", "Attn MACs", lambda r, v: _count(r.attention_macs), lambda r, v: r.attention_macs,
           "attention_macs", numeric=True, latex="count", aliases=("attention", "attention_macs"),
           doc="the attention matmuls (q @ k^T and attn @ v), apart from MACs; shown when a network has them"),
    Column("rf", "RF", _rf, lambda r, v: dims_text(r.receptive_field) if r.receptive_field else "",
           "receptive_field", numeric=True, latex="math", aliases=("receptive_field",),
           doc="receptive field per axis"),
)

BY_KEY = {name: c for c in ALL for name in (c.key, *c.aliases)}
DEFAULT = tuple(BY_KEY[k] for k in ("index", "name", "op", "hyper", "output", "params", "macs", "rf"))
CSV_DEFAULT = tuple(BY_KEY[k] for k in ("index", "name", "op", "hyper", "output", "params", "buffers", "macs",
                                        "rf"))


def with_attention(columns: tuple[Column, ...], nets) -> tuple[Column, ...]:
    """The default columns gain `attn` (after MACs) for networks with attention."""
    attn = BY_KEY["attn"]
    if attn in columns or not any(n.totals.attention_macs for n in nets):
        return columns
    return tuple(c for c in ALL if c in columns or c is attn)


class ColumnsError(ValueError):
    """A --columns value that names no column, or mixes a list with +/- changes."""


def parse_columns(text: str) -> tuple[str, ...]:
    """`+weights,+neurons`, `-rf`, or a list `name,output,weights`: checked now,
    resolved per format by `select`. Returns the items as written (normalised)."""
    items = tuple(i.strip() for i in text.split(",") if i.strip())
    if not items:
        raise ColumnsError("--columns needs column names, e.g. +weights,+neurons or name,output,params")
    changes = [i[0] in "+-" for i in items]
    if any(changes) and not all(changes):
        raise ColumnsError(f"--columns {text}: either a list of columns or +/- changes to the defaults, not both")
    for item in items:
        name = item.lstrip("+-").lower()
        if name not in BY_KEY:
            close = close_matches(name, list(BY_KEY), n=1)
            guess = f"did you mean '{close[0]}'? " if close else ""
            raise ColumnsError(f"unknown column '{name}'; {guess}the columns are {', '.join(c.key for c in ALL)}")
    return tuple(i[0] + i[1:].lower() if i[0] in "+-" else i.lower() for i in items)


def select(spec: tuple[str, ...] | None, defaults: tuple[Column, ...] = DEFAULT) -> tuple[Column, ...]:
    """The columns `spec` (from parse_columns) asks for, starting from `defaults`."""
    if not spec:
        return defaults
    if spec[0][0] not in "+-":
        return tuple(dict.fromkeys(BY_KEY[k] for k in spec))
    chosen = set(defaults)
    for item in spec:
        (chosen.add if item[0] == "+" else chosen.discard)(BY_KEY[item[1:]])
    if not chosen:
        raise ColumnsError("--columns removes every column")
    return tuple(c for c in ALL if c in chosen)
