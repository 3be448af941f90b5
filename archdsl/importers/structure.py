"""Layers (a DAG) -> the statements of a spec: chains of layers, residuals
with their shortcuts, merges of branches, and where the graph is not made of
those (U-Net's long skips, a YOLO neck), named tensors: `label:`, `from @t
{ ... }`, `concat @a @`.

Each layer's value is built as a chain from a base tensor: a layer read by
one consumer is absorbed into it; a merge whose inputs all grow from one
tensor, which nothing else reads, becomes one statement (a residual, a
concat of branches) that extends that tensor's chain. What is left are
segments, written in order, each continuing the flow or starting `from` a
labelled tensor."""
from __future__ import annotations

from archdsl.importers.model import Layer, Model
from archdsl.records import dataclass, field


@dataclass(eq=False)
class Stmt:
    label: str | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class LayerStmt(Stmt):
    layer: Layer


@dataclass(eq=False)
class SplitStmt(Stmt):
    parts: list[Layer]  # labels of all but the last are given by `labels`
    labels: list[str] = field(default_factory=list)


@dataclass(eq=False)
class MergeStmt(Stmt):
    layer: Layer
    branches: list[list[Stmt]]


@dataclass(eq=False)
class ResidualStmt(Stmt):
    layer: Layer  # the add
    body: list[Stmt]
    shortcut: list[Stmt] | None = None
    always: bool = False


@dataclass(eq=False)
class RefMergeStmt(Stmt):
    layer: Layer
    flow: int | None  # which input is the flow; the others are named


@dataclass(eq=False)
class FromStmt(Stmt):
    source: Layer
    body: list[Stmt]


@dataclass(eq=False)
class OutputStmt(Stmt):
    name: str
    ref: Layer | None = None  # None: the flow


@dataclass(eq=False)
class Program:
    name: str
    inputs: list[Layer]
    body: list[Stmt]
    labels: dict  # Layer -> label


@dataclass(eq=False)
class _Chain:
    base: Layer | None
    stmts: list[Stmt]


def layers_of(stmts) -> list[Layer]:
    """Every layer the statements produce, nested bodies included."""
    out = []
    for s in stmts:
        if isinstance(s, LayerStmt):
            out.append(s.layer)
        elif isinstance(s, SplitStmt):
            out += s.parts
        elif isinstance(s, MergeStmt):
            for b in s.branches:
                out += layers_of(b)
            out.append(s.layer)
        elif isinstance(s, ResidualStmt):
            out += layers_of(s.body) + layers_of(s.shortcut or []) + [s.layer]
        elif isinstance(s, RefMergeStmt):
            out.append(s.layer)
        elif isinstance(s, FromStmt):
            out += layers_of(s.body)
        elif hasattr(s, "layers"):
            out += s.layers()
    return out


def output_of(stmt) -> Layer | None:
    if isinstance(stmt, LayerStmt | MergeStmt | ResidualStmt | RefMergeStmt):
        return stmt.layer
    if isinstance(stmt, SplitStmt):
        return stmt.parts[-1]
    if isinstance(stmt, FromStmt):
        return output_of(stmt.body[-1]) if stmt.body else stmt.source
    return getattr(stmt, "out", None)


