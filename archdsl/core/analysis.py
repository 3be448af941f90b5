"""Passes over a lowered graph: parameters, cost, receptive field, memory.

Conventions (docs/language.md states them for users):
- MACs count the multiply-accumulates of conv and fc weights only; bias adds,
  pooling, normalisation and activations are not counted. FLOPs = 2 x MACs.
- Buffers are BatchNorm running mean and variance (2C per layer); PyTorch's
  `num_batches_tracked` counter is left out.
- Activation memory is the sum of every layer's output (the input excluded)
  and of what a layer keeps besides it (attention: q, k, v, the L x L maps per
  head), fp32, times the batch.
- Attention matmuls (q @ k^T, attn @ v) are `attention_macs`, apart from MACs.
"""
from __future__ import annotations

from archdsl.core.field import Field
from archdsl.core.ir import Graph, Node, Scope
from archdsl.core.ops import GLOBAL, POINTWISE, UNKNOWN
from archdsl.core.shapes import Shape, is_tokens, numel
from archdsl.core.tokenfields import token_field
from archdsl.records import dataclass, field

BYTES_FP32 = 4


@dataclass(slots=True, eq=False)
class Layer:
    """One node and its figures: a row of the table, an entry of the JSON."""

    node: Node
    params: int
    buffers: int
    macs: int
    receptive_field: tuple[int, ...] | None
    effective_stride: tuple[int, ...] | None
    attention_macs: int = 0  # q @ k^T and attn @ v, apart from `macs` (conv and fc weights)
    intermediates: int = 0  # elements kept besides the output (Op.intermediates), in activation memory
    folded = False  # a table row for one layer, not a folded block (a class attribute: no annotation)

    @property
    def index(self) -> int:
        return self.node.index

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def op(self) -> str:
        """The layer kind's keyword: conv, maxpool, concat..."""
        return self.node.keyword

    @property
    def block(self) -> str | None:
        """The dotted path of the innermost block instance, or None."""
        block = self.node.scope.block()
        return block.path if block is not None else None

    @property
    def hyper(self) -> str:
        return self.node.op.hyper() if self.node.op is not None else ""

    @property
    def output_shape(self) -> Shape | None:
        return self.node.shape

    def to_dict(self) -> dict:
        """The layer's entry in the JSON contract (docs/language.md)."""
        return {
            "index": self.index, "name": self.name, "op": self.op, "block": self.block,
            "hyper": self.hyper, "inputs": [i.name for i in self.node.inputs],
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "params": self.params, "buffers": self.buffers, "macs": self.macs,
            "receptive_field": list(self.receptive_field) if self.receptive_field else None,
            "effective_stride": list(self.effective_stride) if self.effective_stride else None,
            **token_entries(self),
        }


@dataclass(slots=True)
class Totals:
    """Sums of the layers' figures over a network or one of its scopes."""
    params: int = 0
    buffers: int = 0
    macs: int = 0
    activation_elements: int = 0
    attention_macs: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def add(self, s: Layer) -> None:
        self.params += s.params
        self.buffers += s.buffers
        self.macs += s.macs
        self.attention_macs += s.attention_macs
        if s.node.op is not None and s.node.keyword != "input":
            self.activation_elements += numel(s.node.shape) + s.intermediates

    def merge(self, other: Totals) -> None:
        self.params += other.params
        self.buffers += other.buffers
        self.macs += other.macs
        self.attention_macs += other.attention_macs
        self.activation_elements += other.activation_elements


@dataclass(slots=True)
class Analysis:
    """Every layer's figures, the totals, and the subtotals of every scope."""
    layers: list[Layer]
    totals: Totals
    subtotals: dict[Scope, Totals] = field(default_factory=dict)


def count_layer(node: Node) -> tuple[int, int, int]:
    """(params, buffers, MACs) of one node."""
    op = node.op
    if op is None:
        return 0, 0, 0
    return op.params(), op.buffers(), op.macs(node.in_shapes, node.shape)


def receptive_fields(graph: Graph) -> dict[Node, Field | None]:
    """Receptive field, effective stride (jump) and offset of every node.

    A window (F' = D(F - 1) + 1, stride S, padding P before) gives
    size_out = size_in + (F' - 1) * j_in, j_out = j_in * S and
    start_out = start_in - P * j_in. A merge sees the union of its inputs'
    windows, per axis: from the smallest start to the furthest end, which is
    wider than the widest input when the inputs are offset. Global layers see
    their whole input."""
    result: dict[Node, Field | None] = {}
    windows: dict[tuple, object] = {}  # (op, input shapes) -> its window: alike layers share both
    for node in graph.nodes:
        shape = node.shape
        if node.keyword == "input" and shape is not None:
            rank = len(shape) - 1
            grid = tuple(shape[:-1]) if is_tokens(shape) else None  # token i is input token i
            result[node] = Field((1,) * rank, (1,) * rank, (0,) * rank, grid) if rank else None
            continue
        ins = [result.get(i) for i in node.inputs]
        if not ins or node.op is None or (ins[0] is None if len(ins) == 1 else any(i is None for i in ins)):
            result[node] = None
            continue
        in_shapes = [i.shape for i in node.inputs]
        if is_tokens(shape) or any(is_tokens(s) for s in in_shapes):
            result[node] = token_field(node, ins)
            continue
        field_ = ins[0] if len(ins) == 1 else _union(ins, shape, in_shapes)
        if field_ is None:
            result[node] = None
            continue
        key = (id(node.op), *in_shapes)
        window = windows.get(key)
        if window is None:
            window = windows[key] = node.op.receptive(in_shapes)
        if window == UNKNOWN:
            result[node] = None
            continue
        if window == POINTWISE:
            result[node] = field_  # the same window (a Field is never changed: shared, not copied)
            continue
        size, jump, start = field_.size, field_.jump, field_.start
        if window == GLOBAL:
            spatial = in_shapes[0][1:]  # empty for a flat input: nothing changes
            if spatial:
                size = tuple(r + (n - 1) * j for r, n, j in zip(size, spatial, jump, strict=True))
        else:
            kernel, stride, before = window
            start = tuple(a - p * j for a, p, j in zip(start, before, jump, strict=True))
            size = tuple(r + (k - 1) * j for r, k, j in zip(size, kernel, jump, strict=True))
            jump = tuple(j * s for j, s in zip(jump, stride, strict=True))
        result[node] = Field(size, jump, start)
    return result


