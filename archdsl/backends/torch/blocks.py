"""One class for the instances of a block: the expressions its code uses.

A `BlockClass` holds the instances of one block definition that compile to
the same code (same layers, same wiring; only numbers differ), one of them as
the representative the code is written from, and answers the writer's
question for every number in that code: which expression of the class's
parameters gives each instance's value (`fit.py`). It collects the
parameters the expressions use into the constructor's signature, and the
value each instance passes.

Corresponding layers of two instances have the same name relative to their
instance (`conv2`, `shortcut1.bn1`), so every lookup goes by that name.
"""
from __future__ import annotations

import re

from archdsl.backends.torch import emit as E
from archdsl.backends.torch import fit
from archdsl.backends.torch.names import local_name
from archdsl.core.ir import Node, Scope
from archdsl.core.ops import structure
from archdsl.core.ops.base import Kind, Tensor, Word
from archdsl.frontend import syntax as ast
from archdsl.lowering.binding import attr_expr
from archdsl.lowering.expressions import INPUT, render
from archdsl.records import dataclass, field

IN_C = "in_c"
_IDENT = re.compile(r"[A-Za-z_]\w*")
_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True, slots=True)
class Interface:
    """How an instance meets the rest of the network: the tensors it reads
    (its input, then tensor arguments by parameter) and the one it gives."""

    input: Node
    tensors: tuple[tuple[str, Node], ...]
    output: Node


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: str | None  # a literal, or None for a required parameter


class Unfit(Exception):
    """The instances cannot share one class (the writer then inlines them)."""


def numeric(value) -> bool:
    if isinstance(value, Kind | Word | Tensor | str):
        return False
    if isinstance(value, tuple):
        return all(numeric(v) for v in value)
    return isinstance(value, int | float | bool)


def relative(name: str, root: Scope) -> str:
    return name[len(root.path) + 1:] if root.path else name


