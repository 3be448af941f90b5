"""IR -> PyTorch source that reads like a torchvision model file.

One `nn.Module` class per block definition (`blocks.BlockClass`), whose
constructor takes the block's parameters and its input's channels; the
network's class creates one instance per call (`self.bottleneck4 =
Bottleneck(256, 512, s=2)`), copies a `repeat` makes alike in a loop, and
comments every call in `forward` with its shape. Branches and shortcuts that
are a plain chain become an `nn.Sequential`.

Submodules keep the spec's names, so `state_dict()` keys are the names
`archdsl check` prints, exactly as in the unrolled (`--flat`) form: a
checkpoint of one form loads into the other.

The instances of a definition that differ in more than numbers (an `if` that
chose another body) get a class each; an instance that cannot be one call
(it reads a tensor it was not given) is written inline, as `--flat` would.
"""
from __future__ import annotations

import re

from archdsl.backends.torch import emit as E
from archdsl.backends.torch.blocks import BlockClass, Unfit, interface, relative
from archdsl.backends.torch.fit import literal_of
from archdsl.backends.torch.helpers import HELPERS, helper_source
from archdsl.backends.torch.names import attribute_path, class_name, local_name, safe_segment
from archdsl.backends.torch.source_parts import (
    INDENT,
    docstring_lines,
    inplace,
    shape_comment,
    trailing_softmax,
)
from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.ops import structure
from archdsl.core.shapes import spatial_rank
from archdsl.lowering.expressions import INPUT, show_value
from archdsl.records import dataclass, field

WIDTH = 100  # generated lines are wrapped near this (ruff's default rules do not limit them)
ROOT, CLASS, STRUCTURE = "root", "class", "structure"


@dataclass(slots=True)
class _Step:
    """One line of forward: `out = text(input variables)`."""

    out: Node
    ins: list[Node]
    text: object  # callable: list of variable names -> expression
    scope: Scope  # where it is written, for its variable's name
    loop: tuple | None = None  # (owner, stem, start, stop): a loop over alike copies
    shown: Node | None = None  # the node whose shape the comment gives (default: out)


class _Plan:
    """What the whole file needs: every node's Emit and every block instance's class."""

    def __init__(self, network, softmax: str):
        graph = network.graph
        self.network, self.graph = network, graph
        self.users = graph.consumers()
        self.dropped = trailing_softmax(graph) if softmax == "logits" else None
        self.results = [self.dropped.inputs[0]] if self.dropped is not None else list(graph.outputs)
        inputs = set(graph.inputs or [graph.input])
        self.emits = {}
        for node in graph.nodes:
            if node in inputs:
                continue
            rank = 0 if node is self.dropped else spatial_rank(node.inputs[0].shape)
            self.emits[node] = E.emit(node.op, rank, inplace(node, self.users) if node is not self.dropped else False)
        self.scopes = {s.path: s for s in graph.scopes if s.name is not None}
        self.residual_add: dict[Scope, Node] = {}
        for scope in graph.scopes:
            kids = scope.children
            for i, child in enumerate(kids[:-1]):
                nxt = kids[i + 1]
                if isinstance(child, Scope) and child.kind == ScopeKind.RESIDUAL and isinstance(nxt, Node) \
                        and isinstance(nxt.op, structure.Add) and nxt.op.residual:
                    self.residual_add[child] = nxt
        self.add_residual = {add: r for r, add in self.residual_add.items()}
        self.units: dict[Scope, BlockClass] = {}
        self.pending: Scope | None = None  # the representative of the class being made
        self.classes: list[BlockClass] = []
        self.taken = {class_name(network.name), *HELPERS, "OrderedDict", "nn", "torch", "F"}
        self._assign()

    def _assign(self) -> None:
        """Group each definition's instances into classes, nested definitions first."""
        result_set = set(self.results)
        by_def: dict[str, list[Scope]] = {}
        for scope in self.graph.scopes:
            if scope.kind == ScopeKind.BLOCK and scope.definition is not None:
                by_def.setdefault(scope.definition.name, []).append(scope)
        for name in _nested_first(by_def):
            candidates = []
            for inst in by_def[name]:
                itf = interface(inst, self.users, result_set, self.dropped)
                if itf is not None:
                    candidates.append((inst, itf))
            groups: list[tuple[str, dict, list]] = []
            for inst, itf in candidates:
                key, sections = _Writer(self, inst, STRUCTURE, itf=itf).structure()
                for gkey, gsections, members in groups:
                    if gkey == key and all(gsections.get(k, t) == t for k, t in sections.items()):
                        gsections.update(sections)
                        members.append((inst, itf))
                        break
                else:
                    groups.append((key, dict(sections), [(inst, itf)]))
            notes = _distinctions([[inst for inst, _ in members] for _, _, members in groups])
            for (_, _, members), note in zip(groups, notes, strict=True):
                self._make_class(by_def[name][0].definition, members, note)

    def _make_class(self, definition, members, note: str) -> None:
        name = _free_name(definition.name, self.taken)
        unit = BlockClass(name, definition, [m for m, _ in members], dict(members), self.emits, units=self.units,
                          note=note)
        unit.prepare()
        self.pending = unit.representative
        for add_rel in _residual_keys(self, unit):
            present = [_has_shortcut(self, inst, add_rel, unit) for inst in unit.instances]
            unit.modes[add_rel] = "all" if all(present) else "none" if not any(present) else "optional"
        try:
            writer = _Writer(self, unit.representative, CLASS, unit=unit, itf=unit.interfaces[unit.representative])
            unit.code = writer.class_lines()
        except Unfit:
            return  # written inline
        self.taken.add(name)
        self.classes.append(unit)
        for inst in unit.instances:
            self.units[inst] = unit


