"""Passes over a lowered graph: parameters, cost, receptive field, memory.

Conventions (docs/language.md states them for users):
- MACs count the multiply-accumulates of conv and fc weights only; bias adds,
  pooling, normalisation and activations are not counted. FLOPs = 2 x MACs.
- Buffers are BatchNorm running mean and variance (2C per layer); PyTorch's
  `num_batches_tracked` counter is left out.
- Activation memory is the sum of every layer's output (the input excluded),
  fp32, times the batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Graph, Node, Scope
from .shapes import numel

BYTES_FP32 = 4


@dataclass(slots=True)
class LayerStats:
    """The figures of one node."""

    node: Node
    params: int
    buffers: int
    macs: int
    receptive_field: tuple[int, ...] | None
    effective_stride: tuple[int, ...] | None


@dataclass(slots=True)
class Totals:
    params: int = 0
    trainable_params: int = 0
    buffers: int = 0
    macs: int = 0
    activation_elements: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def add(self, s: LayerStats) -> None:
        self.params += s.params
        self.trainable_params += s.params
        self.buffers += s.buffers
        self.macs += s.macs
        if s.node.op is not None and s.node.keyword != "input":
            self.activation_elements += numel(s.node.shape)


@dataclass(slots=True)
class Analysis:
    stats: list[LayerStats]
    totals: Totals
    subtotals: dict[Scope, Totals] = field(default_factory=dict)


def count_layer(node: Node) -> tuple[int, int, int]:
    """(params, buffers, MACs) of one node."""
    op = node.op
    if op is None:
        return 0, 0, 0
    return op.params(), op.buffers(), op.macs(node.in_shapes, node.shape)


def receptive_fields(graph: Graph) -> dict[Node, tuple[tuple[int, ...], tuple[int, ...]] | None]:
    """Receptive field and effective stride (jump) of every node, per spatial axis.

    r_out = r_in + (F' - 1) * j_in and j_out = j_in * S for a window; a merge
    takes the widest of its inputs; global layers see the whole input."""
    result: dict[Node, tuple | None] = {}
    for node in graph.nodes:
        if node.keyword == "input" and node.shape is not None:
            rank = len(node.shape) - 1
            result[node] = ((1,) * rank, (1,) * rank) if rank else None
            continue
        ins = [result.get(i) for i in node.inputs]
        if not ins or any(i is None for i in ins) or node.op is None:
            result[node] = None
            continue
        rf, jump = max(ins, key=lambda t: t[0])
        window = node.op.receptive(node.in_shapes)
        if window == "global":
            spatial = node.in_shapes[0][1:]  # empty for a flat input: nothing changes
            rf = tuple(r + (n - 1) * j for r, n, j in zip(rf, spatial, jump)) if spatial else rf
        elif window is not None:
            kernel, stride, _ = window
            rf = tuple(r + (k - 1) * j for r, k, j in zip(rf, kernel, jump))
            jump = tuple(j * s for j, s in zip(jump, stride))
        result[node] = (rf, jump)
    return result


def analyse(graph: Graph) -> Analysis:
    """Figures for every node, the totals, and subtotals for every scope."""
    fields_ = receptive_fields(graph)
    totals = Totals()
    subtotals: dict[Scope, Totals] = {s: Totals() for s in graph.scopes}
    stats = []
    for node in graph.nodes:
        params, buffers, macs = count_layer(node)
        rf = fields_.get(node)
        s = LayerStats(node, params, buffers, macs, rf[0] if rf else None, rf[1] if rf else None)
        stats.append(s)
        totals.add(s)
        scope = node.scope
        while scope is not None:
            subtotals[scope].add(s)
            scope = scope.parent
    return Analysis(stats, totals, subtotals)