def _union(fields: list[Field], shape, in_shapes=None) -> Field | None:
    """The union of the windows of a merge's inputs, axis by axis.

    Inputs of equal jump read windows a fixed distance apart: the union is
    exact. Inputs of unequal jump (a stride-2 branch beside a pooled one of the
    same size) drift apart along the axis; the union is then widest at the
    first or the last output pixel, and that bound is what is reported. An
    input broadcast along an axis (an SE gate, 1 where the output is H) is
    read at its one pixel for every output pixel: its window does not move."""
    if len({len(f.size) for f in fields}) != 1:
        return None
    out = max(len(shape) - 1, 0) if shape else 0
    sizes, jumps, starts = [], [], []
    for axis in range(len(fields[0].size)):
        per = [(f.size[axis], 0 if _broadcast(s, shape, axis) else f.jump[axis], f.start[axis])
               for f, s in zip(fields, in_shapes or [None] * len(fields), strict=True)]
        last = (shape[1 + axis] - 1) if out > axis else 0
        extent = 0
        for i in {0, last}:
            lo = min(a + i * j for _, j, a in per)
            hi = max(a + i * j + r for r, j, a in per)
            extent = max(extent, hi - lo)
        sizes.append(extent)
        jumps.append(max(j for _, j, _ in per) or max(f.jump[axis] for f in fields))
        starts.append(min(a for _, _, a in per))
    return Field(tuple(sizes), tuple(jumps), tuple(starts))


def _broadcast(in_shape, shape, axis: int) -> bool:
    """Whether an input of this shape is broadcast along spatial `axis` of the output."""
    return in_shape is not None and shape is not None and len(in_shape) == len(shape) > 1 + axis \
        and in_shape[1 + axis] == 1 and shape[1 + axis] > 1


def analyse(graph: Graph) -> Analysis:
    """Figures for every node, the totals, and subtotals for every scope."""
    fields_ = receptive_fields(graph)
    totals = Totals()
    # Each scope's own nodes first, then every scope's into its parent's: a node
    # counts once per enclosing scope, without walking up from every node.
    subtotals: dict[Scope, Totals] = {s: Totals() for s in graph.scopes}
    figures: dict[tuple, tuple] = {}  # (op, input shapes) -> its figures: alike layers share them
    stats = []
    for node in graph.nodes:
        op = node.op
        if op is None:
            counted = (0, 0, 0, 0, 0)
        else:
            shapes = [i.shape for i in node.inputs]
            key = (id(op), *shapes, *map(type, shapes))  # a token sequence is not the map of its numbers
            counted = figures.get(key)
            if counted is None:
                counted = figures[key] = (*count_layer(node), *attention_figures(node))
        rf = fields_.get(node)
        s = Layer(node, counted[0], counted[1], counted[2], rf.size if rf else None, rf.jump if rf else None,
                  counted[3], counted[4])
        stats.append(s)
        if node.scope is None:
            totals.add(s)
        else:
            subtotals[node.scope].add(s)
    for scope in sorted(graph.scopes, key=lambda s: s.index, reverse=True):
        (totals if scope.parent is None else subtotals[scope.parent]).merge(subtotals[scope])
    return Analysis(stats, totals, subtotals)


def attention_figures(node: Node) -> tuple[int, int]:
    """(attention MACs, intermediate elements) of one node."""
    op = node.op
    if op is None or node.shape is None:
        return 0, 0
    return op.attention_macs(node.in_shapes, node.shape), sum(op.intermediates(node.in_shapes, node.shape).values())


def token_entries(layer: Layer) -> dict:
    """The JSON keys only token and attention layers have: which axes the output
    holds, and the attention MACs (so that other layers' entries stay as they were)."""
    extra = {}
    shape = layer.output_shape
    if is_tokens(shape):
        extra["output_axes"] = ["tokens", "features"] if len(shape) == 2 else ["height", "width", "features"]
    if layer.attention_macs:
        extra["attention_macs"] = layer.attention_macs
    if layer.intermediates:
        extra["intermediates"] = layer.intermediates
    return extra
