"""The network as written, for drawing: the scope tree with its children in
order, and the groups `--collapse` folds into one figure.

Both diagram styles walk this tree; neither looks at scope labels to guess
structure, only at `Scope.kind`."""
from __future__ import annotations

from dataclasses import dataclass, field

from archdsl.core.ir import Graph, Node, Scope

FOLDABLE = ("block", "repeat")


@dataclass(slots=True, eq=False)
class Tree:
    """A scope and its direct children (nodes and sub-scopes) in source order."""

    scope: Scope
    children: list["Node | Tree"] = field(default_factory=list)

    def nodes(self) -> list[Node]:
        """Every node inside, in topological order."""
        out: list[Node] = []
        for child in self.children:
            out.extend(child.nodes() if isinstance(child, Tree) else [child])
        return out

    def trees(self, kind: str) -> list["Tree"]:
        return [c for c in self.children if isinstance(c, Tree) and c.scope.kind == kind]


def scope_tree(graph: Graph) -> Tree:
    """The tree of scopes that hold at least one node; children ordered by first node."""
    trees: dict[Scope, Tree] = {}
    root = None
    for node in graph.nodes:
        chain = node.scope.ancestors()
        for depth, scope in enumerate(chain):
            if scope not in trees:
                trees[scope] = Tree(scope)
                if depth:
                    trees[chain[depth - 1]].children.append(trees[scope])
        if root is None:
            root = trees[chain[0]]
        trees[node.scope].children.append(node)
    return root


@dataclass(slots=True, eq=False)
class Fold:
    """One figure standing for a block or repeat: its nodes, how many identical
    instances it stands for, and the scope whose subtotals it shows."""

    tree: Tree
    title: str
    count: int
    nodes: list[Node]

    @property
    def scope(self) -> Scope:
        return self.tree.scope

    @property
    def last(self) -> Node:
        return self.nodes[-1]


def fold(tree: Tree) -> Fold:
    """Describe a block or repeat folded into one figure. A repeat whose every
    round is one instance of the same block reads `Bottleneck(256, 1) ×2`."""
    scope = tree.scope
    nodes = tree.nodes()
    if scope.kind == "repeat":
        blocks = [c for c in tree.children if isinstance(c, Tree)]
        labels = {b.scope.label for b in blocks}
        only_blocks = blocks and len(blocks) == len(tree.children) and all(b.scope.kind == "block" for b in blocks)
        if only_blocks and len(labels) == 1:
            title = blocks[0].scope.label
        else:
            title = scope.label
        return Fold(tree, title, len(blocks) if only_blocks and len(labels) == 1 else 1, nodes)
    title = f"{scope.name}: {scope.label}" if scope.name and not _auto_name(scope) else scope.label
    return Fold(tree, title, 1, nodes)


def _auto_name(scope: Scope) -> bool:
    """`bottleneck3` is a generated name; `inception3a` was written by the user."""
    label = scope.label.split("(", 1)[0].lower()
    name = scope.name or ""
    return name.startswith(label) and name[len(label):].isdigit()


def foldable(child) -> bool:
    return isinstance(child, Tree) and child.scope.kind in FOLDABLE