def _nested_first(by_def: dict[str, list[Scope]]) -> list[str]:
    """Definition names, each after every definition its instances contain."""
    inner: dict[str, set[str]] = {name: set() for name in by_def}
    for name, instances in by_def.items():
        for inst in instances:
            for s in _walk_scopes(inst):
                if s is not inst and s.kind == ScopeKind.BLOCK and s.definition is not None:
                    inner[name].add(s.definition.name)
    order: list[str] = []

    def visit(name):
        if name in order:
            return
        for dep in sorted(inner[name]):
            if dep != name:
                visit(dep)
        order.append(name)

    for name in by_def:
        visit(name)
    return order


def _walk_scopes(scope: Scope):
    yield scope
    for child in scope.children:
        if isinstance(child, Scope):
            yield from _walk_scopes(child)


def _free_name(name: str, taken: set[str]) -> str:
    base = name[0].upper() + name[1:]
    joint = "_" if base[-1].isdigit() else ""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{joint}{n}", n + 1
    return candidate


def _distinctions(groups: list[list[Scope]]) -> list[str]:
    """For each group of a definition's instances, the arguments that set it
    apart ("act=hardswish, se=true"), when the definition needs several classes."""
    if len(groups) < 2:
        return [""] * len(groups)
    constant = []
    for members in groups:
        values = {}
        for name, value in (members[0].args or {}).items():
            # Layer kinds and flags pick a body; numbers rarely do, and would only list the call.
            if name != INPUT and (isinstance(value, bool) or isinstance(value, str)) \
                    and all(_shown(m.args.get(name)) == _shown(value) for m in members):
                values[name] = _shown(value)
        constant.append(values)
    notes = []
    for values in constant:
        differing = [f"{k}={v}" for k, v in values.items()
                     if any(other.get(k) != v for other in constant if other is not values)]
        notes.append(", ".join(differing))
    return notes


def _shown(value) -> str:
    return show_value(value) if value is not None else "-"


def _residual_keys(plan: _Plan, unit: BlockClass):
    """The residuals the class writes itself (not those inside a nested class's instances)."""
    for r, add in plan.residual_add.items():
        if _owner(plan, r) is unit.representative:
            yield unit.rel(add)


def _owner(plan: _Plan, scope: Scope) -> Scope | None:
    """The innermost enclosing block instance that is written as a class of its own."""
    s = scope
    while s is not None:
        if s.kind == ScopeKind.BLOCK and (s in plan.units or s.definition is not None and s is plan.pending):
            return s
        s = s.parent
    return None


