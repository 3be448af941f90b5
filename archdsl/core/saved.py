"""What autograd keeps for backward, per layer, as PyTorch (2.x, fp32) does for
the module `archdsl build` generates -- statically, without torch.

Each rule lists the tensors a layer's backward needs (`Saved`): its input, its
output, or a tensor made for the purpose (max pooling's int64 indices,
dropout's mask, BatchNorm's batch mean and inverse std). A saved tensor is
named by the storage it lives in, so a tensor saved twice (a ReLU saves its
output, the next conv saves the same tensor as its input) counts once in the
memory total, and a view (flatten, a channel split) counts its whole storage.

The rules were read off `torch.autograd.graph.saved_tensors_hooks`; tests/
test_memory.py measures the built module on the gallery and on random specs
and requires the same bytes. Where PyTorch and the generated code decide
something (which ReLUs run in place, when a pooling layer pads explicitly),
the rule here says the same; docs/explain.md lists them.
"""
from __future__ import annotations

from collections.abc import Callable
from math import prod

from archdsl.core.ir import Graph, Node
from archdsl.core.ops import activation as act
from archdsl.core.ops import conv, dense, norm, pool, resample, reshape, structure, transposed
from archdsl.core.saved_tokens import (
    CHANNELS_LAST,
    CONTIGUOUS,
    DENSE,
    FEATURES_FIRST,
    GAPPED,
    PERMUTED,
    SEQUENCE_FIRST,
    TOKEN_SAVES,
    linear,
    token_aliases,
    token_layout,
)
from archdsl.core.shapes import is_tokens, numel
from archdsl.core.window import output_size
from archdsl.records import dataclass

FLOAT, LONG, BOOL = 4, 8, 1
DEVICES = ("cpu", "cuda")

# Producers whose backward does not need their own output, so a ReLU right
# after them (and nothing else reading them) runs in place: the torch
# backend's rule, torchvision's conv -> bn -> relu(inplace=True).
INPLACE = (act.ReLU, act.ReLU6, act.LeakyReLU)
INPLACE_AFTER = (conv.Conv, dense.Linear, norm.BatchNorm, structure.Add, structure.Concat, transposed.ConvTranspose)


@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor kept for backward. `key` names its storage; `elements` are the
    tensor's own (a view may be smaller than its storage), `storage` the
    storage's; `per_sample` is False for what does not grow with the batch."""

    key: tuple
    what: str
    elements: int
    storage: int
    itemsize: int = FLOAT
    per_sample: bool = True

    def packed(self, batch: int) -> int:
        """Bytes of the tensor itself, what `saved_tensors_hooks` sees."""
        return self.elements * self.itemsize * (batch if self.per_sample else 1)

    def held(self, batch: int) -> int:
        """Bytes of its storage, what the memory holds."""
        return self.storage * self.itemsize * (batch if self.per_sample else 1)