@dataclass(eq=False)
class BlockClass:
    name: str
    definition: object  # syntax.BlockDef
    instances: list[Scope]
    interfaces: dict[Scope, Interface]
    emits: dict  # Node -> Emit, shared with the writer
    modes: dict[str, str] = field(default_factory=dict)  # residual add -> all | none | optional
    units: dict = field(default_factory=dict)  # nested block scope -> BlockClass
    _index: dict = field(default_factory=dict)
    _envs: list = field(default_factory=list)
    _names: dict = field(default_factory=dict)
    _exprs: dict = field(default_factory=dict)
    _channels: dict = field(default_factory=dict)
    _extras: dict = field(default_factory=dict)  # name -> values per instance
    _used: set = field(default_factory=set)
    _stmts: dict = field(default_factory=dict)
    _holders: list = field(default_factory=list)
    _frozen: list | None = None
    code: list = field(default_factory=list)
    representative: Scope | None = None
    note: str = ""  # the arguments that set these instances apart from the definition's other classes

    def prepare(self) -> None:
        taken = {"self", "x", "nn", "torch", "F", "i", IN_C}
        self._names = {p.name: local_name(p.name) + ("_" if p.name in taken else "")
                       for p in self.definition.params}
        for inst in self.instances:
            index = {relative(n.name, inst): n for n in inst.nodes()}
            index.update({relative(s.path, inst): s for s in _subscopes(inst) if s.name is not None})
            self._index[inst] = index
            self._envs.append(self._env(inst))
        self.representative = max(self.instances, key=lambda s: sum(1 for _ in _shortcuts(s)))
        self._stmts = _statements(self.definition.body)

    def _env(self, inst: Scope) -> dict:
        args = inst.args or {}
        env = {self._names[k]: v for k, v in args.items() if k in self._names and numeric(v)}
        itf = self.interfaces[inst]
        env[IN_C] = itf.input.shape[0]
        for pname, node in itf.tensors:
            env[f"{self._names[pname]}_c"] = node.shape[0]
        return env

    # -- lookups across instances -------------------------------------------------------------

    def rel(self, item: Node | Scope) -> str:
        return relative(item.name if isinstance(item, Node) else item.path, self.representative)

    def _gather(self, rel: str, pick):
        """(values, envs) of the instances that have `rel`, `pick(item)` giving the value."""
        values, envs, self._holders = [], [], []
        for inst, env in zip(self.instances, self._envs, strict=True):
            item = self._index[inst].get(rel)
            if item is not None:
                values.append(pick(item))
                envs.append(env)
                self._holders.append(inst)
        return values, envs

    def slot_value(self, item, slot):
        kind, key = slot
        if kind == "arg":
            return self.units[item].call_values(item)[key]
        em = self.emits[item]
        if kind == "a":
            return em.module.args[key].value
        if kind == "k":
            return em.module.kwargs[key].val.value
        return em.args[key].value

    def shown(self, node: Node, j: int) -> bool:
        values, _ = self._gather(self.rel(node), lambda n: self.emits[n].module.kwargs[j].shown)
        return any(values)

    # -- expressions ------------------------------------------------------------------------------

    def expr(self, item, slot, val: E.Val) -> str:
        key = (self.rel(item), slot)
        if key not in self._exprs:
            values, envs = self._gather(key[0], lambda it: self.slot_value(it, slot))
            holders = self._holders
            text = self._choose(item, slot, val, values, envs, holders)
            self._use(text)
            self._exprs[key] = text
        return self._exprs[key]

    def _choose(self, item, slot, val: E.Val, values, envs, holders) -> str:
        for candidate in self._candidates(item, slot, val):
            if candidate is not None and fit.explains(candidate, envs, values):
                return candidate
        if all(fit._same(v, values[0]) for v in values):
            return E.Val(values[0], val.style).text() if val.style != "auto" else fit.literal_of(values[0])
        numbers = {k: [e[k] for e in envs] for k in envs[0] if all(k in e for e in envs)}
        found = fit.search(values, numbers)
        if found is not None and fit.explains(found, envs, values):
            return found
        if isinstance(values[0], tuple) and all(isinstance(v, tuple) and len(v) == len(values[0]) for v in values):
            if val.style == "axes" and all(len(set(v)) == 1 for v in values):
                return self._choose(item, slot, E.Val(0), [v[0] for v in values], envs, holders)
            parts = [self._choose(item, slot, E.Val(0), [v[i] for v in values], envs, holders)
                     for i in range(len(values[0]))]
            return ", ".join(parts) if val.style == "join" else f"({', '.join(parts)})"
        return self._extra(self._extra_stem(item, slot), holders, values)

    def _candidates(self, item, slot, val: E.Val):
        """The spec's own expression, then (for an input's channels) the flow's."""
        yield self._spec_expression(item, slot, val)
        if val.role == E.IN and isinstance(item, Node):
            yield self.channels(item.inputs[0])
        if slot == ("arg", IN_C):
            yield self.channels(self.units[item].interfaces[item].input)

    def _spec_expression(self, item, slot, val: E.Val) -> str | None:
        if isinstance(item, Scope):  # a nested block call: the argument as the spec writes it
            stmt = self._stmts.get(_span_key(item.span))
            if stmt is None or not isinstance(stmt, ast.Call) or item.parent.block() is not self.representative:
                return None
            return self._call_argument(stmt, self.units[item], slot[1])
        if val.attr is None or item.scope.block() is not self.representative:
            return None
        stmt = self._stmts.get(_span_key(item.span))
        if not isinstance(stmt, ast.Layer):
            return None
        expr = attr_expr(type(item.op), stmt, val.attr)
        return None if expr is None else fit.python_of(expr, self._names, IN_C)

    def _call_argument(self, stmt: ast.Call, unit: BlockClass, pyname: str) -> str | None:
        params = unit.definition.params
        by_py = {unit._names[p.name]: p for p in params}
        param = by_py.get(pyname)
        if param is None:
            return None
        for kw in stmt.kwargs:
            if kw.name == param.name:
                return fit.python_of(kw.value, self._names, IN_C)
        position = params.index(param)
        if position < len(stmt.args):
            return fit.python_of(stmt.args[position], self._names, IN_C)
        return None

    def channels(self, node: Node) -> str | None:
        """An expression for the channels of one of the representative's tensors."""
        itf = self.interfaces[self.representative]
        if node is itf.input:
            return IN_C
        for pname, tensor in itf.tensors:
            if node is tensor:
                return f"{self._names[pname]}_c"
        rel = self.rel(node)
        if rel not in self._channels:
            self._channels[rel] = None  # cycles cannot happen in a DAG; this guards re-entry anyway
            values, envs = self._gather(rel, lambda n: n.shape[0])
            candidate = self._channel_candidate(node, values)
            if candidate is None or not fit.explains(candidate, envs, values):
                numbers = {k: [e[k] for e in envs] for k in envs[0]}
                candidate = fit.search(values, numbers) if len(set(values)) > 1 else str(values[0])
            self._channels[rel] = candidate
        return self._channels[rel]

    def _channel_candidate(self, node: Node, values) -> str | None:
        through = self._through_call(node)
        if through is not None:
            return through
        em = self.emits.get(node)
        if em is not None and em.module is not None:
            for i, v in enumerate(em.module.args):
                if v.role == E.OUT:
                    return self.expr(node, ("a", i), v)
        if isinstance(node.op, structure.Concat):
            parts = [self.channels(i) for i in node.inputs]
            return None if None in parts else " + ".join(parts)
        if node.inputs and all(self._index[inst].get(self.rel(node)) is None or
                               self._index[inst][self.rel(node)].shape[0] ==
                               self._index[inst][self.rel(node)].inputs[0].shape[0] for inst in self.instances):
            return self.channels(node.inputs[0])
        return None

    def _through_call(self, node: Node) -> str | None:
        """The channels of a nested class call's output, as the nested class
        computes them, with this class's expressions for its arguments."""
        scope = node.scope
        while scope is not None and scope is not self.representative:
            unit = self.units.get(scope)
            if unit is not None and unit.interfaces[scope].output is node:
                inner = unit.channels(unit.interfaces[unit.representative].output)
                if inner is None:
                    return None
                args = {p.name: self.expr(scope, ("arg", p.name), E.Val(v))
                        for p, v in zip(unit.signature(), unit.call_values(scope).values(), strict=True)}
                if any(w in unit.variables() and w not in args for w in _IDENT.findall(inner)):
                    return None
                return _IDENT.sub(lambda m, a=args: _wrap(a[m.group(0)]) if m.group(0) in a else m.group(0), inner)
            scope = scope.parent
        return None

    def condition(self, add: Node, body_tip: Node) -> str:
        """When the residual's shortcut exists: fitted, or a constructor flag."""
        rel = self.rel(add)
        targets = [any(isinstance(c, Scope) and c.kind == "shortcut" for c in self._residual_of(inst, rel).children)
                   for inst in self.instances]
        terms = []
        body = self.channels(body_tip)
        if body is not None:
            terms.append(f"{IN_C} != {body}" if " " not in body else f"{IN_C} != ({body})")
        terms += [f"{v} != 1" for v in self._envs[0]
                  if v != IN_C and all(isinstance(e.get(v), int) for e in self._envs)]
        found = fit.condition(targets, terms, self._envs)
        if found is None:
            found = self._extra("project", self.instances, targets)
        self._use(found)
        return found

    def _residual_of(self, inst: Scope, add_rel: str) -> Scope:
        add = self._index[inst][add_rel]
        siblings = add.scope.children
        return siblings[siblings.index(add) - 1]

    def _extra_stem(self, item, slot) -> str:
        what = self.emits[item].module.kwargs[slot[1]].name if slot[0] == "k" and isinstance(item, Node) else \
            str(slot[1])
        return f"{self.rel(item).replace('.', '_')}_{what}"

    def _extra(self, stem: str, holders, values) -> str:
        """A constructor argument for values no expression explains."""
        name, n = local_name(stem), 2
        while name in self._extras or name in self._names.values() or name == IN_C:
            name, n = f"{stem}{n}", n + 1
        table = dict(zip(holders, values, strict=True))
        for inst, env in zip(self.instances, self._envs, strict=True):
            env[name] = table.get(inst, values[0])
        self._extras[name] = table
        return name

    def _use(self, text: str) -> None:
        known = set(self._names.values()) | {IN_C} | set(self._extras) | set(self._envs[0])
        self._used.update(w for w in _IDENT.findall(text) if w in known)

    # -- the constructor --------------------------------------------------------------------------

    def variables(self) -> set[str]:
        """Every name an expression may use: parameters, `in_c`, channels of tensor arguments, extras."""
        return set(self._envs[0])

    def freeze(self) -> None:
        """Fix the signature once the class's code is written (notes written later add nothing)."""
        self._frozen = self.signature()

    def signature(self) -> list[Param]:
        if self._frozen is not None:
            return self._frozen
        required, optional = [], []
        if IN_C in self._used:
            required.append(Param(IN_C, None))
        for pname, _ in self.interfaces[self.representative].tensors:
            if f"{self._names[pname]}_c" in self._used:
                required.append(Param(f"{self._names[pname]}_c", None))
        for p in self.definition.params:
            py = self._names[p.name]
            if py not in self._used:
                continue
            default = _constant(p.default)
            (required if default is None else optional).append(Param(py, default))
        required += [Param(name, None) for name in self._extras if name in self._used]
        return required + optional

    def call_values(self, inst: Scope) -> dict:
        env = self._envs[self.instances.index(inst)]
        return {p.name: env[p.name] for p in self.signature()}

    def tensor_names(self) -> list[str]:
        return [self._names[p] for p, _ in self.interfaces[self.representative].tensors]

    # -- shape notes --------------------------------------------------------------------------------

    def shape_note(self, node: Node) -> str:
        """`N x 256 x 56 x 56` where every instance agrees, else symbolic: `N x c/4 x H/s x W/s`."""
        shapes, envs = self._gather(self.rel(node), lambda n: n.shape)
        if all(s == shapes[0] for s in shapes):
            return " x ".join(["N", *map(str, shapes[0])])
        inputs = [self.interfaces[i].input.shape for i in self.instances if self._index[i].get(self.rel(node))]
        channels = self.channels(node)
        parts = ["N", (f"({_pretty(channels)})" if " " in _pretty(channels) else _pretty(channels))
                 if channels else "C'"]
        rank = len(shapes[0]) - 1
        if rank and all(len(s) == rank + 1 for s in inputs):
            for axis in range(rank):
                parts.append(_axis_note(_AXES[rank][axis], [s[axis + 1] for s in shapes],
                                        [s[axis + 1] for s in inputs], envs))
        return " x ".join(parts)

    def doc(self) -> list[str]:
        d = self.definition
        params = ", ".join(p.name if p.default is None else f"{p.name}={render(p.default)}" for p in d.params)
        rep = self.representative
        itf = self.interfaces[rep]
        rank = len(itf.input.shape) - 1
        shape_in = " x ".join(["N", IN_C, *(_AXES.get(rank, ()))]) if rank <= 3 else "N x in_c x ..."
        if all(self.interfaces[i].input.shape == itf.input.shape for i in self.instances):
            shape_in = " x ".join(["N", *map(str, itf.input.shape)])
        head = f"{d.name}({params})" if d.parens else d.name
        where = f", the calls with {self.note}" if self.note else ""
        shapes = f"{shape_in} -> {self.shape_note(itf.output)}"
        text = f"The spec's block {head}{where}: {shapes}."
        if len(text) <= 100:
            return [text]
        return [f"The spec's block {head}{where}.", "", f"{shapes}.", ""]