def _has_shortcut(plan: _Plan, inst: Scope, add_rel: str, unit: BlockClass) -> bool:
    add = unit._index[inst].get(add_rel)
    r = plan.add_residual.get(add)
    return r is not None and any(isinstance(c, Scope) and c.kind == ScopeKind.SHORTCUT for c in r.children)


@dataclass(eq=False)
class _Writer:
    """The __init__ lines and forward steps of one class body: the network's
    (ROOT, literal values), a block class's (CLASS, fitted expressions), or an
    instance's shape only (STRUCTURE, values as placeholders) for grouping."""

    plan: _Plan
    root: Scope
    mode: str
    unit: BlockClass | None = None
    itf: object = None
    init: list[str] = field(default_factory=list)
    steps: list[_Step] = field(default_factory=list)
    made: set = field(default_factory=set)
    sections: dict = field(default_factory=dict)
    results_vars: list = field(default_factory=list)
    kept: set = field(default_factory=set)  # constructor parameters forward reads (as self.name)

    # -- values ---------------------------------------------------------------------------------

    def value(self, item, slot, val: E.Val) -> str:
        if self.mode == ROOT:
            return val.text()
        if self.mode == STRUCTURE:
            size = len(val.value) if isinstance(val.value, tuple) else ""
            return f"#{val.style}{type(val.value).__name__}{size}"
        return self.unit.expr(item, slot, val)

    def forward_value(self, item, slot, val: E.Val) -> str:
        """A value forward uses: in a class, the constructor's parameters it reads are kept as attributes."""
        text = self.value(item, slot, val)
        if self.mode != CLASS:
            return text
        names = self.unit.variables()

        def keep(match):
            self.kept.add(match.group(0))
            return f"self.{match.group(0)}"
        return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: keep(m) if m.group(0) in names else m.group(0), text)

    def ctor(self, node: Node, ctor: E.Ctor) -> str:
        args = [self.value(node, ("a", i), v) for i, v in enumerate(ctor.args)]
        for j, kw in enumerate(ctor.kwargs):
            shown = kw.shown if self.mode == ROOT else True if self.mode == STRUCTURE else self.unit.shown(node, j)
            if shown:
                args.append(f"{kw.name}={self.value(node, ('k', j), kw.val)}")
        return f"{ctor.name}({', '.join(args)})"

    def call(self, scope: Scope, unit: BlockClass) -> str:
        """`Bottleneck(256, 512, s=2)`: a nested class's constructor call."""
        if self.mode == STRUCTURE:
            return f"{unit.name}(...)"
        parts = []
        for p in unit.signature():
            value = unit.call_values(scope)[p.name]
            text = literal_of(value) if self.mode == ROOT else self.unit.expr(scope, ("arg", p.name), E.Val(value))
            if p.default is None:
                parts.append(text)
            elif text != p.default:
                parts.append(f"{p.name}={text}")
        return f"{unit.name}({', '.join(parts)})"

    # -- attributes -------------------------------------------------------------------------------

    def path(self, dotted: str) -> str:
        return attribute_path(relative(dotted, self.root))

    def assign(self, dotted: str, text: str) -> str:
        """`self.a.b = text`, creating the containers on the way; returns `self.a.b`."""
        path = self.containers(dotted)
        self.made.add(path)
        self.init.append(f"self.{path} = {text}")
        return f"self.{path}"

    def containers(self, dotted: str) -> str:
        """Create the `nn.Module()` containers above `dotted`; returns its attribute path."""
        path = self.path(dotted)
        segments = path.split(".")
        raw = relative(dotted, self.root).split(".")
        for depth in range(1, len(segments)):
            prefix = ".".join(segments[:depth])
            if prefix not in self.made:
                self.made.add(prefix)
                full = ".".join(filter(None, [self.root.path, *raw[:depth]]))
                scope = self.plan.scopes.get(full)
                label = f"  # {scope.label}" if scope is not None and scope.kind == ScopeKind.BLOCK else ""
                self.init.append(f"self.{prefix} = nn.Module(){label}")
        return path

    # -- walking the scopes --------------------------------------------------------------------------

    def walk(self, scope: Scope) -> None:
        self.items(scope.children)

    def items(self, children) -> None:
        for child in children:
            if isinstance(child, Node):
                self.node(child)
            elif child.kind == ScopeKind.BLOCK:
                self.block(child)
            elif child.kind == ScopeKind.REPEAT:
                self.repeat(child)
            elif child.kind == ScopeKind.RESIDUAL:
                self.residual(child)
            elif child.kind in (ScopeKind.BRANCH, ScopeKind.SHORTCUT):
                self.container(child)
            else:
                self.walk(child)

    def node(self, node: Node) -> None:
        em = self.plan.emits.get(node)
        if em is None:
            return  # an input: forward's argument
        ref = self.assign(node.name, self.ctor(node, em.module)) if em.module is not None else None
        if node is self.plan.dropped:
            return
        values = [self.forward_value(node, ("c", i), v) for i, v in enumerate(em.args)]
        ins = list(node.inputs)
        r = self.plan.add_residual.get(node)
        if self.mode == STRUCTURE and r is not None:
            ins = [node.inputs[0], _residual_input(r, node)]
            self.steps.append(_Step(node, ins, lambda vs: f"{vs[0]} + <skip>", node.scope))
            return
        self.steps.append(_Step(node, ins, lambda vs, em=em, ref=ref, values=values:
                                em.call.format(*values, m=ref, x=vs[0], xs=em.join.join(vs)), node.scope))

    def block(self, scope: Scope) -> None:
        unit = self.plan.units.get(scope)
        if unit is None:
            self.walk(scope)
            return
        itf = unit.interfaces[scope]
        ref = self.assign(scope.path, self.call(scope, unit))
        self.steps.append(_Step(itf.output, [itf.input, *(n for _, n in itf.tensors)],
                                lambda vs, ref=ref: f"{ref}({', '.join(vs)})", scope.parent))

    def repeat(self, scope: Scope) -> None:
        if self.mode == ROOT and scope.name is not None and self._stack(scope):
            return
        if self.mode != ROOT or not self._loops(scope):
            self.walk(scope)

    def _stack(self, scope: Scope) -> bool:
        """A labelled repeat of alike copies: one nn.Sequential, keys `stage1.b1`..."""
        kids = scope.children
        if len(kids) < 2 or not all(isinstance(k, Scope) and k.kind == ScopeKind.BLOCK and k in self.plan.units
                                    and not self.plan.units[k].interfaces[k].tensors for k in kids):
            return False
        if not all(self._alike(a, b) for a, b in zip(kids, kids[1:], strict=False)):
            return False
        stem, start = _numbered(kids[0].name)
        unit = self.plan.units[kids[0]]
        text = (f'nn.Sequential(OrderedDict((f"{safe_segment(stem)}{{i}}", {self.call(kids[0], unit)}) '
                f"for i in range({start}, {start + len(kids)})))")
        ref = self.assign(scope.path, text)
        first, last = unit.interfaces[kids[0]], unit.interfaces[kids[-1]]
        self.steps.append(_Step(last.output, [first.input], lambda vs: f"{ref}({vs[0]})", scope.parent))
        return True

    def _loops(self, scope: Scope) -> bool:
        """Runs of alike block calls as loops; False when there is none to write."""
        kids = scope.children
        if not kids or not all(isinstance(k, Scope) and k.kind == ScopeKind.BLOCK and k in self.plan.units
                               and not self.plan.units[k].interfaces[k].tensors for k in kids):
            return False
        runs, i = [], 0
        while i < len(kids):
            j = i + 1
            while j < len(kids) and self._alike(kids[j - 1], kids[j]):
                j += 1
            runs.append(kids[i:j])
            i = j
        if all(len(r) == 1 for r in runs):
            return False
        for run in runs:
            if len(run) == 1:
                self.block(run[0])
            else:
                self._loop(run)
        return True

    def _alike(self, a: Scope, b: Scope) -> bool:
        ua, ub = self.plan.units[a], self.plan.units[b]
        ia, ib = ua.interfaces[a], ub.interfaces[b]
        if ua is not ub or self.call(a, ua) != self.call(b, ub) or ib.input is not ia.output:
            return False
        if ia.output.shape != ib.output.shape or ia.input.shape != ib.input.shape:
            return False
        sa, na = _numbered(a.name)
        sb, nb = _numbered(b.name)
        inside_b = set(b.nodes())
        return sa is not None and sa == sb and nb == na + 1 and ia.output not in self.plan.results \
            and all(u in inside_b for u in self.plan.users[ia.output])

    def _loop(self, run: list[Scope]) -> None:
        first, last = run[0], run[-1]
        unit = self.plan.units[first]
        stem, start = _numbered(self.path(first.path))
        _, stop = _numbered(self.path(last.path))
        owner, _, leaf = stem.rpartition(".")
        owner = f"self.{owner}" if owner else "self"
        self.containers(first.path)
        for scope in run:
            self.made.add(self.path(scope.path))
        self.init += [f"for i in range({start}, {stop + 1}):",
                      f'{INDENT}setattr({owner}, f"{leaf}{{i}}", {self.call(first, unit)})']
        itf_first, itf_last = unit.interfaces[first], unit.interfaces[last]
        self.steps.append(_Step(itf_last.output, [itf_first.input], None, first.parent,
                                loop=(owner, leaf, start, stop + 1)))

    def residual(self, scope: Scope) -> None:
        add = self.plan.residual_add.get(scope)
        shortcut = next((c for c in scope.children if isinstance(c, Scope) and c.kind == ScopeKind.SHORTCUT), None)
        mode = self.unit.modes.get(self.unit.rel(add)) if self.unit is not None and add is not None else None
        self.items([c for c in scope.children if c is not shortcut])
        if shortcut is None:
            return
        if self.mode == STRUCTURE and add is not None:
            init, steps = self.init, self.steps
            self.init, self.steps = [], []
            self.container(shortcut)
            self.sections[relative(add.name, self.root)] = "\n".join(self.init) + "".join(
                f"|{len(s.ins)}" for s in self.steps)
            self.init, self.steps = init, steps
        elif mode == "optional":
            self.optional_shortcut(shortcut, add)
        else:
            self.container(shortcut)

    def optional_shortcut(self, shortcut: Scope, add: Node) -> None:
        seq = self.sequential(shortcut)
        if seq is None:
            raise Unfit("a shortcut that only some instances have must be a plain chain")
        text, first_in, out = seq
        path = self.path(shortcut.path)
        self.made.add(path)
        cond = self.unit.condition(add, add.inputs[0])
        self.init += [f"self.{path} = None  # the skip is projected only where the body changes the shape",
                      f"if {cond}:", "\n".join(INDENT + line for line in f"self.{path} = {text}".split("\n"))]
        self.steps.append(_Step(out, [first_in], lambda vs: f"{vs[0]} if self.{path} is None else self.{path}({vs[0]})",
                                shortcut, shown=add))

    def container(self, scope: Scope) -> None:
        if not scope.children:
            return  # an identity branch: the merge reads its input
        seq = self.sequential(scope)
        if seq is None:
            self.walk(scope)
            return
        text, first_in, out = seq
        ref = self.assign(scope.path, text)
        self.steps.append(_Step(out, [first_in], lambda vs, ref=ref: f"{ref}({vs[0]})", scope))

    def sequential(self, scope: Scope):
        """(`nn.Sequential(OrderedDict(...))`, its input, its output) when the scope
        is a chain of one-input modules, else None."""
        items, prev, first_in = [], None, None
        inside = set(scope.nodes())
        for child in scope.children:
            if isinstance(child, Node):
                em = self.plan.emits[child]
                if em.module is None or em.call != "{m}({x})" or child is self.plan.dropped or len(child.inputs) != 1:
                    return None
                entry, out, src = (child.local_name, self.ctor(child, em.module)), child, child.inputs[0]
            elif child.kind == ScopeKind.BLOCK and child in self.plan.units:
                unit = self.plan.units[child]
                itf = unit.interfaces[child]
                if itf.tensors:
                    return None
                entry, out, src = (child.name, self.call(child, unit)), itf.output, itf.input
            else:
                return None
            if prev is None:
                if src in inside:
                    return None
                first_in = src
            elif src is not prev or any(u not in inside for u in self.plan.users[prev]) or prev in self.plan.results:
                return None
            items.append(entry)
            prev = out
        if prev is None:
            return None
        entries = [f"{safe_segment(name)}={text}" for name, text in items]
        return _wrap_call("nn.Sequential(OrderedDict(", entries, "))"), first_in, prev

    # -- results ------------------------------------------------------------------------------------

    def structure(self) -> tuple[str, dict]:
        """The instance's code with placeholders: equal for instances one class can serve."""
        self.walk(self.root)
        bound = {self.itf.input: "x", **{n: p for p, n in self.itf.tensors}}
        lines = self.forward(bound, [self.itf.output], comments=False)
        return "\n".join(self.init) + "\n--\n" + "\n".join(lines), self.sections

    def class_lines(self) -> list[str]:
        unit = self.unit
        self.walk(self.root)
        names = unit.tensor_names()
        bound = {self.itf.input: "x", **{n: p for p, (_, n) in zip(names, self.itf.tensors, strict=True)}}
        fwd = self.forward(bound, [self.itf.output], comments=True)
        fwd.append(f"return {self.results_vars[0]}")
        unit.freeze()
        params = ", ".join(["self", *(p.name if p.default is None else f"{p.name}={p.default}"
                                     for p in unit.signature())])
        doc = unit.doc()
        doc[0] = '"""' + doc[0]
        doc[-1] += '"""'
        lines = ["", "", f"class {unit.name}(nn.Module):", *(INDENT + d if d else "" for d in doc), "",
                 f"{INDENT}def __init__({params}):", f"{INDENT * 2}super().__init__()"]
        lines += _indent([f"self.{v} = {v}" for v in sorted(self.kept)] + self.init, 2)
        lines += ["", f"{INDENT}def forward({', '.join(['self', 'x', *names])}):"] + _indent(fwd, 2)
        return lines

    def forward(self, bound: dict, results: list[Node], comments: bool) -> list[str]:
        """The steps with variables: a name is reused once nothing reads its value any more."""
        last: dict[Node, int] = {}
        for i, step in enumerate(self.steps):
            for n in step.ins:
                last[n] = i
        for r in results:
            last[r] = len(self.steps)
        var = dict(bound)
        live = {name: node for node, name in bound.items()}
        lines = []
        for i, step in enumerate(self.steps):
            ins = [var[n] for n in step.ins]
            for n in set(step.ins):
                if last.get(n) == i:
                    live.pop(var[n], None)
            name = _fresh(_stem(step.scope, self.root), live)
            var[step.out] = name
            if last.get(step.out, -1) > i:
                live[name] = step.out
            note = f"  # {self.note(step.shown or step.out)}" if comments else ""
            if step.loop is not None:
                owner, leaf, start, stop = step.loop
                if name != ins[0]:
                    lines.append(f"{name} = {ins[0]}")
                lines += [f"for i in range({start}, {stop}):",
                          f'{INDENT}{name} = getattr({owner}, f"{leaf}{{i}}")({name}){note}']
            else:
                lines.append(f"{name} = {step.text(ins)}{note}")
        outs = [var[r] for r in results]
        self.results_vars = outs
        return lines

    def note(self, node: Node) -> str:
        return shape_comment(node.shape) if self.mode == ROOT else self.unit.shape_note(node)