class Plan:
    """The facts the rules need about a graph: who reads what, which tensors
    need gradients, which layers run in place, where each tensor's storage is."""

    def __init__(self, graph: Graph, device: str = "cpu"):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        self.graph, self.device = graph, device
        self.users = graph.consumers()
        out = graph.output
        self.dropped = out if len(graph.outputs) <= 1 and isinstance(out.op, act.Softmax) else None
        self.grad: dict[Node, bool] = {}
        self.base: dict[Node, Node] = {}  # the node whose storage a node's output lives in
        self.layout: dict[Node, str] = {}  # how each output is strided (LAYOUTS)
        for node in graph.nodes:
            self._place(node)

    def _place(self, node: Node) -> None:
        op = node.op
        ins = node.inputs
        folded = getattr(op, "summary", None)  # a block the sweep folded into one node (archdsl.sweep)
        if folded is not None:
            self.grad[node], self.base[node], self.layout[node] = folded.grad_out, node, folded.layout
            return
        self.grad[node] = requires_grad(node, self.grad)
        alias = ins[0] if ins and _aliases(node, self) else None
        self.base[node] = self.base[alias] if alias is not None else node
        source = self.layout[ins[0]] if ins else CONTIGUOUS
        if isinstance(op, structure.Concat) and len(ins) > 1:
            # torch.cat keeps channels last only when every input is channels last;
            # one contiguous (or otherwise strided) input makes the output contiguous
            source = CHANNELS_LAST if all(self.layout[i] == CHANNELS_LAST for i in ins) else CONTIGUOUS
        self.layout[node] = layout_of(node, source)

    def contiguous(self, node: Node) -> bool:
        if node.shape is not None and len(node.shape) <= 1:
            return True  # a flat vector (x[:, i] of tokens, say): N x D reshapes as a view whatever its stride
        if is_tokens(node.shape):  # token_layout already calls a permutation of size-1 axes contiguous
            return self.layout[node] == CONTIGUOUS
        return self.layout[node] == CONTIGUOUS or (node.shape is not None and numel(node.shape[1:]) == 1)

    def inplace(self, node: Node) -> bool:
        if not isinstance(node.op, INPLACE) or len(node.inputs) != 1:
            return False
        (src,) = node.inputs
        return issubclass(producer(src), INPLACE_AFTER) and len(self.users[src]) == 1

    def tensor(self, node: Node, what: str) -> Saved:
        """The graph tensor `node` outputs, saved as it is (a view of its storage)."""
        base = self.base[node]
        itemsize = LONG if getattr(base.op, "dtype", "float") == "long" else FLOAT
        return Saved(("tensor", base), what, numel(node.shape), storage_elements(base), itemsize)

    def new(self, node: Node, what: str, elements: int, itemsize: int = FLOAT, per_sample: bool = True,
            storage: int | None = None, of: str | None = None) -> Saved:
        """A tensor the layer makes (a copy, indices, a mask, statistics); with
        `of`, a view of `storage` elements that every view `of` the same name shares."""
        return Saved(("new", node, of or what), what, elements, elements if storage is None else storage, itemsize,
                     per_sample)


# How a tensor is strided, which decides whether flatten and reshape are views
# and what layout an op's output takes: contiguous; channels last (what
# ChannelLayerNorm's movedim and embedding's transpose give, and what conv,
# bn and pooling then keep on a 2-D or 3-D map); another dense permutation
# (permute); a view with gaps (a channel split, a crop); and for tokens (N x L
# x D in torch's order), features first (`tokens` on a contiguous map: the
# memory N x D x L) and sequence first (attention's output: the memory L x N x
# D). The names are defined in saved_tokens.py, which the token rules need.
LAYOUTS = (CONTIGUOUS, CHANNELS_LAST, PERMUTED, GAPPED, FEATURES_FIRST, SEQUENCE_FIRST)
# Element-wise ops allocate their output like their (first) input (dense layouts kept).
_ELEMENTWISE = (act.Activation, norm.Dropout, norm.LayerScale, norm.StochasticDepth, norm.LocalResponseNorm,
                structure.Add, structure.Mul)
# These keep channels last on a 2-D or 3-D map and give a contiguous output otherwise.
_KEEP_CHANNELS_LAST = (conv.Conv, transposed.ConvTranspose, pool.Pool, norm.BatchNorm, norm.GroupNorm,
                       structure.Concat, resample.Upsample, resample.Pad, pool.AdaptivePool)


def layout_of(node: Node, source: str) -> str:
    """The layout of `node`'s output given its (first) input's, as PyTorch's CPU kernels choose it."""
    op = node.op
    rank = len(node.shape) - 1 if node.shape else 0
    if op is None:
        return CONTIGUOUS
    tokens = token_layout(node, source)
    if tokens is not None:
        return tokens
    if isinstance(op, (reshape.Split, resample.Crop)):
        return GAPPED
    if isinstance(op, reshape.Permute):
        return PERMUTED if op.order != tuple(range(len(op.order))) else source
    if isinstance(op, (structure.Identity, reshape.Shuffle)) or (
            isinstance(op, (norm.Dropout, norm.StochasticDepth)) and op.p == 0):
        return source if not isinstance(op, reshape.Shuffle) or op.groups in (1, node.in_shapes[0][0]) \
            else CONTIGUOUS
    if isinstance(op, dense.Embedding) or (isinstance(op, norm.LayerNorm) and op.rank > 0):
        return CHANNELS_LAST
    if isinstance(op, _ELEMENTWISE):
        return source if source in DENSE else CONTIGUOUS
    if isinstance(op, pool.AvgPool) or (isinstance(op, pool.AdaptivePool) and op.mode == "avg"):
        if rank == 1:
            return source if source in (CHANNELS_LAST, PERMUTED) else CONTIGUOUS
        return CHANNELS_LAST if source == CHANNELS_LAST and (rank == 2 or isinstance(op, pool.AdaptivePool)) \
            else CONTIGUOUS
    if isinstance(op, _KEEP_CHANNELS_LAST):
        # one channel: channels last and contiguous are the same strides, which torch calls contiguous
        return CHANNELS_LAST if source == CHANNELS_LAST and rank in (2, 3) and node.shape[0] > 1 else CONTIGUOUS
    return CONTIGUOUS


