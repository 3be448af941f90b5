"""Names: the dotted layer names (`inception3a.branch2.conv1`) and the tensor
names that labels give (`@e4`), with the rules for where each is visible.

Layer names are unique within their scope: a label claims one, an unlabelled
layer gets its keyword and a counter (`conv1`, `conv2`). Tensor names follow
the text: a label is visible to the statements after it in its body and in
the bodies nested there (branches, repeats, `from`, `if`), not outside that
body, and not inside the blocks it calls (pass a tensor as an argument).
"""
from __future__ import annotations

from archdsl.core.ir import Node, Scope
from archdsl.core.ops.base import Tensor
from archdsl.errors import Fix
from archdsl.lowering.expressions import EvalError
from archdsl.source import Span
from archdsl.text import close_matches


class LayerNames:
    """Unique dotted names per scope."""

    def __init__(self):
        self._taken: dict[str, set[str]] = {}
        self._counters: dict[tuple[str, str], int] = {}

    def fresh(self, scope: Scope, stem: str) -> str:
        taken = self._taken.setdefault(scope.path, set())
        key = (scope.path, stem)
        n = self._counters.get(key, 0)
        while True:
            n += 1
            name = f"{stem}{n}"
            if name not in taken:
                self._counters[key] = n
                taken.add(name)
                return name

    def claim(self, scope: Scope, label: str) -> bool:
        """Take `label` in `scope`; False when it was already taken there."""
        taken = self._taken.setdefault(scope.path, set())
        if label in taken:
            return False
        taken.add(label)
        return True

    @staticmethod
    def dotted(scope: Scope, local: str) -> str:
        return f"{scope.path}.{local}" if scope.path else local


class TensorScope:
    """The tensor names visible in one body: its own labels, then its parent's.

    `hidden` (shared by a whole network) remembers every label defined
    anywhere, so a reference to one that is out of sight says where it is;
    `pending` holds the labels of the statements being lowered, so a
    reference from inside a statement to its own label is named a cycle."""

    __slots__ = ("names", "parent", "where", "hidden", "pending")

    def __init__(self, parent: TensorScope | None = None, where: str = "", hidden: dict | None = None,
                 pending: set | None = None):
        self.names: dict[str, Node] = {}
        self.parent = parent
        self.where = where  # "branch", "repeat", "block Bottleneck": for messages
        self.hidden = hidden if hidden is not None else (parent.hidden if parent is not None else {})
        self.pending = pending if pending is not None else (parent.pending if parent is not None else set())

    def child(self, where: str) -> TensorScope:
        return TensorScope(self, where)

    def define(self, name: str, node: Node, span: Span) -> None:
        self.names[name] = node
        self.hidden.setdefault(name, (span, self.where))

    def lookup(self, name: str, span: Span) -> Tensor:
        scope = self
        while scope is not None:
            node = scope.names.get(name)
            if node is not None:
                return Tensor(node, name)
            scope = scope.parent
        raise self._unknown(name, span)

    def visible(self) -> list[str]:
        out, scope = [], self
        while scope is not None:
            out.extend(n for n in scope.names if n not in out)
            scope = scope.parent
        return out

    def _unknown(self, name: str, span: Span) -> EvalError:
        if name in self.pending:
            return EvalError(f"@{name} refers to the statement it is part of", span,
                             hint="a tensor exists once its statement is complete; this would be a cycle")
        elsewhere = self.hidden.get(name)
        if elsewhere is not None:
            where_span, where = elsewhere
            inside = f" inside a {where}" if where else ""
            if self.where.startswith("block") and not where:
                inside = " in the network that uses this block"
            return EvalError(f"@{name} is not visible here", span,
                             notes=[f"it is defined{inside} at {where_span}"],
                             hint="a label is seen by the statements after it in its own body and the bodies "
                                  "nested there; define it outside, or pass it to the block as an argument")
        visible = self.visible()
        close = close_matches(name, visible, n=1, cutoff=0.6)
        fix = None
        if close:
            hint = f"did you mean @{close[0]}?"
            fix = Fix(span, f"@{close[0]}")
        elif visible:
            hint = "the tensors named here: " + ", ".join(f"@{n}" for n in visible)
        else:
            hint = "name a statement with a label (`e1: conv 64 k=3`) and refer to it later as @e1"
        return EvalError(f"unknown tensor @{name}", span, hint=hint, fix=fix)
