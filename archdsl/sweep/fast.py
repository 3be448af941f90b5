"""Figures of many candidates fast: lower each with its choices, but lower a
block call only the first time its arguments, input and choices are seen.

Candidates of a space share most of their structure: a ResNet stage called
with the same width, depth and input shape is the same subgraph in every
candidate that has it. `FoldingLowerer` lowers such a call once, sums its
figures (parameters, MACs, activations, the tensors it saves for backward,
what it saves of its input and of its own output, so a tensor shared across
its boundary still counts once) into a `Summary`, and gives later candidates
one folded node carrying them. tests/test_sweep.py checks that a candidate's
figures equal those of the same spec lowered and analysed in full.

Folded are the network's top-level units: each block call, each repeat, and
each run of layers between them (not a statement with a label or a named
tensor, nor one whose first layer is a ReLU that could run in place on its
input, nor one ending in a softmax or reporting an error). A unit's key is
the decisions of the choice points written in it and in block definitions,
and its input's shape, gradient flag and layout.
"""
from __future__ import annotations

from archdsl.core.ir import Graph, Node
from archdsl.core.ops.activation import Softmax
from archdsl.core.ops.base import Op
from archdsl.core.saved import INPLACE, LONG, Plan, Saved, layout_of, requires_grad, rule_for
from archdsl.core.shapes import numel
from archdsl.frontend import syntax as ast
from archdsl.lowering.lowerer import Lowerer
from archdsl.records import dataclass, field

BACKWARD_KINDS = None  # filled lazily from archdsl.core.memory.BACKWARD


@dataclass(slots=True)
class Summary:
    """A lowered block call's figures, and what a folded node needs to stand in for it."""

    params: int
    buffers: int
    macs: int
    backward: int
    activations: int  # elements of every output inside, for the inference activation memory
    working: int  # the largest layer's output plus inputs (elements), for the backward working memory
    out_shape: tuple
    out_storage: int
    layout: str
    grad_out: bool
    last_type: type
    input_packs: list[int]  # elements of each tensor saved that lives in the input's storage
    output_packs: list[int]  # ... that lives in the block's output storage
    inner_packed: tuple[int, int]  # bytes of the rest as saved (per sample, per batch)
    inner_held: tuple[int, int]  # ... each storage once
    sites: dict = field(default_factory=dict)  # the choice points decided inside, and their values
    nodes: int = 0

    def saved(self, node: Node, plan: Plan) -> list[Saved]:
        """The saved tensors of the folded node, keyed so that the input's and the
        output's storages meet the same tensors saved outside the block."""
        tip = node.inputs[0]
        out = [plan.tensor(tip, "block input") if n == numel(tip.shape) else
               Saved(("tensor", plan.base[tip]), "block input", n, plan.tensor(tip, "").storage)
               for n in self.input_packs]
        out += [Saved(("tensor", node), "block output", n, self.out_storage) for n in self.output_packs]
        (ps, pb), (hs, hb) = self.inner_packed, self.inner_held
        if ps or hs:
            out.append(Saved(("new", node, "inside"), "inside", ps, hs, 1))
        if pb or hb:
            out.append(Saved(("new", node, "inside, per batch"), "inside", pb, hb, 1, per_sample=False))
        return out


@dataclass(frozen=True, slots=True, eq=False)
class FoldedOp(Op):
    """A block call standing in for its lowered nodes (never registered as a kind)."""

    summary: Summary
    keywords = ("block",)

    def params(self):
        return self.summary.params

    def buffers(self):
        return self.summary.buffers

    def macs(self, in_shapes, out):
        return self.summary.macs

    def infer(self, in_shapes):
        return self.summary.out_shape


def _backward(node: Node, macs: int, grad: dict) -> int:
    global BACKWARD_KINDS
    if BACKWARD_KINDS is None:
        from archdsl.core.memory import BACKWARD
        BACKWARD_KINDS = BACKWARD
    rule = next((BACKWARD_KINDS[c] for c in type(node.op).__mro__ if c in BACKWARD_KINDS), None)
    if rule is None or not grad.get(node):
        return 0
    weight, data = rule
    return macs * (weight + (data if any(grad.get(i) for i in node.inputs) else 0))


@dataclass(frozen=True, slots=True)
class Unit:
    """Top-level statements folded together: a block call, a repeat, or a run of
    layers between them. `sites` are the choice points written in them."""

    index: int
    statements: tuple
    sites: tuple[int, ...]
    foldable: bool


_UNFOLDABLE_LAYERS = frozenset({"input", "output", "expect", "split", "chunk"})


def plan_units(body: list, sites) -> list[Unit]:
    """The network body cut into units; a statement with a label, a named
    tensor, a `defaults` or an output is its own unit, lowered every time."""
    units, run = [], []

    def close():
        if run:
            units.append(_unit(len(units), run[:], sites, True))
            run.clear()

    for stmt in body:
        kind = type(stmt)
        plain = getattr(stmt, "label", None) is None and not _names_tensors(stmt)
        if kind is ast.Layer and plain and stmt.op not in _UNFOLDABLE_LAYERS:
            run.append(stmt)
            continue
        close()
        units.append(_unit(len(units), [stmt], sites, plain and kind in (ast.Call, ast.Repeat)))
    close()
    return units


def _unit(index, statements, sites, foldable) -> Unit:
    spans = [s.span for s in statements]
    inside = tuple(site.index for site in sites if any(_within(site.expr.span, sp) for sp in spans))
    return Unit(index, tuple(statements), inside, foldable)


