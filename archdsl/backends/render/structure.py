"""The network as written, for drawing: the groups `--collapse` folds into
one figure. Both diagram styles walk the scope tree of the IR (`Scope.children`,
in source order); neither looks at labels to guess structure, only at
`Scope.kind`."""
from __future__ import annotations

from dataclasses import dataclass

from archdsl.core.ir import Node, Scope, ScopeKind

FOLDABLE = (ScopeKind.BLOCK, ScopeKind.REPEAT)


def root(graph) -> Scope:
    """The network's own scope, the root of the tree."""
    return graph.scopes[0]


@dataclass(slots=True, eq=False)
class Fold:
    """One figure standing for a block or repeat: its nodes, how many identical
    instances it stands for, and the scope whose subtotals it shows."""

    scope: Scope
    title: str
    count: int
    nodes: list[Node]

    @property
    def last(self) -> Node:
        return self.nodes[-1]


def fold(scope: Scope) -> Fold:
    """Describe a block or repeat folded into one figure. A repeat whose every
    round is one instance of the same block reads `Bottleneck(256, 1) ×2`."""
    nodes = scope.nodes()
    if scope.kind == ScopeKind.REPEAT:
        blocks = scope.scopes()
        labels = {b.label for b in blocks}
        only_blocks = blocks and len(blocks) == len(scope.children) and all(
            b.kind == ScopeKind.BLOCK for b in blocks)
        if only_blocks and len(labels) == 1:
            return Fold(scope, blocks[0].label, len(blocks), nodes)
        return Fold(scope, scope.label, 1, nodes)
    title = f"{scope.name}: {scope.label}" if scope.name and not _auto_name(scope) else scope.label
    return Fold(scope, title, 1, nodes)


def _auto_name(scope: Scope) -> bool:
    """`bottleneck3` is a generated name; `inception3a` was written by the user."""
    label = scope.label.split("(", 1)[0].lower()
    name = scope.name or ""
    return name.startswith(label) and name[len(label):].isdigit()


def foldable(child) -> bool:
    """A block or repeat that holds at least one layer."""
    return isinstance(child, Scope) and child.kind in FOLDABLE and bool(child.nodes())


def drawn(child) -> bool:
    """Whether a child of the tree shows in a diagram: every node, and every
    scope with a node inside (a `repeat 0` leaves an empty scope behind)."""
    return not isinstance(child, Scope) or bool(child.nodes())