def requires_grad(node: Node, grad: dict) -> bool:
    """Whether a node's output needs a gradient: it has parameters, or an input does."""
    op = node.op
    if op is None or node.keyword == "input":
        return False
    folded = getattr(op, "summary", None)
    if folded is not None:
        return folded.grad_out
    return op.params() > 0 or any(grad.get(i, False) for i in node.inputs)


def producer(node: Node) -> type:
    """The op class that made a tensor (a folded block's last layer's)."""
    folded = getattr(node.op, "summary", None)
    return folded.last_type if folded is not None else type(node.op)


def storage_elements(base: Node) -> int:
    folded = getattr(base.op, "summary", None)
    return folded.out_storage if folded is not None else numel(base.shape)


def _aliases(node: Node, plan: Plan) -> bool:
    """Whether `node`'s output is its input's storage (a view, or in place)."""
    op = node.op
    if isinstance(op, (structure.Identity, reshape.Permute, reshape.Split, resample.Crop)):
        return True
    tokens = token_aliases(node, plan.layout[node.inputs[0]])
    if tokens is not None:
        return tokens
    if isinstance(op, (dense.Flatten, reshape.Reshape)):
        return plan.contiguous(node.inputs[0])  # a view when it can be, else reshape copies
    if isinstance(op, (norm.Dropout, norm.StochasticDepth)) and op.p == 0:
        return True  # both return their input untouched at p = 0
    if isinstance(op, reshape.Shuffle):
        # reshape, transpose(1, 2), reshape: a view when one side of the transpose has size 1
        return op.groups in (1, node.in_shapes[0][0])
    return plan.inplace(node)


Rule = Callable[[Node, Plan], list[Saved]]


def _input(node: Node, plan: Plan) -> list[Saved]:
    return [plan.tensor(node.inputs[0], "input")]


def _output(node: Node, plan: Plan) -> list[Saved]:
    return [plan.tensor(node, "output")]


def _nothing(node: Node, plan: Plan) -> list[Saved]:
    return []


def _padded(node: Node, window_pads) -> int:
    """Elements of the input once F.pad has padded it (explicit padding)."""
    shape = node.in_shapes[0]
    return shape[0] * prod(n + b + a for n, (b, a) in zip(shape[1:], window_pads, strict=True))


def _conv(node: Node, plan: Plan) -> list[Saved]:
    w = node.op.window
    if any(b != a for b, a in w.padding):  # TensorFlow's odd `same`: F.pad first, the conv saves that
        return [plan.new(node, "padded input", _padded(node, w.padding))]
    return _input(node, plan)


def _caffe_pads(op: pool.Pool):
    """The explicit padding the torch backend compiles Caffe's rounding to, or
    None where ceil mode already gives Caffe's figures (emit._caffe_window)."""
    w = op.window
    pads, differs = [], False
    for n, k, s, (pb, pa) in zip(op.in_size, w.kernel, w.stride, w.padding, strict=True):
        caffe = output_size(n, k, s, pb, pa, 1, "caffe")
        differs |= caffe != output_size(n, k, s, pb, pa, 1, "ceil") or pb > k // 2
        pads.append((pb, max((caffe - 1) * s + k - (n + pb + pa), 0) + pa))
    return tuple(pads) if differs else None