class _Builder:
    def __init__(self, model: Model):
        self.model = model
        self.users = model.consumers()
        self.uses = {layer: len(self.users[layer]) for layer in model.layers}
        for _, layer in model.outputs:
            self.uses[layer] += 1
        self.chains: dict[Layer, _Chain] = {}
        self.wanted: set[Layer] = set()  # layers read by name

    def take(self, v: Layer) -> _Chain:
        if self.uses[v] == 1 and v in self.chains:
            return self.chains.pop(v)
        return _Chain(v, [])

    def peek(self, v: Layer) -> _Chain:
        if self.uses[v] == 1 and v in self.chains:
            return self.chains[v]
        return _Chain(v, [])

    def build(self) -> Program:
        done: set[Layer] = set()
        for layer in self.model.layers:
            if layer in done:
                continue
            if layer.kind == "input":
                self.chains[layer] = _Chain(layer, [])
            elif layer.kind == "split":
                parts = sorted((u for u in self.users[layer.inputs[0]] if u.kind == "split"),
                               key=lambda u: u.part[0])
                done.update(parts)
                c = self.take(layer.inputs[0]) if self.uses[layer.inputs[0]] == len(parts) else \
                    _Chain(layer.inputs[0], [])
                self.chains[parts[-1]] = _Chain(c.base, c.stmts + [SplitStmt(parts)])
                for part in parts[:-1]:
                    self.chains[part] = _Chain(part, [])
                    self.wanted.add(part)
            elif layer.is_merge and len(layer.inputs) > 1:
                self.chains[layer] = self.merge(layer)
            else:
                c = self.take(layer.inputs[0])
                self.chains[layer] = _Chain(c.base, c.stmts + [LayerStmt(layer)])
        return self.emit()

    def merge(self, m: Layer) -> _Chain:
        peeks = [self.peek(v) for v in m.inputs]
        bases = {p.base for p in peeks}
        if len(bases) == 1 and len(set(m.inputs)) == len(m.inputs):
            (b,) = bases
            region = {m, *(x for p in peeks for x in layers_of(p.stmts))}
            if b is not None and all(u in region for u in self.users[b]) and \
                    not any(out is b for _, out in self.model.outputs):
                branches = [self.take(v).stmts for v in m.inputs]
                c = self.chains.pop(b) if b in self.chains else _Chain(b, [])
                return _Chain(c.base, c.stmts + [self.merge_stmt(m, b, branches)])
        absorbable = [i for i, v in enumerate(m.inputs) if self.uses[v] == 1 and v in self.chains
                      and self.chains[v].stmts]
        flow = absorbable[-1] if absorbable else None
        for i, v in enumerate(m.inputs):
            if i != flow:
                self.wanted.add(v)
        if flow is None:
            return _Chain(None, [RefMergeStmt(m, None)])
        c = self.take(m.inputs[flow])
        return _Chain(c.base, c.stmts + [RefMergeStmt(m, flow)])

    @staticmethod
    def merge_stmt(m: Layer, base: Layer, branches: list[list[Stmt]]) -> Stmt:
        if m.kind == "add" and len(branches) == 2 and branches[0]:
            body, other = branches
            if not other:
                return ResidualStmt(m, body)
            return ResidualStmt(m, body, other, always=base.shape == m.shape)
        return MergeStmt(m, branches)

    def emit(self) -> Program:
        segments = sorted(((end, c) for end, c in self.chains.items() if c.stmts),
                          key=lambda item: self.model.layers.index(item[0]))
        inputs = self.model.inputs
        flow = inputs[0] if inputs else None
        body: list[Stmt] = []
        outputs = dict((id(layer), name) for name, layer in self.model.outputs)
        explicit = len(self.model.outputs) > 1 or (self.model.outputs and
                                                   self.model.outputs[0][1] is not segments[-1][0])
        producers: dict[Layer, Stmt] = {}
        for end, chain in segments:
            if chain.base is None or chain.base is flow:
                stmts = chain.stmts
            else:
                self.wanted.add(chain.base)
                stmts = [FromStmt(chain.base, chain.stmts)]
            body += stmts
            for s in stmts:
                producers[output_of(s)] = s
            flow = end
            if explicit and id(end) in outputs:
                body.append(OutputStmt(outputs[id(end)]))
        labels = _labels(self, producers)
        return Program(self.model.name, inputs, body, labels)


def _labels(builder: _Builder, producers: dict) -> dict:
    """A label for every tensor read by name, on the statement that makes it."""
    taken: set[str] = set()
    labels: dict[Layer, str] = {}
    for layer in builder.model.inputs:
        labels[layer] = layer.name if layer.name else "input"
        taken.add(labels[layer])
    parts = [p for layer in builder.model.layers if layer.kind == "split" for p in [layer]]
    for layer in sorted(set(builder.wanted) | set(parts), key=builder.model.layers.index):
        if layer in labels:
            continue
        name = _label_name(layer, taken)
        labels[layer] = name
        taken.add(name)
        stmt = producers.get(layer)
        if stmt is not None:
            stmt.label = name
    return labels


def _label_name(layer: Layer, taken: set[str]) -> str:
    import keyword
    import re

    from archdsl.core.ops import REGISTRY
    stem = next((s for s in layer.scope if re.fullmatch(r"[A-Za-z_]\w*", s)), None) if layer.scope else None
    if layer.kind == "split":
        stem = "x"
    prefix = re.match(r"[A-Za-z_]+", stem).group(0) if stem else ""
    # Lowering names unlabelled layers `conv1`, `relu2`: a label like that could clash.
    if stem is None or keyword.iskeyword(stem) or stem in REGISTRY or prefix in REGISTRY or \
            stem in ("in", "input", "output"):
        stem = "t"
    name, n = stem, 1
    while name in taken or name == "t":
        n += 1
        name = f"{stem}{n}" if stem != "t" else f"t{n - 1}"
    return name


def structure(model: Model) -> Program:
    return _Builder(model).build()
