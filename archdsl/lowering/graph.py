"""Building the IR as statements are lowered: nodes and scopes, the limit on
their number, and the bookkeeping of error recovery (which failed layer a
shape was assumed from, so later errors can say so)."""
from __future__ import annotations

from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.ops.base import ShapeError
from archdsl.core.shapes import Shape
from archdsl.limits import Limits
from archdsl.lowering.binding import Bound
from archdsl.lowering.names import LayerNames
from archdsl.lowering.reporter import Reporter
from archdsl.source import Span
from archdsl.text import shape_text


class Abort(Exception):
    """Stops lowering when a limit is hit; its diagnostic is already recorded."""


class GraphBuilder:
    def __init__(self, limits: Limits, reporter: Reporter):
        self.limits = limits
        self.report = reporter
        self.nodes: list[Node] = []
        self.scopes: list[Scope] = []
        self.names = LayerNames()
        # Error recovery: node index -> (keyword, span, shape) of the failed layer
        # whose assumed output this node's shape rests on (see guess()).
        self.assumed: dict[int, tuple[str, Span, Shape]] = {}

    def scope(self, kind: ScopeKind, label: str, name: str | None, parent: Scope | None, span: Span | None,
              path: str | None = None, count: int = 1) -> Scope:
        if path is None:
            path = parent.path
            if name is not None:
                path = f"{path}.{name}" if path else name
        scope = Scope(kind, label, name, parent, span, path, len(self.scopes), count)
        self.scopes.append(scope)
        if parent is not None:
            parent.children.append(scope)
        return scope

    def local_name(self, scope: Scope, label: str | None, stem: str, span: Span) -> str:
        """A label claimed in `scope` (reporting a clash), or a fresh name from `stem`."""
        if label is None:
            return self.names.fresh(scope, stem)
        if not self.names.claim(scope, label):
            self.report.error(f"the name '{label}' is already used in this scope", span,
                              hint="names must be unique within their network, block instance or branch")
        return label

    def node(self, op, keyword: str, inputs, shape, scope: Scope, span: Span, label: str | None) -> Node:
        if len(self.nodes) >= self.limits.max_layers:
            self.report.error(f"the network expands to more than {self.limits.max_layers:,} layers", span,
                              hint="check the repeat counts, or raise the limit with --max-layers")
            raise Abort
        local = self.local_name(scope, label, keyword, span)
        node = Node(len(self.nodes), f"{scope.path}.{local}" if scope.path else local, op, tuple(inputs),
                    shape, scope, span, keyword)
        self.nodes.append(node)
        scope.children.append(node)
        return node

    def check_size(self, shape: Shape) -> None:
        if any(d > self.limits.max_dim for d in shape):
            raise ShapeError(f"output {shape_text(shape)} exceeds the size limit of {self.limits.max_dim:,}")

    # -- error recovery ------------------------------------------------------------------

    @staticmethod
    def guess(cls, bound: Bound, shape_in: Shape) -> Shape | None:
        """The output of a layer whose attributes failed, when it does not depend on
        them: a shape-keeping layer, or only shape-neutral attributes (groups, bias)
        wrong. Anything else (a bad stride, an unknown attribute that may be a
        misspelt one) leaves the output unknown, so no error is invented from it."""
        if cls.keeps_shape:
            return shape_in
        if bound.structural or not bound.failed <= cls.shape_neutral:
            return None
        values = dict(bound.partial)
        for attr in cls.attrs:
            if attr.name in bound.failed:
                values[attr.name] = attr.default_value()
        try:
            return cls.make(values, [shape_in]).infer([shape_in])
        except ShapeError as exc:
            return exc.shape

    def track(self, node: Node, tips, guess: Shape | None, span: Span) -> None:
        """Remember which failed layer a node's shape was assumed from: the first
        one upstream, since every later assumption rests on it."""
        for tip in tips:
            if tip is not None and tip.index in self.assumed:
                self.assumed[node.index] = self.assumed[tip.index]
                return
        if guess is not None:
            self.assumed[node.index] = (node.keyword, span, guess)

    def assuming(self, *tips) -> list[str]:
        """A note for an error found on a shape that rests on an earlier failed layer."""
        for tip in tips:
            if tip is not None and tip.index in self.assumed:
                keyword, span, shape = self.assumed[tip.index]
                return [f"assuming the {keyword} at {span} gives {shape_text(shape)} once its own error is fixed"]
        return []
