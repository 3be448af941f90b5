"""The intermediate representation: a DAG of resolved layer nodes.

Every node knows its inputs (so concat, add and residual skips are edges,
not special cases), its output shape, and the scope it was written in
(block instance, repeat, branch...), which reports and diagrams use to group
and fold. No torch, no lark.
"""
from __future__ import annotations

from enum import StrEnum

from archdsl.core.ops import Op
from archdsl.core.shapes import Shape
from archdsl.records import dataclass, field
from archdsl.source import Span


class ScopeKind(StrEnum):
    """What wrote a scope: the regions of a network as the spec has them."""

    NETWORK = "network"
    BLOCK = "block"  # a block instance
    REPEAT = "repeat"
    MERGE = "merge"  # concat { ... }, add { ... }: its label is the merge keyword
    BRANCH = "branch"
    RESIDUAL = "residual"
    SHORTCUT = "shortcut"


# The records point at each other (inputs, parents, children), so the generated
# repr would walk the whole DAG, once per path: exponential at merges. Each
# says only what identifies it.
@dataclass(slots=True, eq=False, repr=False)
class Scope:
    """A region of the network as written: the network itself, a block
    instance, a repeat, a merge and its branches, a residual and its
    shortcut. `name` is its segment in layer names, None when it adds none.
    `children` holds its nodes and sub-scopes in source order (an identity
    branch is a scope with no children)."""

    kind: ScopeKind
    label: str  # for people: "Inception(64, 96, 128, 16, 32, 32)", "repeat 3", "concat"
    name: str | None
    parent: Scope | None
    span: Span | None
    path: str  # dotted prefix for names inside ('' at the root)
    index: int = 0
    count: int = 1  # repeat count, for "xN" when folded
    children: list[Node | Scope] = field(default_factory=list)
    # A block instance: its definition (syntax.BlockDef) and the values its
    # parameters took ("in" is its input, a Tensor); code generators read them.
    definition: object = None
    args: dict | None = None

    def ancestors(self) -> list[Scope]:
        """From the root down to this scope."""
        chain, s = [], self
        while s is not None:
            chain.append(s)
            s = s.parent
        return chain[::-1]

    def block(self) -> Scope | None:
        """The innermost enclosing block instance."""
        s = self
        while s is not None and s.kind != ScopeKind.BLOCK:
            s = s.parent
        return s

    def nodes(self) -> list[Node]:
        """Every node inside, in topological order."""
        out: list[Node] = []
        for child in self.children:
            if isinstance(child, Scope):
                out.extend(child.nodes())
            else:
                out.append(child)
        return out

    def scopes(self, kind: ScopeKind | None = None) -> list[Scope]:
        """The direct sub-scopes, of one kind or all."""
        return [c for c in self.children if isinstance(c, Scope) and (kind is None or c.kind == kind)]

    def __repr__(self) -> str:
        return f"<Scope {self.kind} {self.path or '(root)'!s} {self.label!r}>"


@dataclass(slots=True, eq=False, repr=False)
class Node:
    """One layer. `op` is None only when the layer could not be built (its
    error was reported); `shape` is None when it or an input is unknown."""

    index: int
    name: str  # unique dotted name: "inception3a.branch2.conv1"
    op: Op | None
    inputs: tuple[Node, ...]
    shape: Shape | None
    scope: Scope
    span: Span
    keyword: str  # the layer keyword as written: conv, maxpool, concat...

    @property
    def in_shapes(self) -> list[Shape | None]:
        return [n.shape for n in self.inputs]

    @property
    def local_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        inputs = ", ".join(n.name for n in self.inputs)
        return f"<Node #{self.index} {self.name} ({self.keyword}) <- [{inputs}] -> {self.shape}>"


@dataclass(slots=True, eq=False, repr=False)
class Graph:
    """A lowered network: nodes in topological order. `inputs` in the order the
    spec declares them (the first node is the first input); `outputs` likewise,
    with their names (`output mask`; "output" for the one unnamed output)."""

    name: str
    nodes: list[Node]
    scopes: list[Scope]
    span: Span | None = None
    outputs: list[Node] = field(default_factory=list)
    inputs: list[Node] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    layout: str = "chw"  # how the spec writes shapes (`layout hwc`): the order tables print by default

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.nodes)} nodes>"

    @property
    def input(self) -> Node:
        return self.inputs[0] if self.inputs else self.nodes[0]

    @property
    def output(self) -> Node:
        return self.outputs[0] if self.outputs else self.nodes[-1]

    def input_vocab(self, node: Node, default: int = 100) -> int | None:
        """What a `dtype=long` input may hold, for example batches: ids below the
        smallest vocabulary that reads it (`default` when none does); None for float data."""
        if getattr(node.op, "dtype", "float") != "long":
            return None
        return min((u.op.vocab for u in self.consumers()[node] if hasattr(u.op, "vocab")), default=default)

    def consumers(self) -> dict[Node, list[Node]]:
        users: dict[Node, list[Node]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                users[i].append(n)
        return users
