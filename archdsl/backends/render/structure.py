"""The network as written, for drawing: the groups `--collapse` folds into
one figure. Both diagram styles walk the scope tree of the IR (`Scope.children`,
in source order); neither looks at labels to guess structure, only at
`Scope.kind`."""
from __future__ import annotations

from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.records import dataclass

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
    title = f"{scope.name}: {scope.label}" if scope.name and not auto_name(scope) else scope.label
    return Fold(scope, title, 1, nodes)


def auto_name(scope: Scope) -> bool:
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


FUSED_HEADS = ("conv", "fc")  # families that start a fused node
FUSED_TAILS = ("norm", "act")  # what joins them: batch norm, activations, dropout


def fused_chains(graph) -> dict[Node, list[Node]]:
    """conv + bn + relu as one figure (`--fuse`): every conv or fc with the
    shape-keeping norms and activations written right after it in the same
    body, as long as each feeds only the next and none is an output."""
    users = graph.consumers()
    outputs = set(graph.outputs)
    chains: dict[Node, list[Node]] = {}

    def family(n: Node) -> str:
        return n.op.family if n.op is not None else "other"

    for scope in graph.scopes:
        head: Node | None = None
        for child in scope.children:
            prev = (chains.get(head) or [head])[-1] if head is not None else None
            joins = (isinstance(child, Node) and prev is not None and family(child) in FUSED_TAILS
                     and child.inputs == (prev,) and users[prev] == [child] and prev not in outputs
                     and child.shape == prev.shape)
            if joins:
                chains.setdefault(head, []).append(child)
                continue
            head = child if isinstance(child, Node) and family(child) in FUSED_HEADS else None
    return chains


def structured_merges(graph) -> set[Node]:
    """The merge nodes of `concat { branch ... }`, `add { ... }` and residual
    regions: the node that follows the region in its body. Their branches are
    drawn as branches; only other merges (of named tensors) take long skips."""
    out: set[Node] = set()
    for scope in graph.scopes:
        prev = None
        for child in scope.children:
            if isinstance(child, Node) and isinstance(prev, Scope) and prev.kind in (
                    ScopeKind.MERGE, ScopeKind.RESIDUAL):
                out.add(child)
            prev = child
    return out
