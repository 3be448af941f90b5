"""Training cost, statically: backward MACs, and the memory one training step
needs -- parameters, their gradients, the optimiser's state, BatchNorm's
buffers and the activations autograd saves for backward (archdsl/core/saved.py)
-- per layer and in total; the largest batch that fits a GPU, and the blocks
worth checkpointing.

Conventions (docs/explain.md states them for users):
- Backward MACs: a conv, transposed conv or fc layer costs its forward MACs
  once for the weight gradient and once more for the input gradient, so 2x
  forward -- 1x for a layer whose input needs no gradient (the first conv:
  PyTorch skips grad_input there). Layers without MACs forward have none
  backward. A training step is forward + backward.
- Memory is fp32: 4 bytes per parameter, gradient, optimiser value and saved
  element (8 for int64 indices and token ids). Optimiser state per parameter:
  SGD 0, SGD with momentum 1 (the momentum buffer), Adam/AdamW 2 (exp_avg
  and exp_avg_sq).
- Saved activations count each storage once (a tensor saved by two layers is
  one tensor in memory). The total adds, as an upper bound, the gradients of
  the largest layer's input and output alive at once in backward. The CUDA
  context, cuDNN workspaces and the allocator's rounding are not counted.
"""
from __future__ import annotations

from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.network import Network
from archdsl.core.ops import conv, dense, pool, transposed
from archdsl.core.saved import FLOAT, Plan, Saved, saved_tensors
from archdsl.core.shapes import numel
from archdsl.records import dataclass, field

# Backward MACs per forward MAC: (weight gradient, input gradient), stated per rule.
BACKWARD: dict[type, tuple[int, int]] = {conv.Conv: (1, 1), transposed.ConvTranspose: (1, 1),
                                         dense.Linear: (1, 1)}
# Values of optimiser state kept per trainable parameter.
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}


def backward_macs(net: Network) -> dict[Node, int]:
    """Each layer's backward MACs (see the module's conventions)."""
    plan = Plan(net.graph)
    out = {}
    for layer in net.layers:
        node = layer.node
        rule = next((BACKWARD[c] for c in type(node.op).__mro__ if c in BACKWARD), None) if node.op else None
        if rule is None or not plan.grad[node]:
            out[node] = 0
            continue
        weight, data = rule
        needs_input = any(plan.grad[i] for i in node.inputs)
        out[node] = layer.macs * (weight + (data if needs_input else 0))
    return out


@dataclass(slots=True)
class LayerMemory:
    """What one layer keeps for backward: its saved tensors and their bytes per
    sample (and per batch, for what does not grow with it)."""

    node: Node
    saved: list[Saved]
    backward_macs: int

    def packed(self, batch: int = 1) -> int:
        return sum(s.packed(batch) for s in self.saved)


