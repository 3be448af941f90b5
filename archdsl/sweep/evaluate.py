"""One candidate of a space: lowered with its choices (folding repeated
block calls, fast.py), and its figures -- parameters, MACs and memory."""
from __future__ import annotations

from archdsl.core.memory import OPTIMIZERS
from archdsl.core.saved import FLOAT, saved_tensors
from archdsl.core.shapes import numel
from archdsl.errors import ArchError
from archdsl.frontend import syntax as ast
from archdsl.limits import DEFAULT_LIMITS
from archdsl.lowering.expressions import CHOOSER, EvalError, show_value
from archdsl.records import dataclass
from archdsl.sweep.fast import FoldingLowerer, _backward, plan_units
from archdsl.sweep.space import Space

MEMORY_KINDS = ("train", "inference")


class Chooser:
    """Decides every choice point of one candidate and records which were reached."""

    def __init__(self, space: Space, indices: list[int]):
        self.space, self.indices = space, indices
        self.used: dict[int, object] = {}  # site index -> the value taken (first time reached)

    def choose(self, expr, values):
        site = self.space.by_key.get((expr.span.file, expr.span.line, expr.span.col))
        if site is None:  # pragma: no cover - every choice point is scanned
            raise EvalError("a choice point the sweep did not find", expr.span)
        index = self.indices[site.index]
        if index >= len(values):
            raise EvalError(f"this choice has {len(values)} options here, the space counted {site.count}",
                            expr.span)
        value = values[index]
        self.used.setdefault(site.index, value)
        return value


@dataclass(slots=True)
class Candidate:
    """A candidate's figures; `error` is set (and the figures 0) when its network is invalid."""

    id: int
    params: int = 0
    macs: int = 0
    memory: int = 0
    backward_macs: int = 0
    activations: int = 0
    choices: tuple = ()  # (site index, value) for the choice points it reached
    error: str | None = None

    def values(self, space: Space) -> list[str]:
        taken = dict(self.choices)
        return [show_value(taken[s.index]) if s.index in taken else "-" for s in space.sites]


def graph_figures(graph, batch: int, optimizer: str, memory: str, device: str = "cuda") -> tuple[int, ...]:
    """(params, MACs, memory bytes, backward MACs, activation elements) of a lowered
    graph (folded nodes included); the same as archdsl.core.memory gives for it in full."""
    params = buffers = macs = backward = activations = 0
    plan, saved = saved_tensors(graph, device) if memory == "train" else (None, None)
    working = 0
    for node in graph.nodes:
        op = node.op
        if op is None:
            continue
        summary = getattr(op, "summary", None)
        m = op.macs(node.in_shapes, node.shape)
        params, buffers, macs = params + op.params(), buffers + op.buffers(), macs + m
        if node.keyword == "input":
            continue
        activations += summary.activations if summary is not None else numel(node.shape)
        if plan is not None:
            backward += summary.backward if summary is not None else _backward(node, m, plan.grad)
            size = summary.working if summary is not None else \
                numel(node.shape) + sum(numel(s) for s in node.in_shapes)
            working = max(working, size)
    if memory == "inference":
        return params, macs, activations * FLOAT * batch, 0, activations
    unique: dict = {}
    for items in saved.values():
        for s in items:
            unique.setdefault(s.key, s)
    held = sum(s.held(batch) for s in unique.values())
    fixed = FLOAT * (params * (2 + OPTIMIZERS[optimizer]) + buffers)
    return params, macs, fixed + held + working * FLOAT * batch, backward, activations


class Evaluator:
    """Evaluates candidates of one space, sharing the folded block calls between them."""

    def __init__(self, space: Space, batch: int = 1, optimizer: str = "sgd", memory: str = "train",
                 device: str = "cuda", limits=DEFAULT_LIMITS, fold: bool = True):
        if memory not in MEMORY_KINDS:
            raise ValueError(f"memory must be one of {', '.join(MEMORY_KINDS)}")
        self.space, self.batch, self.optimizer, self.memory, self.device = space, batch, optimizer, memory, device
        self.limits, self.fold = limits, fold
        self.memo: dict = {}
        try:
            from archdsl.lowering.layout import file_layouts
            layouts, _ = file_layouts(list({id(p): p for p in space.workspace.programs.values()}.values()))
        except ImportError:  # pragma: no cover - a checkout without `layout hwc`
            layouts = None
        self.layouts = layouts
        body = space.network.body
        first = next((i for i, st in enumerate(body) if not (type(st) is ast.Layer and st.op == "input")), len(body))
        self.units = plan_units(body[first:], space.sites)

    def lower(self, cid: int):
        """(graph or None, chooser, first error message or None) for candidate `cid`."""
        space = self.space
        indices = space.decode(cid)
        chooser = Chooser(space, indices)
        ws = space.workspace
        extra = (self.layouts,) if self.layouts is not None else ()
        if self.fold:
            inner = tuple(indices[i] for i in space.block_sites)
            lowerer = FoldingLowerer(ws.blocks, self.limits, None, ws.defaults, *extra, memo=self.memo,
                                     inner_key=inner, chooser=chooser, units=self.units, device=self.device)
        else:
            from archdsl.lowering.lowerer import Lowerer
            lowerer = Lowerer(ws.blocks, self.limits, None, ws.defaults, *extra)
        token = CHOOSER.set(chooser)
        try:
            return lowerer.lower_network(space.network), chooser, None
        except ArchError as exc:
            first = next((d for d in exc.diagnostics if d.severity == "error"), exc.diagnostics[0])
            return None, chooser, f"line {first.line}: {first.message}" if first.line else first.message
        finally:
            CHOOSER.reset(token)

    def evaluate(self, cid: int) -> Candidate | None:
        """The candidate's figures; None when it repeats an earlier ID (it differs
        only at choice points it never reaches)."""
        graph, chooser, error = self.lower(cid)
        indices = chooser.indices
        if any(indices[i] for i in range(len(indices)) if i not in chooser.used):
            return None
        choices = tuple(sorted(chooser.used.items()))
        if graph is None:
            return Candidate(cid, choices=choices, error=error)
        params, macs, memory, backward, activations = graph_figures(graph, self.batch, self.optimizer,
                                                                    self.memory, self.device)
        return Candidate(cid, params, macs, memory, backward, activations, choices)
