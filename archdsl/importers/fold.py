"""Repeated parts of an imported network -> parameterised blocks and repeats.

Statements are compared by their shape with the numbers left out (`conv #
k=# s=# bias=false`); the run of statements whose copies save the most lines
becomes a `block`, its numbers that differ between copies its parameters
(`c`, then `c/4` for a value that is always a quarter of it; `s=1` with the
most common value as the default; `in.c` where a value is the copy's input
channels). A residual whose projection only some copies have folds too,
since a spec's `shortcut` applies exactly where the body changes the shape.
Then equal calls (or runs of equal statements) in a row become `repeat N`.
Blocks are found again inside blocks, so BasicConv can nest in Inception.
"""
from __future__ import annotations

import copy
import itertools
import re
from collections import Counter

from archdsl.importers.model import Layer, Model, value_text
from archdsl.importers.structure import (
    FromStmt,
    LayerStmt,
    MergeStmt,
    Program,
    RefMergeStmt,
    ResidualStmt,
    SplitStmt,
    Stmt,
    layers_of,
    output_of,
)
from archdsl.records import dataclass, field

MAX_WINDOW = 12
_FACTORS = (2, 3, 4, 6, 8, 16, 32)
# kind -> (positional defaults, keyword defaults): a value equal to its default is not written.
_DEFAULTS = {
    "conv": ((None,), {"k": None, "s": 1, "p": 0, "d": 1, "g": 1, "bias": True}),
    "convtranspose": ((None,), {"k": None, "s": 1, "p": 0, "op": 0, "d": 1, "g": 1, "bias": True}),
    "maxpool": ((), {"k": None, "s": None, "p": 0, "d": 1, "ceil": False}),
    "minpool": ((), {"k": None, "s": None, "p": 0, "d": 1, "ceil": False}),
    "avgpool": ((), {"k": None, "s": None, "p": 0, "ceil": False}),
    "bn": ((), {"eps": 1e-5, "momentum": 0.1, "affine": True}),
    "fc": ((None,), {"bias": True}),
    "leakyrelu": ((0.01,), {}),
    "elu": ((1.0,), {}),
    "dropout": ((0.5,), {}),
    "lrn": ((None,), {"alpha": 1e-4, "beta": 0.75, "k": 1.0}),
}
_ROLES = {("conv", "a", 0): "c", ("convtranspose", "a", 0): "c", ("fc", "a", 0): "c", ("k",): "k",
          ("s",): "s", ("p",): "p", ("d",): "d", ("g",): "g", ("dropout", "a", 0): "drop"}


class Expr(str):
    """A value in a block's body written as an expression of its parameters."""


@dataclass(eq=False)
class CallStmt(Stmt):
    block: Block
    values: dict  # parameter -> value for this copy
    out: Layer = None
    inner: list = field(default_factory=list)  # the statements it stands for

    def layers(self) -> list[Layer]:
        return layers_of(self.inner)

    def lines(self, writer, depth: int) -> list[str]:
        label = f"{self.label}: " if self.label else ""
        return ["  " * depth + label + self.block.call(self.values)]

    joinable = False


@dataclass(eq=False)
class RepeatStmt(Stmt):
    count: int
    body: list[Stmt]

    def layers(self) -> list[Layer]:
        return layers_of(self.body) * 1

    @property
    def out(self):
        return output_of(self.body[-1])

    def lines(self, writer, depth: int) -> list[str]:
        inner = writer.body(self.body, depth + 1)
        if len(inner) == 1:
            return ["  " * depth + f"repeat {self.count} {{ {inner[0].strip()} }}"]
        return ["  " * depth + f"repeat {self.count} {{", *inner, "  " * depth + "}"]


@dataclass(eq=False)
class Param:
    name: str
    default: object = None