@dataclass(slots=True)
class TrainingMemory:
    """The memory of one training step, by part, for a batch."""

    net: Network
    batch: int
    optimizer: str
    device: str
    layers: list[LayerMemory]
    unique: dict[tuple, Saved] = field(default_factory=dict)  # every storage saved, once

    @property
    def trainable(self) -> int:
        return self.net.totals.params

    @property
    def params_bytes(self) -> int:
        return self.net.totals.params * FLOAT

    @property
    def grads_bytes(self) -> int:
        return self.trainable * FLOAT

    @property
    def optimizer_bytes(self) -> int:
        return self.trainable * FLOAT * OPTIMIZERS[self.optimizer]

    @property
    def buffers_bytes(self) -> int:
        return self.net.totals.buffers * FLOAT

    @property
    def fixed_bytes(self) -> int:
        """What does not grow with the batch: weights, gradients, optimiser state, buffers, batch statistics."""
        return self.params_bytes + self.grads_bytes + self.optimizer_bytes + self.buffers_bytes + \
            self.saved_fixed

    @property
    def saved_fixed(self) -> int:
        return sum(s.held(1) for s in self.unique.values() if not s.per_sample)

    @property
    def saved_per_sample(self) -> int:
        return sum(s.held(1) for s in self.unique.values() if s.per_sample)

    def saved_bytes(self, batch: int | None = None) -> int:
        """Bytes of the storages saved for backward, each once."""
        b = self.batch if batch is None else batch
        return self.saved_per_sample * b + self.saved_fixed

    def packed_bytes(self, batch: int | None = None) -> int:
        """Bytes of every tensor saved, counted each time it is saved (what the hooks see)."""
        b = self.batch if batch is None else batch
        return sum(layer.packed(b) for layer in self.layers)

    @property
    def working_per_sample(self) -> int:
        """The gradients of the largest layer's output and inputs, alive together in backward."""
        best = 0
        for layer in self.layers:
            node = layer.node
            if node.shape is None or node.keyword == "input":
                continue
            best = max(best, (numel(node.shape) + sum(numel(s) for s in node.in_shapes)) * FLOAT)
        return best

    @property
    def per_sample_bytes(self) -> int:
        return self.saved_per_sample + self.working_per_sample

    def total_bytes(self, batch: int | None = None) -> int:
        b = self.batch if batch is None else batch
        return self.fixed_bytes + self.per_sample_bytes * b

    def largest_batch(self, budget: int) -> int:
        """The largest batch whose total fits `budget` bytes (0 when not even one does)."""
        room = budget - self.fixed_bytes
        return max(room // self.per_sample_bytes, 0) if self.per_sample_bytes else 0

    @property
    def backward_macs(self) -> int:
        return sum(layer.backward_macs for layer in self.layers)


def training_memory(net: Network, batch: int = 1, optimizer: str = "sgd", device: str = "cpu") -> TrainingMemory:
    """The training memory of `net` for `batch` samples with `optimizer`
    (sgd, momentum, adam, adamw) on `device` (cpu or cuda: dropout's mask differs)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    _, saved = saved_tensors(net.graph, device)
    back = backward_macs(net)
    layers = [LayerMemory(layer.node, saved[layer.node], back[layer.node]) for layer in net.layers]
    unique: dict[tuple, Saved] = {}
    for layer in layers:
        for s in layer.saved:
            unique.setdefault(s.key, s)
    return TrainingMemory(net, batch, optimizer, device, layers, unique)


def optimizer_of(net: Network) -> str:
    """The optimiser a spec's train section names (sgd with momentum is `momentum`); sgd without one."""
    if net.train is None:
        return "sgd"
    opt = net.train.optimizer
    name = opt.get("name", "sgd")
    if name == "sgd" and opt.get("momentum", 0):
        return "momentum"
    return name if name in OPTIMIZERS else "sgd"


# -- checkpointing ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Segment:
    """A block (or a stage of layers) that torch.utils.checkpoint could wrap:
    the bytes per sample its saved tensors would free, and the forward MACs
    recomputed in backward to get them back."""

    name: str
    label: str
    nodes: list[Node]
    freed_per_sample: int
    held_per_sample: int  # what it saves, which backward re-creates while it runs
    recompute_macs: int


def segments(net: Network) -> list[list[Node] | Scope]:
    """The top-level block instances and repeats; a network without blocks is
    cut into stages after each pooling layer."""
    root = next(s for s in net.graph.scopes if s.parent is None)
    found, run = [], []
    for child in root.children:
        if isinstance(child, Scope) and child.kind in (ScopeKind.BLOCK, ScopeKind.REPEAT):
            if run:
                found.append(run)
                run = []
            found.append(child)
            continue
        nodes = child.nodes() if isinstance(child, Scope) else [child]
        run += [n for n in nodes if n.keyword != "input"]
        if isinstance(child, Node) and isinstance(child.op, (pool.Pool, pool.GlobalPool, pool.AdaptivePool)):
            found.append(run)
            run = []
    if run:
        found.append(run)
    return found


def checkpoint_candidates(memory: TrainingMemory) -> list[Segment]:
    """Segments ranked by the bytes checkpointing them frees per recomputed MAC."""
    net = memory.net
    savers: dict[tuple, set[Node]] = {}
    for layer in memory.layers:
        for s in layer.saved:
            savers.setdefault(s.key, set()).add(layer.node)
    by_node = {layer.node: layer for layer in memory.layers}
    macs = {layer.node: layer.macs for layer in net.layers}
    out = []
    for seg in segments(net):
        nodes = seg.nodes() if isinstance(seg, Scope) else seg
        if not nodes:
            continue
        inside = set(nodes)
        entry = {i for n in nodes for i in n.inputs if i not in inside}
        freed = held = 0
        seen: set[tuple] = set()
        for node in nodes:
            for s in by_node[node].saved:
                if s.key in seen or not s.per_sample:
                    continue
                seen.add(s.key)
                held += s.held(1)
                base = s.key[1] if s.key[0] == "tensor" else None
                if savers[s.key] <= inside and base not in entry:
                    freed += s.held(1)
        if freed <= 0:
            continue
        top = lambda n: n.name.split(".")[0]  # noqa: E731
        span = top(nodes[0]) if top(nodes[0]) == top(nodes[-1]) else f"{top(nodes[0])}..{top(nodes[-1])}"
        name = seg.path if isinstance(seg, Scope) and seg.path else span
        label = seg.label if isinstance(seg, Scope) else f"{len(nodes)} layers"
        out.append(Segment(name, label, nodes, freed, held, sum(macs[n] for n in nodes)))
    return sorted(out, key=lambda s: (-s.freed_per_sample / max(s.recompute_macs, 1), s.name))


def with_checkpoints(memory: TrainingMemory, chosen: list[Segment]) -> int:
    """Bytes per sample at the peak once `chosen` are checkpointed: at the start
    of backward, the saved tensors less what the segments free; while backward
    recomputes a segment, what the layers before it still hold plus the
    segment's own saved tensors (what comes after it is freed by then). The
    backward working memory is added to both."""
    if not chosen:
        return memory.per_sample_bytes
    first: dict[tuple, int] = {}
    for layer in memory.layers:
        for s in layer.saved:
            if s.per_sample:
                first.setdefault(s.key, layer.node.index)
    freed_keys = {}
    for seg in chosen:
        inside = {n for n in seg.nodes}
        freed_keys[seg.name] = {k for k, i in first.items() if _freed(memory, k, inside, seg)}
    all_freed = set().union(*freed_keys.values())
    held = {k: memory.unique[k].held(1) for k in first}
    peak = sum(v for k, v in held.items() if k not in all_freed)
    for seg in chosen:
        start = min(n.index for n in seg.nodes)
        before = sum(v for k, v in held.items() if first[k] < start and k not in all_freed)
        peak = max(peak, before + seg.held_per_sample)
    return peak + memory.working_per_sample


def _freed(memory: TrainingMemory, key: tuple, inside: set, seg: Segment) -> bool:
    savers = {layer.node for layer in memory.layers for s in layer.saved if s.key == key}
    entry = {i for n in inside for i in n.inputs if i not in inside}
    base = key[1] if key[0] == "tensor" else None
    return savers <= inside and base not in entry