def _within(a, b) -> bool:
    return a.file == b.file and (b.line, b.col) <= (a.line, a.col) and (a.end_line, a.end_col) <= \
        (b.end_line, b.end_col)


def _names_tensors(node) -> bool:
    """Whether a statement refers to a named tensor (@x, @) anywhere inside."""
    import dataclasses
    if isinstance(node, (ast.Ref, ast.Flow)):
        return True
    if isinstance(node, list):
        return any(_names_tensors(n) for n in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return any(_names_tensors(getattr(node, f.name)) for f in dataclasses.fields(node)
                   if f.name not in ("span", "name_span", "op_span", "block_span"))
    return False


class FoldingLowerer(Lowerer):
    """A Lowerer that folds the network's top-level units (see the module).
    `memo` is shared by every candidate of one sweep; `inner_key` holds the
    decisions of the choice points inside block definitions and file defaults."""

    def __init__(self, *args, memo: dict, inner_key: tuple, chooser, units: list[Unit], device: str = "cpu",
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.memo, self.inner_key, self.chooser, self.units = memo, inner_key, chooser, units
        self.device = device
        self._grad: dict[Node, bool] = {}
        self._layout: dict[Node, str] = {}
        self._seen = 0

    def _track(self) -> None:
        """Gradient flags and layouts of the nodes made so far (they do not depend on later ones)."""
        nodes = self.graph.nodes
        for node in nodes[self._seen:]:
            self._grad[node] = requires_grad(node, self._grad)
            summary = getattr(node.op, "summary", None)
            if summary is not None:
                self._layout[node] = summary.layout
            else:
                src = self._layout.get(node.inputs[0], "contiguous") if node.inputs else "contiguous"
                self._layout[node] = layout_of(node, src) if node.op is not None else "contiguous"
        self._seen = len(nodes)

    def lower_body(self, body, tip, scope, ctx, tensors, defaults):
        if self.nesting or scope.parent is not None or not self._matches(body):
            return super().lower_body(body, tip, scope, ctx, tensors, defaults)
        for unit in self.units:
            if unit.foldable and tip is not None and tip.shape is not None and not self.report.failed:
                tip = self._fold(unit, tip, scope, ctx, tensors, defaults)
            else:
                tip = super().lower_body(list(unit.statements), tip, scope, ctx, tensors, defaults)
        return tip

    def _matches(self, body) -> bool:
        statements = [s for u in self.units for s in u.statements]
        return len(statements) == len(body) and all(a is b for a, b in zip(statements, body, strict=True))

    def _fold(self, unit: Unit, tip, scope, ctx, tensors, defaults):
        self._track()
        indices = self.chooser.indices
        key = (unit.index, tuple(indices[i] for i in unit.sites), tip.shape, self._grad.get(tip, False),
               self._layout.get(tip), self.inner_key)
        hit = self.memo.get(key)
        if hit is not None:
            self.chooser.used.update(hit.sites)
            return self.graph.node(FoldedOp(hit), "block", [tip], hit.out_shape, scope, unit.statements[0].span,
                                   None)
        start = len(self.graph.nodes)
        used = set(self.chooser.used)
        result = super().lower_body(list(unit.statements), tip, scope, ctx, tensors, defaults)
        if not self.report.failed and result is not None and len(self.graph.nodes) > start:
            summary = self._summarize(tip, start, result)
            if summary is not None:
                summary.sites = {k: v for k, v in self.chooser.used.items() if k not in used}
                self.memo[key] = summary
        return result

    def _summarize(self, tip: Node, start: int, last: Node) -> Summary | None:
        nodes = self.graph.nodes[start:]
        if not nodes or last is not nodes[-1] or isinstance(last.op, Softmax) or last.shape is None:
            return None
        inside = set(nodes)
        if any(isinstance(n.op, INPLACE) and tip in n.inputs for n in nodes):
            return None  # in place or not depends on who else reads the input, known only later
        if any(i not in inside and i is not tip for n in nodes for i in n.inputs):
            return None
        graph = Graph("memo", list(self.graph.nodes), [], outputs=[last])
        plan = Plan(graph, self.device)
        if plan.base[last] is plan.base[tip]:
            return None
        tip_key, out_key = ("tensor", plan.base[tip]), ("tensor", plan.base[last])
        input_packs, output_packs = [], []
        packed, held, seen = [0, 0], [0, 0], set()
        params = buffers = macs = backward = activations = working = 0
        for node in nodes:
            if node.op is None:
                return None
            p, b, m = node.op.params(), node.op.buffers(), node.op.macs(node.in_shapes, node.shape)
            params, buffers, macs = params + p, buffers + b, macs + m
            backward += _backward(node, m, plan.grad)
            activations += numel(node.shape)
            working = max(working, numel(node.shape) + sum(numel(s) for s in node.in_shapes))
            if not plan.grad[node]:
                continue
            for s in rule_for(type(node.op))(node, plan):
                if s.itemsize == LONG and s.key == tip_key:
                    return None  # token ids saved by an embedding: keep it simple, lower it each time
                if s.key == tip_key:
                    input_packs.append(s.elements)
                elif s.key == out_key:
                    output_packs.append(s.elements)
                else:
                    slot = 0 if s.per_sample else 1
                    packed[slot] += s.packed(1)
                    if s.key not in seen:
                        seen.add(s.key)
                        held[slot] += s.held(1)
        return Summary(params, buffers, macs, backward, activations, working, last.shape,
                       numel(plan.base[last].shape), plan.layout[last], plan.grad[last], type(last.op),
                       input_packs, output_packs, tuple(packed), tuple(held), nodes=len(nodes))