@dataclass(eq=False)
class Block:
    name: str
    params: list[Param]
    body: list[Stmt]
    labels: dict

    def call(self, values: dict) -> str:
        parts = []
        for p in self.params:
            v = values[p.name]
            if p.default is None:
                parts.append(value_text(v))
            elif v != p.default:
                parts.append(f"{p.name}={value_text(v)}")
        return f"{self.name}({', '.join(parts)})" if self.params else self.name

    def lines(self, writer) -> list[str]:
        from archdsl.importers.write import _Writer
        inner = _Writer(self.labels)
        head = ", ".join(p.name if p.default is None else f"{p.name}={value_text(p.default)}" for p in self.params)
        return [f"block {self.name}({head}) {{" if self.params else f"block {self.name} {{",
                *inner.body(self.body, 1), "}"]


# -- signatures -----------------------------------------------------------------------------------

def canonical(layer: Layer) -> tuple[tuple, dict]:
    """(args, kwargs) with every defaulted value filled in, so copies compare slot by slot."""
    pos, kw = _DEFAULTS.get(layer.kind, ((), {}))
    args = tuple(layer.args) + tuple(pos[len(layer.args):])
    kwargs = {k: v for k, v in kw.items()} | dict(layer.kwargs)
    if "s" in kwargs and kwargs["s"] is None:
        kwargs["s"] = kwargs["k"]
    return args, kwargs


