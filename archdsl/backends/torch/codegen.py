"""IR -> the source of a standalone PyTorch module (imports only torch):
`generate_source` picks the structured generator (structured.py, a class per
block, the default) or the flat one here (`--flat`).

The flat form is one class named after the network. `__init__` creates the submodules as
nested attributes named after the spec (`self.inception3a.branch2.conv1`),
so `state_dict` keys read like the spec; `forward` has one line per layer
with the output shape as a comment (`# N x 96 x 55 x 55`). `archdsl build`
writes this text, and `archdsl.build()` executes the very same text, so there
is exactly one way a spec becomes a module.

A trailing `softmax` (the lecture specs end with one) is kept out of
`forward` by default, which returns logits for `nn.CrossEntropyLoss`;
`predict_proba()` applies it. `softmax="keep"` compiles it into `forward`.
"""
from __future__ import annotations

from archdsl.backends.torch import emit as E
from archdsl.backends.torch.helpers import helper_source
from archdsl.backends.torch.names import attribute_path, class_name, local_name
from archdsl.backends.torch.source_parts import (  # noqa: F401  (trailing_softmax: part of the package API)
    INDENT,
    docstring_lines,
    inplace,
    shape_comment,
    trailing_softmax,
)
from archdsl.backends.torch.structured import generate_structured
from archdsl.core.ir import Graph, Node, Scope
from archdsl.core.shapes import spatial_rank
from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.records import dataclass, field

SOFTMAX_MODES = ("logits", "keep")


def generate_source(network, softmax: str = "logits", source_name: str | None = None, *, flat: bool = False,
                    check_input: bool = True) -> str:
    """The Python source of the module for an analysed `Network`: one class per
    block definition (structured.py), or with `flat` every layer unrolled into
    the network's class. `check_input` (structured only) makes forward compare
    its input's shape with the spec's."""
    if softmax not in SOFTMAX_MODES:
        raise UsageError(f"softmax must be one of {', '.join(SOFTMAX_MODES)}, got {softmax!r}")
    _check_compilable(network.graph)
    if flat:
        return _Generator(network, softmax, source_name).source()
    return generate_structured(network, softmax, source_name, check_input)


def _check_compilable(graph: Graph) -> None:
    for node in graph.nodes:
        if node.op is None or node.shape is None:  # analysis reports these; guard for direct callers
            raise ArchError(Diagnostic("error", f"layer {node.name} has errors; cannot compile", node.span))
        if type(node.op) not in E.EMITTERS and node not in graph.inputs:
            raise ArchError(Diagnostic(
                "error", f"{node.keyword} is not supported by the torch backend yet", node.span,
                hint="`archdsl check` and `archdsl render` work on this spec; `build` and `export` need "
                     "every layer kind compiled"))