def _residual_input(r: Scope, add: Node) -> Node:
    shortcut = next((c for c in r.children if isinstance(c, Scope) and c.kind == ScopeKind.SHORTCUT), None)
    if shortcut is None:
        return add.inputs[1]
    first = shortcut.nodes()[0]
    return first.inputs[0]


def _numbered(name: str):
    """`bottleneck12` -> ("bottleneck", 12); (None, None) without a trailing number."""
    stem = name.rstrip("0123456789")
    if stem == name or not stem:
        return None, None
    return stem, int(name[len(stem):])


def _stem(scope: Scope, root: Scope) -> str:
    s = scope
    while s is not None and s is not root:
        if s.kind == ScopeKind.BRANCH:
            return local_name(s.name)
        if s.kind == ScopeKind.SHORTCUT:
            return "shortcut"
        if s.kind == ScopeKind.RESIDUAL:
            return "out"
        s = s.parent
    return "x"


def _fresh(stem: str, live: dict) -> str:
    if stem not in live:
        return stem
    n = 2
    while f"{stem}_{n}" in live:
        n += 1
    return f"{stem}_{n}"


def _wrap_call(head: str, entries: list[str], tail: str, width: int = WIDTH - 12) -> str:
    one = head + ", ".join(entries) + tail
    if len(one) <= width:
        return one
    lines, line = [], ""
    for entry in entries:
        piece = entry + ","
        if line and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return head + "\n" + "\n".join(INDENT + x for x in lines) + "\n" + tail