def _pool_pads(op: pool.Pool):
    """The padding F.pad applies before the pooling module, or None when the
    module pads itself (symmetric, at most half the window)."""
    w = op.window
    if op.rounding == "caffe" and not w.same:
        caffe = _caffe_pads(op)
        if caffe is not None:
            return caffe
    fits = all(b == a and b <= k // 2 for (b, a), k in zip(w.padding, w.kernel, strict=True))
    rank = len(w.kernel)
    padded = any(b or a for b, a in w.padding)
    if not fits or (rank == 3 and op.mode == "avg" and w.same and padded):
        return w.padding
    return None


def _pool(node: Node, plan: Plan) -> list[Saved]:
    op: pool.Pool = node.op
    pads = _pool_pads(op)
    out = numel(node.shape)
    if op.mode == "avg":
        if pads is None:
            return _input(node, plan)
        saved = [plan.new(node, "padded input", _padded(node, pads))]
        if not op.include_pad or op.rounding == "caffe":
            # The mean over real pixels divides by a pooled mask: division saves the divisor.
            saved.append(plan.new(node, "divisor", numel(node.shape[1:]), per_sample=False))
        return saved
    indices = plan.new(node, "indices", out, LONG)
    if op.mode == "min":  # -maxpool(-x): the max pooling saves the negated (padded) copy
        size = _padded(node, pads) if pads is not None else numel(node.in_shapes[0])
        return [plan.new(node, "negated input", size), indices]
    if pads is not None:
        return [plan.new(node, "padded input", _padded(node, pads)), indices]
    return [*_input(node, plan), indices]


def _global_pool(node: Node, plan: Plan) -> list[Saved]:
    if node.op.mode == "avg":
        return []  # a mean: backward needs only the size
    return [*_input(node, plan), plan.new(node, "indices", numel(node.shape), LONG)]


def _adaptive_pool(node: Node, plan: Plan) -> list[Saved]:
    op: pool.AdaptivePool = node.op
    if op.mode == "avg":
        return [] if set(op.output_size) == {1} else _input(node, plan)
    return [*_input(node, plan), plan.new(node, "indices", numel(node.shape), LONG)]


def _batchnorm(node: Node, plan: Plan) -> list[Saved]:
    c = node.op.channels
    return [*_input(node, plan), plan.new(node, "batch mean", c, per_sample=False),
            plan.new(node, "batch inverse std", c, per_sample=False)]


def _instancenorm(node: Node, plan: Plan) -> list[Saved]:
    c = node.op.channels  # batch norm over N*C channels: the statistics grow with the batch
    source = node.inputs[0]
    # at::instance_norm views the input as 1 x NC x ...: a copy when it is not contiguous.
    x = plan.tensor(source, "input") if plan.contiguous(source) else \
        plan.new(node, "contiguous copy of the input", numel(source.shape))
    saved = [x, plan.new(node, "mean", c), plan.new(node, "inverse std", c)]
    if node.op.affine:  # F.instance_norm repeats the weight per sample; batch norm saves that copy
        saved.append(plan.new(node, "repeated weight", c))
    if node.op.running:
        saved += [plan.new(node, "repeated running mean", c), plan.new(node, "repeated running var", c)]
    return saved


def _layernorm(node: Node, plan: Plan) -> list[Saved]:
    shape = node.shape  # a mean and an inverse std per position (per token), one for a flat vector
    positions = numel(shape[:-1]) if is_tokens(shape) else numel(shape[1:]) if node.op.rank else 1
    return [*_input(node, plan), plan.new(node, "mean", positions), plan.new(node, "inverse std", positions)]


def _groupnorm(node: Node, plan: Plan) -> list[Saved]:
    g = node.op.groups
    return [*_input(node, plan), plan.new(node, "mean", g), plan.new(node, "inverse std", g)]


def _lrn(node: Node, plan: Plan) -> list[Saved]:
    """F.local_response_norm is written in torch ops: x*x saves x twice, the
    channel-padded square is average-pooled (saved), pow saves its base, and
    x / div saves x and div."""
    shape = node.in_shapes[0]
    size = node.op.size
    x = plan.tensor(node.inputs[0], "input")
    spatial = numel(shape[1:]) if len(shape) > 1 else 1
    elements = numel(shape)
    return [x, x, plan.new(node, "padded square", (shape[0] + size - 1) * spatial),
            plan.new(node, "power base", elements), x, plan.new(node, "divisor", elements)]


def _dropout(node: Node, plan: Plan) -> list[Saved]:
    if node.op.p == 0:
        return []
    if plan.device == "cuda":  # native_dropout: a bool mask
        return [plan.new(node, "mask", numel(node.shape), BOOL)]
    return [plan.new(node, "mask", numel(node.shape))]  # CPU: input * a float noise tensor


def _stochastic_depth(node: Node, plan: Plan) -> list[Saved]:
    if node.op.p == 0:
        return []
    if node.op.mode == "row":
        return [plan.new(node, "noise", 1)]
    return [plan.new(node, "noise", 1, per_sample=False)]


def _relu(node: Node, plan: Plan) -> list[Saved]:
    return _output(node, plan)


def _leaky(node: Node, plan: Plan) -> list[Saved]:
    # In place, backward reads the result (the slope keeps the sign); otherwise the input.
    return _output(node, plan) if plan.inplace(node) else _input(node, plan)


def _relu6(node: Node, plan: Plan) -> list[Saved]:
    # hardtanh_ needs its original input: autograd keeps a copy of it before the op overwrites it.
    if plan.inplace(node):
        return [plan.new(node, "copy of the input", numel(node.in_shapes[0]))]
    return _input(node, plan)


def _mul(node: Node, plan: Plan) -> list[Saved]:
    """`a * b * c` left to right: each product saves the factor the other's gradient needs."""
    ins = list(node.inputs)
    saved: list[Saved] = []
    left_grad, left_tensor = plan.grad[ins[0]], plan.tensor(ins[0], "input")
    for k, right in enumerate(ins[1:], start=1):
        right_tensor = plan.tensor(right, "input")
        if left_grad:
            saved.append(right_tensor)
        if plan.grad[right]:
            saved.append(left_tensor)
        if k < len(ins) - 1:
            left_tensor = plan.new(node, f"product {k}", numel(node.shape))
        left_grad = left_grad or plan.grad[right]
    return saved


def _pad(node: Node, plan: Plan) -> list[Saved]:
    return _input(node, plan) if node.op.mode in ("reflect", "replicate") else []


def _embedding(node: Node, plan: Plan) -> list[Saved]:
    return [plan.tensor(node.inputs[0], "token ids")]


SAVES: dict[type, Rule] = {
    structure.Input: _nothing,
    conv.Conv: _conv,
    transposed.ConvTranspose: _input,
    dense.Linear: linear,  # a view of its input, or the copy F.linear folds tokens to (saved_tokens.py)
    dense.Flatten: _nothing,
    dense.Embedding: _embedding,
    pool.Pool: _pool,
    pool.GlobalPool: _global_pool,
    pool.AdaptivePool: _adaptive_pool,
    norm.BatchNorm: _batchnorm,
    norm.LayerNorm: _layernorm,
    norm.GroupNorm: _groupnorm,
    norm.InstanceNorm: _instancenorm,
    norm.LocalResponseNorm: _lrn,
    norm.LayerScale: _input,
    norm.Dropout: _dropout,
    norm.StochasticDepth: _stochastic_depth,
    act.ReLU: _relu,
    act.LeakyReLU: _leaky,
    act.ReLU6: _relu6,
    act.Sigmoid: _output,
    act.Tanh: _output,
    act.Softmax: _output,
    act.Activation: _input,  # GELU, SiLU, Hardswish, Hardsigmoid, ELU read their input
    structure.Identity: _nothing,
    structure.Concat: _nothing,
    structure.Add: _nothing,
    structure.Mul: _mul,
    resample.Upsample: _nothing,
    resample.Crop: _nothing,
    resample.Pad: _pad,
    reshape.Reshape: _nothing,
    reshape.Permute: _nothing,
    reshape.Shuffle: _nothing,
    reshape.Split: _nothing,
    **TOKEN_SAVES,  # the token and attention kinds (saved_tokens.py)
}


def rule_for(cls: type) -> Rule | None:
    return next((SAVES[c] for c in cls.__mro__ if c in SAVES), None)


def saved_tensors(graph: Graph, device: str = "cpu") -> tuple[Plan, dict[Node, list[Saved]]]:
    """Every node's saved tensors for one training forward pass (nothing where
    no gradient flows, and nothing for a trailing softmax, which the built
    module leaves to predict_proba)."""
    plan = Plan(graph, device)
    out: dict[Node, list[Saved]] = {}
    for node in graph.nodes:
        if node.op is None or not plan.grad[node] or node is plan.dropped:
            out[node] = []
            continue
        folded = getattr(node.op, "summary", None)
        if folded is not None:
            out[node] = folded.saved(node, plan)
            continue
        rule = rule_for(type(node.op))
        if rule is None:
            raise ValueError(f"the training-memory model has no rule for {node.keyword} "
                             f"({type(node.op).__name__}); add one to archdsl/core/saved.py SAVES")
        out[node] = rule(node, plan)
    return plan, out