@dataclass(slots=True)
class _Generator:
    network: object
    softmax: str
    source_name: str | None
    init: list[str] = field(default_factory=list)
    fwd: list[str] = field(default_factory=list)
    functional: bool = False
    dropped: Node | None = None
    helpers: set[str] = field(default_factory=set)
    args: list[str] = field(default_factory=list)  # forward's parameters, one per input

    @property
    def graph(self) -> Graph:
        return self.network.graph

    def source(self) -> str:
        graph = self.graph
        self.dropped = trailing_softmax(graph) if self.softmax == "logits" else None
        self._body()
        body = helper_source(self.helpers) + self._class()
        return "\n".join(self._header(any("torch." in line for line in body)) + body + [""])

    # -- pieces -------------------------------------------------------------------

    def _header(self, uses_torch: bool) -> list[str]:
        lines = docstring_lines(self.network, self.dropped, self.args, self.source_name)
        lines += (["import torch"] if uses_torch else []) + ["from torch import nn"]
        if self.functional:
            lines.append("import torch.nn.functional as F")
        return lines

    def _class(self) -> list[str]:
        net = self.network
        lines = ["", "", f"class {class_name(net.name)}(nn.Module):",
                 f'{INDENT}"""{net.name} as written in the spec; submodules are named after its layers."""',
                 "", f"{INDENT}def __init__(self):", f"{INDENT * 2}super().__init__()"]
        lines += [INDENT * 2 + line for line in self.init]
        lines += ["", f"{INDENT}def forward(self, {', '.join(self.args)}):"]
        lines += [f"{INDENT * 2}# {arg}: {shape_comment(node.shape)}" for arg, node in
                  zip(self.args, self.graph.inputs, strict=True)]
        lines += [INDENT * 2 + line for line in self.fwd]
        if self.dropped is not None:
            node = self.dropped
            lines += ["", f"{INDENT}def predict_proba(self, x):",
                      f'{INDENT * 2}"""Class probabilities: forward() then the spec\'s trailing softmax."""',
                      f"{INDENT * 2}return self.{attribute_path(node.name)}(self.forward(x))"
                      f"  # {shape_comment(node.shape)}"]
        return lines

    # -- __init__ and forward ----------------------------------------------------------

    def _body(self) -> None:
        graph = self.graph
        users = graph.consumers()
        last_use = {n: max((u.index for u in users[n]), default=-1) for n in graph.nodes}
        results = [self.dropped.inputs[0]] if self.dropped is not None else list(graph.outputs)
        for result in results:
            last_use[result] = len(graph.nodes)
        scopes = {s.path: s for s in graph.scopes if s.name is not None}
        made: set[str] = set()
        announced: set[Scope] = set()
        inputs = graph.inputs or [graph.input]
        self.args = ["x"] if len(inputs) == 1 else [local_name(n.local_name) for n in inputs]
        var: dict[Node, str] = dict(zip(inputs, self.args, strict=True))
        live: dict[str, Node] = {name: node for node, name in var.items()}
        for node in graph.nodes:
            if node in var:
                continue
            if node is self.dropped:
                self._module(node, E.emit(node.op, 0), scopes, made)
                continue
            self._announce(node, announced)
            rank = spatial_rank(node.inputs[0].shape)
            inplace = self._inplace(node, users)
            em = E.emit(node.op, rank, inplace)
            self.functional |= em.uses_functional
            self.helpers.update(em.helpers)
            ref = self._module(node, em, scopes, made) if em.module else None
            ins = [var[i] for i in node.inputs]
            for i in set(node.inputs):
                if last_use[i] == node.index:
                    live.pop(var[i], None)
            name = self._fresh(self._stem(node), live)
            var[node] = name
            if users[node] or node in results:
                live[name] = node
            expr = em.expression(ref, ins)
            self.fwd.append(f"{name} = {expr}  # {shape_comment(node.shape)}")
        note = "  # logits: predict_proba() applies the trailing softmax" if self.dropped is not None else ""
        if len(results) > 1:
            note = "  # " + ", ".join(graph.output_names)
        self.fwd.append(f"return {', '.join(var[r] for r in results)}{note}")

    def _module(self, node: Node, em: E.Emit, scopes, made: set[str]) -> str:
        """Create the containers on the node's path, then its submodule; returns `self.a.b`."""
        path = attribute_path(node.name)
        segments = path.split(".")
        raw = node.name.split(".")
        for depth in range(1, len(segments)):
            prefix = ".".join(segments[:depth])
            if prefix in made:
                continue
            made.add(prefix)
            scope = scopes.get(".".join(raw[:depth]))
            label = f"  # {scope.label}" if scope is not None and scope.kind == "block" else ""
            self.init.append(f"self.{prefix} = nn.Module(){label}")
        self.init.append(f"self.{path} = {em.module.text()}")
        return f"self.{path}"

    def _announce(self, node: Node, announced: set[Scope]) -> None:
        """A comment in forward where a block instance or a repeat begins."""
        for scope in node.scope.ancestors():
            if scope in announced or scope.kind not in ("block", "repeat"):
                continue
            announced.add(scope)
            text = f"{scope.path}: {scope.label}" if scope.kind == "block" else scope.label
            self.fwd.append(f"# {text}")

    @staticmethod
    def _inplace(node: Node, users) -> bool:
        return inplace(node, users)

    @staticmethod
    def _stem(node: Node) -> str:
        """Variable names follow the structure: branches get their own, a residual
        body is `out`, a projection `shortcut`, and the main line stays `x`."""
        scope = node.scope
        while scope is not None:
            if scope.kind == "branch":
                return local_name(scope.name)
            if scope.kind == "shortcut":
                return "shortcut"
            if scope.kind == "residual":
                return "out"
            scope = scope.parent
        return "x"

    @staticmethod
    def _fresh(stem: str, live: dict[str, Node]) -> str:
        if stem not in live:
            return stem
        n = 2
        while f"{stem}_{n}" in live:
            n += 1
        return f"{stem}_{n}"