def _indent(lines: list[str], depth: int) -> list[str]:
    out = []
    for text in lines:
        out += [INDENT * depth + part if part else "" for part in text.split("\n")]
    return out


def generate_structured(network, softmax: str, source_name: str | None, check_input: bool = True) -> str:
    """The structured source of the module for an analysed `Network`."""
    plan = _Plan(network, softmax)
    graph = plan.graph
    inputs = graph.inputs or [graph.input]
    args = ["x"] if len(inputs) == 1 else [local_name(n.local_name) for n in inputs]
    root = graph.scopes[0]
    writer = _Writer(plan, root, ROOT)
    writer.walk(root)
    fwd = writer.forward(dict(zip(inputs, args, strict=True)), plan.results, comments=True)
    outs = writer.results_vars
    note = "  # logits: predict_proba() applies the trailing softmax" if plan.dropped is not None else ""
    if len(plan.results) > 1:
        note = "  # " + ", ".join(graph.output_names)
    fwd.append(f"return {', '.join(outs)}{note}")
    name = class_name(network.name)
    checks = []
    if check_input:
        for arg, node in zip(args, inputs, strict=True):
            what = "input" if len(inputs) == 1 else arg
            expected = "×".join(["N", *map(str, node.shape)])
            checks += [f"if self.check_input and {arg}.shape[1:] != {literal_of(tuple(node.shape))}:",
                       f"{INDENT}raise ValueError(f\"{name}: expected {what} {expected}, "
                       f"got {{'×'.join(map(str, {arg}.shape))}}\")"]
    body = [f"class {name}(nn.Module):",
            f'{INDENT}"""{network.name} as written in the spec; submodules are named after its layers."""', ""]
    if check_input:
        body += [f"{INDENT}check_input = True  # forward compares its input with the spec's shape", ""]
    body += [f"{INDENT}def __init__(self):", f"{INDENT * 2}super().__init__()", *_indent(writer.init, 2), "",
             f"{INDENT}def forward(self, {', '.join(args)}):", *_indent(checks + fwd, 2)]
    if plan.dropped is not None:
        node = plan.dropped
        body += ["", f"{INDENT}def predict_proba(self, x):",
                 f'{INDENT * 2}"""Class probabilities: forward() then the spec\'s trailing softmax."""',
                 f"{INDENT * 2}return self.{attribute_path(node.name)}(self.forward(x))  # {shape_comment(node.shape)}"]
    classes = [line for unit in plan.classes for line in unit.code]
    helpers = {h for em in plan.emits.values() for h in em.helpers}
    if any("make_divisible(" in line for line in classes):
        helpers.add("make_divisible")
    text_body = helper_source(helpers) + classes + ["", ""] + body
    joined = "\n".join(text_body)
    header = docstring_lines(network, plan.dropped, args, source_name)
    if "OrderedDict(" in joined:
        header += ["from collections import OrderedDict", ""]
    if "torch." in joined:
        header.append("import torch")
    if re.search(r"\bF\.", joined):
        header.append("import torch.nn.functional as F")
    header.append("from torch import nn")
    return "\n".join(header + text_body + [""])