def _axis_note(letter: str, outs, ins, envs) -> str:
    if outs == ins:
        return letter
    if all(o == outs[0] for o in outs):
        return str(outs[0])
    shift = {o - i for i, o in zip(ins, outs, strict=True)}
    if len(shift) == 1:
        (d,) = shift
        return f"{letter}{d:+d}"
    for f in (2, 4, 8):
        if all(-(-i // f) == o or i // f == o for i, o in zip(ins, outs, strict=True)):
            return f"{letter}/{f}"
        if all(i * f == o for i, o in zip(ins, outs, strict=True)):
            return f"{f}{letter}"
    for name in envs[0]:
        values = [e.get(name) for e in envs]
        if all(isinstance(v, int) and v > 0 for v in values) and all(
                -(-i // v) == o or i // v == o for i, o, v in zip(ins, outs, values, strict=True)):
            return f"{letter}/{name}"
    return f"{letter}'"


def _wrap(expr: str) -> str:
    return f"({expr})" if " " in expr else expr


def _pretty(expr: str) -> str:
    return expr.replace(" // ", "/").replace(" * ", "*")


def _constant(expr) -> str | None:
    if isinstance(expr, ast.Num):
        return repr(expr.value)
    if isinstance(expr, ast.Name) and expr.id in ("true", "false"):
        return "True" if expr.id == "true" else "False"
    return None


def _span_key(span) -> tuple:
    return (span.file, span.line, span.col, span.end_line, span.end_col)


def _statements(body, out: dict | None = None) -> dict:
    """Every statement of a block's body (nested bodies included), by its span."""
    out = {} if out is None else out
    for stmt in body:
        out[_span_key(stmt.span)] = stmt
        for attr in ("body", "orelse", "shortcut"):
            inner = getattr(stmt, attr, None)
            if isinstance(inner, list):
                _statements(inner, out)
        for branch in getattr(stmt, "branches", None) or ():
            _statements(branch.body, out)
    return out


def _subscopes(scope: Scope):
    for child in scope.children:
        if isinstance(child, Scope):
            yield child
            yield from _subscopes(child)


def _shortcuts(scope: Scope):
    return (s for s in _subscopes(scope) if s.kind == "shortcut" and s.block() is scope)


def interface(inst: Scope, users, results: set, dropped) -> Interface | None:
    """How `inst` meets the network, or None when it cannot be one call of a class:
    it reads tensors other than its input and tensor arguments, or gives more than one."""
    nodes = inst.nodes()
    inside = set(nodes)
    args = inst.args or {}
    given = args.get(INPUT)
    if not nodes or dropped in inside or not isinstance(given, Tensor) or given.node.shape is None:
        return None
    tensors = tuple((p.name, args[p.name].node) for p in inst.definition.params if isinstance(args.get(p.name), Tensor))
    allowed = {given.node, *(n for _, n in tensors)}
    for node in nodes:
        if any(i not in inside and i not in allowed for i in node.inputs):
            return None
    escaping = [n for n in nodes if n in results or any(u not in inside for u in users[n])]
    if len(escaping) != 1:
        return None
    return Interface(given.node, tensors, escaping[0])