def minimal(kind: str, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """What is written: values equal to their defaults left out (never an expression)."""
    pos, kw = _DEFAULTS.get(kind, ((), {}))
    args = list(args)
    while args and len(args) <= len(pos) and pos[len(args) - 1] is not None and _literal_equal(args[-1],
                                                                                              pos[len(args) - 1]):
        args.pop()
    out = {}
    for k, v in kwargs.items():
        default = kwargs.get("k") if k == "s" and kind.endswith("pool") else kw.get(k, object())
        if not (k in kw or k == "s") or not _literal_equal(v, default):
            out[k] = v
    return tuple(args), out


def _literal_equal(a, b) -> bool:
    if isinstance(a, Expr) or isinstance(b, Expr):
        return isinstance(a, Expr) and isinstance(b, Expr) and str(a) == str(b)
    return type(a) is type(b) and a == b or (isinstance(a, int | float) and isinstance(b, int | float)
                                            and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _abstract(value) -> str:
    if isinstance(value, bool) or isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return f"#{len(value)}"
    return "#"


class _Signer:
    """Signatures of statements, with references inside a window relative to it."""

    def __init__(self, labels: dict):
        self.labels = labels

    def sig(self, s) -> str:
        if isinstance(s, LayerStmt):
            if s.layer.opaque:
                return f"opaque:{id(s)}"
            args, kwargs = canonical(s.layer)
            return s.layer.kind + "(" + ",".join(_abstract(a) for a in args) + ";" + ",".join(
                f"{k}={_abstract(v)}" for k, v in sorted(kwargs.items())) + ")"
        if isinstance(s, ResidualStmt):
            return "res{" + self.seq(s.body) + "}" + ("!" if s.always else "")
        if isinstance(s, MergeStmt):
            return s.layer.kind + "[" + "|".join(self.seq(b) for b in s.branches) + "]"
        if isinstance(s, SplitStmt):
            return f"split{len(s.parts)}"
        if isinstance(s, CallStmt):
            return "call:" + s.block.name
        if isinstance(s, RepeatStmt):
            return f"rep{s.count}{{{self.seq(s.body)}}}"
        if isinstance(s, RefMergeStmt):
            return f"ref:{s.layer.kind}:{s.flow}:{len(s.layer.inputs)}"
        return f"other:{id(s)}"

    def seq(self, stmts) -> str:
        return ";".join(self.sig(s) for s in stmts)


# -- values ---------------------------------------------------------------------------------------

def _slots(stmts, prefix=()) -> dict:
    """Every number of a statement list, by where it is: path -> (role, value)."""
    out = {}
    for i, s in enumerate(stmts):
        here = (*prefix, i)
        if isinstance(s, LayerStmt):
            args, kwargs = canonical(s.layer)
            for j, v in enumerate(args):
                if _number(v):
                    out[(*here, "a", j)] = (_ROLES.get((s.layer.kind, "a", j), "v"), v)
            for k, v in kwargs.items():
                if _number(v):
                    out[(*here, "k", k)] = (_ROLES.get((k,), "v") if s.layer.kind not in ("bn", "lrn") else "v", v)
        elif isinstance(s, ResidualStmt):
            out |= _slots(s.body, (*here, "b"))
            out |= _slots(s.shortcut or [], (*here, "s"))
        elif isinstance(s, MergeStmt):
            for b, branch in enumerate(s.branches):
                out |= _slots(branch, (*here, "br", b))
        elif isinstance(s, SplitStmt):
            sizes = s.parts[0].part[1]
            out[(*here, "split")] = ("split", len(sizes) if len(set(sizes)) == 1 else sizes)
        elif isinstance(s, CallStmt):
            for p in s.block.params:
                out[(*here, "arg", p.name)] = (p.name.rstrip("0123456789") or "v", s.values[p.name])
        elif isinstance(s, RepeatStmt):
            out |= _slots(s.body, (*here, "rep"))
    return out


def _number(v) -> bool:
    if isinstance(v, bool) or isinstance(v, str):
        return False
    return isinstance(v, int | float) or isinstance(v, tuple) and all(isinstance(x, int) for x in v)


def _in_channels(window) -> int:
    first = layers_of(window[:1])
    ins = [i for layer in first for i in layer.inputs if i not in set(layers_of(window))]
    return ins[0].shape[0] if ins else None


def _residuals(stmts, prefix=()):
    """(path, residual) for every residual in the statements, nested ones included."""
    for i, s in enumerate(stmts):
        here = (*prefix, i)
        if isinstance(s, ResidualStmt):
            yield here, s
            yield from _residuals(s.body, (*here, "b"))
        elif isinstance(s, MergeStmt):
            for b, branch in enumerate(s.branches):
                yield from _residuals(branch, (*here, "br", b))


def _lists(program: Program, blocks) -> list[list]:
    """Every statement list: the network's body, nested bodies, block bodies."""
    out = []

    def visit(stmts):
        out.append(stmts)
        for s in stmts:
            if isinstance(s, ResidualStmt):
                visit(s.body)
                if s.shortcut:
                    visit(s.shortcut)
            elif isinstance(s, MergeStmt):
                for b in s.branches:
                    visit(b)
            elif isinstance(s, FromStmt | RepeatStmt):
                visit(s.body)

    visit(program.body)
    for block in blocks:
        visit(block.body)
    return out


class _Folder:
    def __init__(self, program: Program, model: Model):
        self.program, self.model = program, model
        self.blocks: list[Block] = []
        self.names = {program.name}
        self.signer = _Signer(program.labels)

    def run(self) -> list[Block]:
        for _ in range(50):
            if not self.step():
                break
        for stmts in _lists(self.program, self.blocks):
            _repeat(stmts, self.program.labels)
        return self.blocks

    # -- one block ----------------------------------------------------------------------------------

    def step(self) -> bool:
        from archdsl.importers.write import _Writer
        writer = _Writer(self.program.labels)
        referenced = self._referenced()
        groups: dict[tuple, list] = {}
        # Block bodies hold expressions, not numbers: a block inside a block comes from folding the inner first.
        for stmts in _lists(self.program, []):
            sigs = [self.signer.sig(s) for s in stmts]
            for n in range(1, min(MAX_WINDOW, len(stmts)) + 1):
                for i in range(len(stmts) - n + 1):
                    window = stmts[i:i + n]
                    starts_mid = i > 0 and self._trailing(stmts[i]) and isinstance(stmts[i - 1], LayerStmt)
                    stops_mid = i + n < len(stmts) and self._trailing(stmts[i + n]) and \
                        isinstance(window[-1], LayerStmt)
                    if not starts_mid and not stops_mid and self._valid(window, referenced):
                        groups.setdefault(tuple(sigs[i:i + n]), []).append((stmts, i, n))
        best = None
        for key, places in groups.items():
            chosen = _non_overlapping(places)
            if len(chosen) < 2:
                continue
            plan = self._plan([stmts[i:i + n] for stmts, i, n in chosen])
            if plan is None:
                continue
            saved = sum(len(writer.body(stmts[i:i + n], 0)) for stmts, i, n in chosen) - _runs(chosen, plan) \
                - plan.size(writer)
            score = (saved, len(chosen), -len(key))
            if saved > 0 and (best is None or score > best[0]):
                best = (score, chosen, plan)
        if best is None:
            return False
        _, chosen, plan = best
        block = plan.make(self._name([stmts[i:i + n] for stmts, i, n in chosen]))
        self.blocks.insert(0, block)
        for stmts, i, n in sorted(chosen, key=lambda c: c[1], reverse=True):
            window = stmts[i:i + n]
            values = plan.values[id(window[0])]
            call = CallStmt(block, values, out=output_of(window[-1]), inner=window, label=window[-1].label)
            stmts[i:i + n] = [call]
        return True

    def _referenced(self) -> dict:
        """Layer -> the statements that read it by name."""
        out: dict = {}

        def visit(stmts):
            for s in stmts:
                if isinstance(s, RefMergeStmt):
                    for j, v in enumerate(s.layer.inputs):
                        if j != s.flow:
                            out.setdefault(v, set()).add(id(s))
                elif isinstance(s, FromStmt):
                    out.setdefault(s.source, set()).add(id(s))
                for inner in _children(s):
                    visit(inner)

        for stmts in [self.program.body] + [b.body for b in self.blocks]:
            visit(stmts)
        return out

    def _valid(self, window, referenced) -> bool:
        last = window[-1]
        if all(isinstance(s, CallStmt | RepeatStmt) for s in window):
            return False  # calls in a row are a repeat's business, not a block's
        if isinstance(last, SplitStmt) or any(isinstance(s, FromStmt) or type(s).__name__ == "OutputStmt"
                                              for s in window):
            return False
        inside_ids = set()
        for s in window:
            inside_ids |= {id(x) for x in _all_stmts([s])}
        produced = layers_of(window)
        out = output_of(last)
        for layer in produced:
            readers = referenced.get(layer, set())
            if layer is not out and readers - inside_ids:
                return False
        produced_set = set(produced)
        for s in _all_stmts(window):
            if isinstance(s, RefMergeStmt):
                if any(j != s.flow and v not in produced_set for j, v in enumerate(s.layer.inputs)):
                    return False
            if isinstance(s, LayerStmt) and s.layer.opaque:
                return False
        return True

    @staticmethod
    def _trailing(s) -> bool:
        from archdsl.importers.write import _TRAILING
        return isinstance(s, LayerStmt) and s.layer.kind in _TRAILING and not s.label

    def _name(self, windows) -> str:
        counts = Counter()
        for w in windows:
            layers = [layer for layer in layers_of(w) if layer.scope]
            if not layers:
                continue
            common = layers[0].scope
            for layer in layers[1:]:
                common = tuple(a for a, _ in itertools.takewhile(lambda ab: ab[0] == ab[1],
                                                                 zip(common, layer.scope, strict=False)))
            classes = layers[0].classes
            if common and len(classes) >= len(common) and not classes[len(common) - 1].startswith(
                    ("Sequential", "ModuleList", "Module")):
                counts[classes[len(common) - 1]] += 1  # the source's own class name: Bottleneck
            elif common:
                m = re.match(r"[A-Za-z]+", common[-1])
                if m:
                    counts[m.group(0)] += 1
        base = counts.most_common(1)[0][0] if counts else "Block"
        base = re.sub(r"\W", "", base[0].upper() + base[1:]) or "Block"
        from archdsl.core.ops import REGISTRY
        if base.lower() in REGISTRY and base.lower() == base:
            base += "Block"
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}{n}", n + 1
        self.names.add(name)
        return name

    def _plan(self, windows):
        return _Plan.of(windows, self.program.labels)


def _children(s):
    if isinstance(s, ResidualStmt):
        return [s.body] + ([s.shortcut] if s.shortcut else [])
    if isinstance(s, MergeStmt):
        return list(s.branches)
    if isinstance(s, FromStmt | RepeatStmt):
        return [s.body]
    return []


def _all_stmts(stmts):
    for s in stmts:
        yield s
        for inner in _children(s):
            yield from _all_stmts(inner)


def _runs(chosen, plan) -> int:
    """The call lines the copies become once equal neighbours are a repeat: one per run."""
    runs, previous = 0, None
    for stmts, i, n in chosen:
        values = plan.values[id(stmts[i])]
        if previous is None or previous[0] is not stmts or previous[1] != i or previous[2] != values:
            runs += 1
        previous = (stmts, i + n, values)
    return runs


def _non_overlapping(places):
    chosen, last_end = [], {}
    for stmts, i, n in sorted(places, key=lambda p: (id(p[0]), p[1])):
        if i >= last_end.get(id(stmts), 0):
            chosen.append((stmts, i, n))
            last_end[id(stmts)] = i + n
    return chosen


@dataclass(eq=False)
class _Plan:
    """How the copies of a window become one block: parameters and each copy's values."""

    windows: list
    rep: list
    params: list[tuple[str, list, object]]  # name, value per copy, default
    exprs: dict  # slot path -> Expr or literal
    values: dict  # id(first statement of a copy) -> {param: value}
    labels: dict

    @classmethod
    def of(cls, windows, labels):
        if not _shortcuts_agree(windows):
            return None
        slots = [_slots(w) for w in windows]
        rep_index = max(range(len(windows)), key=lambda i: len(slots[i]))
        keys = list(slots[rep_index])
        if any(set(s) - set(keys) for s in slots):
            return None
        in_c = [_in_channels(w) for w in windows]
        params: list[list] = []  # [name, vector, default]
        exprs: dict = {}
        order = sorted(keys, key=lambda k: (slots[rep_index][k][0] != "c", -_magnitude(slots[rep_index][k][1])))
        for key in order:
            role = slots[rep_index][key][0]
            vec = [s[key][1] if key in s else None for s in slots]
            present = [v for v in vec if v is not None]
            if all(_literal_equal(v, present[0]) for v in present):
                exprs[key] = present[0]
                continue
            if role == "split":
                return None  # parts that differ between copies: not one block
            known = [(p[0], p[1]) for p in params]
            channels = [p for p in params if p[0].startswith("c")]
            # in.c where the spec would say it: groups (depthwise), or a block that already has its channels
            known = [("in.c", in_c)] + known if role in ("g", "v") else known + ([("in.c", in_c)] if channels else [])
            found = _relate(vec, known)
            if found is None:
                name = _fresh_name(role, {p[0] for p in params})
                full = [v if v is not None else present[0] for v in vec]
                common, count = Counter(map(repr, full)).most_common(1)[0]
                default = None if role == "c" or count * 2 < len(full) else next(v for v in full if repr(v) == common)
                params.append([name, full, default])
                found = name
            exprs[key] = Expr(found)
        params, exprs = _renamed(params, exprs, keys)
        values = {id(w[0]): {p[0]: p[1][i] for p in params} for i, w in enumerate(windows)}
        return cls(windows, windows[rep_index], [tuple(p) for p in params], exprs, values, labels)

    def size(self, writer) -> int:
        block = self.make("X", register=False)
        return len(block.lines(writer)) + 1

    def make(self, name: str, register: bool = True) -> Block:
        mapping: dict = {}
        body = _clone(self.rep, mapping, self.exprs, ())
        labels = {mapping[k]: v for k, v in self.labels.items() if k in mapping}
        for s in _all_stmts(body):
            if s.label and output_of(s) is not None:
                labels[output_of(s)] = s.label
        return Block(name, [Param(n, d) for n, _, d in self.params], body, labels)


def _shortcuts_agree(windows) -> bool:
    per = [dict(_residuals(w)) for w in windows]
    paths = set().union(*per)
    for path in paths:
        rs = [p.get(path) for p in per]
        if any(r is None for r in rs):
            return False
        signer = _Signer({})
        with_sc = [r for r in rs if r.shortcut]
        if len({signer.seq(r.shortcut) for r in with_sc}) > 1:
            return False
        if with_sc and len(with_sc) < len(rs):
            for r in rs:
                changes = r.layer.shape != _residual_input(r).shape
                if bool(r.shortcut) != changes or r.always:
                    return False
    return True


def _residual_input(r: ResidualStmt) -> Layer:
    return r.layer.inputs[1] if not r.shortcut else layers_of(r.shortcut[:1])[0].inputs[0]


def _magnitude(v) -> float:
    if isinstance(v, tuple):
        return max(v) if v else 0
    return abs(v)


def _relate(vec, known) -> str | None:
    """An expression of a known vector (a parameter, in.c) that gives `vec` where it has values."""
    pairs = [(i, v) for i, v in enumerate(vec) if v is not None]
    for name, other in known:
        if any(other[i] is None for i, _ in pairs):
            continue
        if all(_literal_equal(other[i], v) for i, v in pairs):
            return name
        if all(isinstance(v, int) and not isinstance(v, bool) and isinstance(other[i], int) for i, v in pairs):
            for f in _FACTORS:
                if all(other[i] == v * f for i, v in pairs):
                    return f"{name}/{f}"
                if all(other[i] * f == v for i, v in pairs):
                    return f"{name}*{f}"
    return None


def _fresh_name(role: str, taken: set[str]) -> str:
    base = role if re.fullmatch(r"[a-z]\w*", role) and role not in ("in", "v") else "v"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def _renamed(params, exprs, keys):
    """Parameters in the order the body first uses them, required ones first; several
    channel parameters are c1, c2, ... (as a spec numbers Inception's branches)."""
    first = {}
    for key in keys:
        for word in re.findall(r"[A-Za-z_][\w.]*", str(exprs.get(key, ""))) if isinstance(exprs.get(key), Expr) else ():
            first.setdefault(word, len(first))
    params = sorted(params, key=lambda p: first.get(p[0], len(first)))
    params = [p for p in params if p[2] is None] + [p for p in params if p[2] is not None]
    channels = [p for p in params if re.fullmatch(r"c\d*", p[0])]
    names = {p[0]: p[0] for p in params}
    if len(channels) > 1:
        names.update({p[0]: f"c{i}" for i, p in enumerate(channels, 1)})
    renamed = [[names[p[0]], p[1], p[2]] for p in params]

    def sub(expr):
        if not isinstance(expr, Expr):
            return expr
        return Expr(re.sub(r"(?<![.\w])[A-Za-z_]\w*", lambda m: names.get(m.group(0), m.group(0)), expr))
    return renamed, {k: sub(v) for k, v in exprs.items()}


def _clone(stmts, mapping, exprs, prefix):
    out = []
    for i, s in enumerate(stmts):
        here = (*prefix, i)
        if isinstance(s, LayerStmt):
            out.append(LayerStmt(_clone_layer(s.layer, mapping, exprs, here), label=s.label))
        elif isinstance(s, ResidualStmt):
            body = _clone(s.body, mapping, exprs, (*here, "b"))
            sc = _clone(s.shortcut, mapping, exprs, (*here, "s")) if s.shortcut else None
            out.append(ResidualStmt(_remap(s.layer, mapping), body, sc, s.always, label=s.label))
        elif isinstance(s, MergeStmt):
            branches = [_clone(b, mapping, exprs, (*here, "br", j)) for j, b in enumerate(s.branches)]
            out.append(MergeStmt(_remap(s.layer, mapping), branches, label=s.label))
        elif isinstance(s, SplitStmt):
            parts = [_remap(p, mapping) for p in s.parts]
            for p in parts:
                p.part = (p.part[0], s.parts[0].part[1])
            out.append(SplitStmt(parts, label=s.label))
        elif isinstance(s, RefMergeStmt):
            out.append(RefMergeStmt(_remap(s.layer, mapping), s.flow, label=s.label))
        elif isinstance(s, CallStmt):
            values = {p.name: exprs.get((*here, "arg", p.name), s.values[p.name]) for p in s.block.params}
            out.append(CallStmt(s.block, values, out=_remap(s.out, mapping), label=s.label))
        elif isinstance(s, RepeatStmt):
            out.append(RepeatStmt(s.count, _clone(s.body, mapping, exprs, (*here, "rep")), label=s.label))
        else:
            out.append(copy.copy(s))
    return out


def _remap(layer: Layer, mapping: dict) -> Layer:
    if layer in mapping:
        return mapping[layer]
    new = copy.copy(layer)
    new.inputs = [mapping.get(i, i) for i in layer.inputs]
    mapping[layer] = new
    return new


def _clone_layer(layer: Layer, mapping: dict, exprs: dict, here) -> Layer:
    new = _remap(layer, mapping)
    args, kwargs = canonical(layer)
    args = tuple(exprs.get((*here, "a", j), v) for j, v in enumerate(args))
    kwargs = {k: exprs.get((*here, "k", k), v) for k, v in kwargs.items()}
    new.args, new.kwargs = minimal(layer.kind, args, kwargs)
    return new


def _repeat(stmts: list, labels: dict) -> None:
    """Runs of equal statements (a call, or a few layers) -> `repeat N { ... }`."""
    from archdsl.importers.write import _Writer
    writer = _Writer(labels)
    texts = [None if s.label or isinstance(s, RefMergeStmt | SplitStmt | FromStmt) or
             type(s).__name__ == "OutputStmt" else "\n".join(writer.stmt(s, 0)) for s in stmts]
    i = 0
    while i < len(stmts):
        best = None
        for period in range(1, 5):
            unit = texts[i:i + period]
            if len(unit) < period or None in unit:
                break
            k = 1
            while texts[i + k * period:i + (k + 1) * period] == unit:
                k += 1
            lines = len(writer.body(stmts[i:i + period], 0))
            saved = (k - 1) * lines - (0 if lines == 1 else 2)
            if k >= 2 and saved > 0 and (best is None or saved > best[0]):
                best = (saved, period, k)
        if best is None:
            i += 1
            continue
        _, period, k = best
        stmts[i:i + period * k] = [RepeatStmt(k, stmts[i:i + period])]
        texts[i:i + period * k] = [None]
        i += 1


def fold_program(program: Program, model: Model) -> list[Block]:
    """Fold the program in place; returns the blocks, innermost first."""
    blocks = _Folder(program, model).run()
    _rename_clashing_labels(program, blocks)
    return _innermost_first(blocks)


def _rename_clashing_labels(program: Program, blocks) -> None:
    """A label like `b5` would clash with the fifth call of a block B (named b5 by lowering)."""
    if not blocks:
        return
    pattern = re.compile("(" + "|".join(re.escape(b.name.lower()) for b in blocks) + r")\d+")
    renames = {}
    taken = set(program.labels.values())
    for layer, label in list(program.labels.items()):
        if pattern.fullmatch(label):
            new, n = f"{label}_", 2
            while new in taken:
                new, n = f"{label}_{n}", n + 1
            taken.add(new)
            renames[label] = new
            program.labels[layer] = new
    for stmts in _lists(program, blocks):
        for s in stmts:
            if s.label in renames:
                s.label = renames[s.label]


def _innermost_first(blocks: list[Block]) -> list[Block]:
    order: list[Block] = []

    def uses(block):
        return [s.block for s in _all_stmts(block.body) if isinstance(s, CallStmt)]

    def visit(block):
        if block in order:
            return
        for inner in uses(block):
            visit(inner)
        order.append(block)

    for block in blocks:
        visit(block)
    return order
