"""Syntax tree -> IR. Evaluates expressions, expands blocks and repeats,
resolves every attribute, and infers shapes as it goes (the language needs
them: a conv's input channels, whether a residual needs its projection).

A layer that fails records its error, its dependents become unknown, and
lowering goes on, so one run reports every independent problem."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from archdsl.core.ir import Graph, Node, Scope, ScopeKind
from archdsl.core.ops import MERGES, REGISTRY, REQUIRED, Add, Input, ShapeError, ValueProblem, Word
from archdsl.core.ops.base import COERCE, long_names
from archdsl.core.shapes import Shape, describe_rank
from archdsl.errors import ArchError, Diagnostic, OptionError
from archdsl.frontend import syntax as ast
from archdsl.limits import DEFAULT_LIMITS, Limits
from archdsl.lowering.expressions import EvalError, evaluate, show_value
from archdsl.lowering.stdlib import is_bundled
from archdsl.runtime import recursion_limit
from archdsl.source import Span
from archdsl.text import dims_text, shape_text


class _Abort(Exception):
    """Stops lowering when a limit is hit; its diagnostic is already recorded."""


@dataclass(slots=True)
class _Bound:
    """A layer's attributes after binding: `values` when all is well, else None;
    `partial` holds what did bind, `failed` the attributes whose values were bad,
    `structural` whether the layer's arguments themselves were wrong (unknown or
    missing attributes, extra positional values)."""

    values: dict | None
    partial: dict = field(default_factory=dict)
    failed: frozenset = frozenset()
    structural: bool = False


@dataclass(slots=True)
class _Frame:
    """One block instance being lowered: its parameters and where it was called."""

    block: str
    env: dict
    call_span: Span | None


class Lowerer:
    def __init__(self, blocks: dict[str, ast.BlockDef], limits: Limits = DEFAULT_LIMITS,
                 input_shape: tuple[int, ...] | None = None):
        self.blocks = blocks
        self.limits = limits
        self.input_override = input_shape
        self.diagnostics: list[Diagnostic] = []
        self.nodes: list[Node] = []
        self.scopes: list[Scope] = []
        self.taken: dict[str, set[str]] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.stack: list[_Frame] = []
        self.nesting = 0
        self.warned: set = set()
        self.network = ""
        # Error recovery: node index -> (keyword, span, shape) of the failed layer
        # whose assumed output this node's shape rests on (see _guess).
        self.assumed: dict[int, tuple[str, Span, Shape]] = {}
        # Errors inside blocks, by (span, message, notes): a block used ten times
        # the same wrong way (same shapes) is reported once, with the other uses listed.
        self.repeated: dict[tuple, tuple[Diagnostic, int]] = {}

    # -- diagnostics ------------------------------------------------------------

    def _call_site(self) -> str | None:
        """The note that places a diagnostic inside a block: where that block was used."""
        if self.stack and self.stack[-1].call_span is not None:
            frame = self.stack[-1]
            return f"in block {frame.block}, used at {frame.call_span}"
        return None

    def error(self, message: str, span: Span | None, notes=(), hint: str | None = None) -> None:
        notes = list(notes)
        call_site = self._call_site()
        if call_site is not None:
            frame = self.stack[-1]
            key = (span, message, tuple(notes))
            first = self.repeated.get(key)
            if first is not None:
                diagnostic, count = first
                if count < 3:
                    diagnostic.notes.append(f"the same error in the use at {frame.call_span}")
                elif count == 3:
                    diagnostic.notes.append("and in further uses")
                self.repeated[key] = (diagnostic, count + 1)
                return
            notes.append(call_site)
            diagnostic = Diagnostic("error", message, span, notes, hint)
            self.repeated[key] = (diagnostic, 0)
            self.diagnostics.append(diagnostic)
            return
        self.diagnostics.append(Diagnostic("error", message, span, notes, hint))

    def warn(self, message: str, span: Span, notes=(), hint: str | None = None) -> None:
        # A block used ten times with the same shapes warns once, at its first use.
        key = (span, message, tuple(notes))
        if key in self.warned:
            return
        self.warned.add(key)
        notes = list(notes)
        call_site = self._call_site()
        if call_site is not None:
            notes.append(call_site)
        self.diagnostics.append(Diagnostic("warning", message, span, notes, hint))

    # -- entry point -----------------------------------------------------------------

    def lower_network(self, net: ast.NetworkDef) -> Graph:
        self.network = net.name
        root = self._scope(ScopeKind.NETWORK, net.name, None, None, net.span, path="")
        body = net.body
        if not body or not (isinstance(body[0], ast.Layer) and body[0].op == "input"):
            late = next((s for s in body if isinstance(s, ast.Layer) and s.op == "input"), None)
            if late is not None:
                # One error at the misplaced input, not a second "input twice".
                self.error(f"input must be the first statement of network {net.name}", late.span,
                           hint=f"move it above line {body[0].span.line}, the network's first statement")
                body = [s for s in body if s is not late]
            else:
                where = body[0].span if body else net.name_span
                self.error(f"network {net.name} does not start with its input", where,
                           hint="begin the network with its input shape, e.g. `input 3x224x224`")
            tip = None
        else:
            tip = self._lower_input(body[0], root, self.stack_env())
            body = body[1:]
        # Each level of nesting costs a few Python frames; make room for the limit.
        needed = 8 * (self.limits.max_nesting + self.limits.max_depth) + 1000
        with recursion_limit(needed):
            try:
                self._lower_body(body, tip, root, {}, top=True)
            except _Abort:
                pass
        if any(d.severity == "error" for d in self.diagnostics):
            raise ArchError(self.diagnostics)  # warnings too: they often explain the error
        return Graph(net.name, self.nodes, self.scopes, net.span, [self.nodes[-1]] if self.nodes else [])

    def stack_env(self) -> dict:
        return self.stack[-1].env if self.stack else {}

    # -- scopes and names ---------------------------------------------------------------

    def _scope(self, kind, label, name, parent, span, path=None, count=1) -> Scope:
        if path is None:
            path = parent.path
            if name is not None:
                path = f"{path}.{name}" if path else name
        scope = Scope(kind, label, name, parent, span, path, len(self.scopes), count)
        self.scopes.append(scope)
        if parent is not None:
            parent.children.append(scope)
        return scope

    def _fresh(self, scope: Scope, stem: str) -> str:
        taken = self.taken.setdefault(scope.path, set())
        key = (scope.path, stem)
        n = self.counters.get(key, 0)
        while True:
            n += 1
            name = f"{stem}{n}"
            if name not in taken:
                self.counters[key] = n
                taken.add(name)
                return name

    def _claim(self, scope: Scope, label: str, span: Span) -> str:
        taken = self.taken.setdefault(scope.path, set())
        if label in taken:
            self.error(f"the name '{label}' is already used in this scope", span,
                       hint="names must be unique within their network, block instance or branch")
        taken.add(label)
        return label

    def _name(self, scope: Scope, label: str | None, stem: str, span: Span) -> str:
        local = self._claim(scope, label, span) if label else self._fresh(scope, stem)
        return f"{scope.path}.{local}" if scope.path else local

    def _node(self, op, keyword, inputs, shape, scope, span, label) -> Node:
        if len(self.nodes) >= self.limits.max_layers:
            self.error(f"the network expands to more than {self.limits.max_layers:,} layers", span,
                       hint="check the repeat counts, or raise the limit with --max-layers")
            raise _Abort
        node = Node(len(self.nodes), self._name(scope, label, keyword, span), op, tuple(inputs),
                    shape, scope, span, keyword)
        self.nodes.append(node)
        scope.children.append(node)
        return node

    # -- statements -------------------------------------------------------------------

    def _lower_body(self, body, tip, scope, env, top=False):
        # Lowering recurses once per open brace or block call; the limit turns a
        # pathological nesting into an error instead of a RecursionError.
        self.nesting += 1
        try:
            if self.nesting > self.limits.max_nesting:
                where = body[0].span if body else scope.span
                self.error(f"the spec nests braces and block calls more than {self.limits.max_nesting} deep",
                           where, hint="flatten the structure, or raise the limit with --max-nesting")
                raise _Abort
            for stmt in body:
                tip = self._lower_stmt(stmt, tip, scope, env)
            return tip
        finally:
            self.nesting -= 1

    def _lower_stmt(self, stmt, tip, scope, env):
        if isinstance(stmt, ast.Layer):
            if stmt.op == "input":
                self.error("input may appear only once, as the first statement of a network", stmt.span,
                           hint="a block receives its input from where it is used")
                return tip
            return self._lower_layer(stmt, tip, scope, env)
        if isinstance(stmt, ast.Call):
            return self._lower_call(stmt, tip, scope, env)
        if isinstance(stmt, ast.Repeat):
            return self._lower_repeat(stmt, tip, scope, env)
        if isinstance(stmt, ast.Merge):
            return self._lower_merge(stmt, tip, scope, env)
        if isinstance(stmt, ast.Residual):
            return self._lower_residual(stmt, tip, scope, env)
        raise TypeError(stmt)  # pragma: no cover - the parser makes no other kind

    def _lower_input(self, stmt: ast.Layer, scope: Scope, env) -> Node | None:
        values = self._bind(Input, stmt, env).values
        if values is None:
            return None
        shape = values["shape"]
        override = self.input_override
        if override is not None:
            if len(override) != len(shape):
                # The spec is fine; the option does not fit it (a usage error in the CLI).
                raise OptionError(Diagnostic(
                    "error", f"input {shape_text(override)} is {describe_rank(override)}, but network "
                             f"{self.network} takes {describe_rank(shape)} ({shape_text(shape)} at {stmt.span})",
                    stmt.span, hint=f"give {len(shape)} sizes, as in {shape_text(shape)}"))
            shape = override
        if any(d > self.limits.max_dim for d in shape):
            self.error(f"input size {shape_text(shape)} exceeds the limit of {self.limits.max_dim:,}",
                       stmt.span)
            return None
        op = Input(tuple(shape))
        return self._node(op, "input", (), op.shape, scope, stmt.span, stmt.label or "input")

    def _lower_layer(self, stmt: ast.Layer, tip, scope, env):
        cls = REGISTRY.get(stmt.op)
        if cls is None:
            self._unknown_layer(stmt)
            return self._node(None, stmt.op, _inputs(tip), None, scope, stmt.span, stmt.label)
        bound = self._bind(cls, stmt, env)
        op, shape, guess = None, None, None
        shape_in = tip.shape if tip is not None else None
        if shape_in is not None and bound.values is not None:
            try:
                op = cls.make(bound.values, [shape_in])
                shape = op.infer([shape_in])
                self._check_size(shape, stmt.span)
                for lint in op.lint([shape_in]):
                    self.warn(lint.message, stmt.span, [*lint.notes, *self._assuming(tip)], lint.hint)
            except ShapeError as exc:
                self._shape_error(exc, stmt, env, tip)
                op, shape = None, None
                guess = shape_in if cls.keeps_shape else exc.shape
        elif shape_in is not None:
            guess = self._guess(cls, bound, shape_in)
        node = self._node(op, cls.keywords[0], _inputs(tip), shape if guess is None else guess,
                          scope, stmt.span, stmt.label)
        self._track(node, [tip], guess, stmt.span)
        return node

    # -- error recovery --------------------------------------------------------------------

    def _guess(self, cls, bound: _Bound, shape_in: Shape) -> Shape | None:
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
                values[attr.name] = None if attr.default is None else COERCE[attr.type](attr.default, attr.name)
        try:
            return cls.make(values, [shape_in]).infer([shape_in])
        except ShapeError as exc:
            return exc.shape

    def _track(self, node: Node, tips, guess: Shape | None, span: Span) -> None:
        """Remember which failed layer a node's shape was assumed from: the first
        one upstream, since every later assumption rests on it."""
        for tip in tips:
            if tip is not None and tip.index in self.assumed:
                self.assumed[node.index] = self.assumed[tip.index]
                return
        if guess is not None:
            self.assumed[node.index] = (node.keyword, span, guess)

    def _assuming(self, *tips) -> list[str]:
        """A note for an error found on a shape that rests on an earlier failed layer."""
        for tip in tips:
            if tip is not None and tip.index in self.assumed:
                keyword, span, shape = self.assumed[tip.index]
                return [f"assuming the {keyword} at {span} gives {shape_text(shape)} once its own error is fixed"]
        return []

    def _shape_error(self, exc: ShapeError, stmt: ast.Layer, env, tip) -> None:
        notes, hint = [*exc.notes, *self._assuming(tip)], exc.hint
        expr = _attr_expr(REGISTRY[stmt.op], stmt, exc.culprit) if exc.culprit else None
        if isinstance(expr, ast.Name) and expr.id in env and self.stack:
            # The value came from a block parameter: name it, and where it was given.
            name, value, block = expr.id, env[expr.id], self.stack[-1].block
            written = next((kw.name for kw in stmt.kwargs if kw.value is expr), exc.culprit)
            notes.insert(0, f"{written}={name}, and {name} is {show_value(value)} in this use of {block}")
            c_in = tip.shape[0] if tip is not None and tip.shape else None
            if exc.culprit == "g" and isinstance(value, int) and c_in and c_in % value:
                hint = (f"{name} is {value} but the input has {c_in} channels: use {block} with "
                        f"{name}={c_in}, or give it a {value}-channel input")
        self.error(exc.message, stmt.span, notes, hint)

    def _check_size(self, shape: Shape, span: Span) -> None:
        if any(d > self.limits.max_dim for d in shape):
            raise ShapeError(f"output {shape_text(shape)} exceeds the size limit of {self.limits.max_dim:,}")

    def _unknown_layer(self, stmt: ast.Layer) -> None:
        if stmt.op in self.blocks:
            self.error(f"'{stmt.op}' is a block, not a layer", stmt.op_span,
                       hint=f"call it with parentheses right after the name: {stmt.op}(...)")
            return
        close = difflib.get_close_matches(stmt.op, list(REGISTRY) + list(self.blocks), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "see `archdsl layers` for the list of layer kinds"
        self.error(f"unknown layer '{stmt.op}'", stmt.op_span, hint=hint)

    def _lower_call(self, stmt: ast.Call, tip, scope, env):
        block = self.blocks.get(stmt.block)
        if block is None:
            if stmt.block in REGISTRY:
                written = [_text(a.span) for a in stmt.args] + [_text(kw.span) for kw in stmt.kwargs]
                fixed = " ".join([stmt.block, *written]) if None not in written else f"{stmt.block} ..."
                hint = f"{stmt.block} is a layer: write `{fixed}` (no parentheses)"
            else:
                close = difflib.get_close_matches(stmt.block, list(self.blocks), n=1, cutoff=0.6)
                hint = (f"did you mean '{close[0]}'?" if close else
                        "define it with `block Name(...) { ... }` or `use` the file that has it")
            self.error(f"unknown block '{stmt.block}'", stmt.block_span, hint=hint)
            return self._node(None, stmt.block.lower(), _inputs(tip), None, scope, stmt.span, stmt.label)
        chain = [f.block for f in self.stack]
        if stmt.block in chain:
            cycle = " -> ".join(chain[chain.index(stmt.block):] + [stmt.block])
            self.error(f"block {stmt.block} uses itself", stmt.span, notes=[f"cycle: {cycle}"],
                       hint="blocks cannot be recursive; use `repeat N { ... }` to stack copies")
            return self._node(None, stmt.block.lower(), _inputs(tip), None, scope, stmt.span, stmt.label)
        if len(self.stack) >= self.limits.max_depth:
            self.error(f"blocks are nested more than {self.limits.max_depth} deep", stmt.span,
                       hint="raise the limit with --max-depth")
            raise _Abort
        callee_env = self._bind_call(block, stmt, env)
        if callee_env is None:
            return self._node(None, stmt.block.lower(), _inputs(tip), None, scope, stmt.span, stmt.label)
        # The label shows the call as written, with values: Bottleneck(512, s=2).
        shown = [show_value(callee_env[p.name]) for p in block.params[:len(stmt.args)]]
        shown += [f"{kw.name}={show_value(callee_env[kw.name])}" for kw in stmt.kwargs]
        args = ", ".join(shown)
        local = self._claim(scope, stmt.label, stmt.span) if stmt.label else self._fresh(scope, block.name.lower())
        inner = self._scope(ScopeKind.BLOCK, f"{block.name}({args})", local, scope, stmt.span)
        self.stack.append(_Frame(block.name, callee_env, stmt.span))
        try:
            return self._lower_body(block.body, tip, inner, callee_env)
        finally:
            self.stack.pop()

    def _lower_repeat(self, stmt: ast.Repeat, tip, scope, env):
        count = self._eval_int(stmt.count, env, "repeat count", minimum=0)
        if count is None:
            return tip
        if count > self.limits.max_layers:
            self.error(f"repeat {count:,} would expand past the limit of {self.limits.max_layers:,} layers",
                       stmt.count.span, hint="raise the limit with --max-layers")
            return tip
        if stmt.label:
            name = self._claim(scope, stmt.label, stmt.span)
            inner = self._scope(ScopeKind.REPEAT, f"{stmt.label}: repeat {count}", name, scope, stmt.span, count=count)
        else:
            inner = self._scope(ScopeKind.REPEAT, f"repeat {count}", None, scope, stmt.span, count=count)
        for _ in range(count):
            before = len(self.nodes)
            tip = self._lower_body(stmt.body, tip, inner, env)
            if len(self.nodes) == before:
                break  # an empty body: further rounds change nothing
        return tip

    def _lower_merge(self, stmt: ast.Merge, tip, scope, env):
        cls = MERGES.get(stmt.kind)
        if cls is None:
            self._unknown_merge(stmt)
            return self._node(None, stmt.kind, _inputs(tip), None, scope, stmt.span, stmt.label)
        if len(stmt.branches) < cls.min_branches:
            self.error(f"{stmt.kind} needs at least {_NUMBERS.get(cls.min_branches, cls.min_branches)} branches, "
                       f"found {len(stmt.branches)}",
                       stmt.span, hint=f"{stmt.kind} {{ branch {{ ... }} branch {{ ... }} }}")
            return self._node(None, stmt.kind, _inputs(tip), None, scope, stmt.span, stmt.label)
        region = self._scope(ScopeKind.MERGE, stmt.kind, None, scope, stmt.span)
        tips = []
        for branch in stmt.branches:
            name = self._fresh(scope, "branch")
            inner = self._scope(ScopeKind.BRANCH, name, name, region, branch.span)
            tips.append(self._lower_body(branch.body, tip, inner, env))
        return self._merge(cls(), stmt.kind, tips, scope, stmt.span, stmt.label)

    def _unknown_merge(self, stmt: ast.Merge) -> None:
        """`relu { branch ... }`, `cncat { ... }`: a name with branches that is no merge."""
        merges = ", ".join(MERGES)
        if stmt.kind in REGISTRY:
            self.error(f"{stmt.kind} is a layer and takes no branches", stmt.kind_span,
                       hint=f"branches belong to a merge: {merges}")
            return
        close = difflib.get_close_matches(stmt.kind, list(MERGES), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"the merges are {merges}"
        self.error(f"unknown merge '{stmt.kind}'", stmt.kind_span, hint=hint)

    def _lower_residual(self, stmt: ast.Residual, tip, scope, env):
        region = self._scope(ScopeKind.RESIDUAL, "residual", None, scope, stmt.span)
        body_tip = self._lower_body(stmt.body, tip, region, env)
        skip = tip
        if stmt.shortcut is not None:
            known = tip is not None and tip.shape is not None and body_tip is not None and body_tip.shape is not None
            if stmt.always or not known or body_tip.shape != tip.shape:
                name = self._fresh(scope, "shortcut")
                inner = self._scope(ScopeKind.SHORTCUT, "shortcut", name, region, stmt.shortcut_span)
                skip = self._lower_body(stmt.shortcut, tip, inner, env)
        body = body_tip.shape if body_tip is not None else None
        carried = skip.shape if skip is not None else None
        if body is None or carried is None or body == carried:
            return self._merge(Add(residual=True), "add", [body_tip, skip], scope, stmt.span, stmt.label)
        self._residual_mismatch(stmt, tip, body_tip, skip, env)
        # The fix goes into the skip, so the sum will have the body's shape.
        guess = body if len(body) == len(carried) else None
        node = self._node(None, "add", [body_tip, skip], guess, scope, stmt.span, stmt.label)
        self._track(node, [body_tip, skip], guess, stmt.span)
        return node

    def _residual_mismatch(self, stmt: ast.Residual, tip, body_tip, skip, env) -> None:
        body, carried = body_tip.shape, skip.shape
        assumed = self._assuming(body_tip, skip)
        if len(body) != len(carried):
            self.error("residual body and skip have different shapes", stmt.span,
                       [f"body gives {shape_text(body)}, the skip carries {shape_text(carried)}", *assumed],
                       hint="the body changes the rank; a residual body must keep it")
            return
        projection = self._projection(stmt, tip.shape, body, env)
        if skip is not tip:
            # The shortcut exists and is what is wrong: point at it.
            self.error("the residual's shortcut and body give different shapes", stmt.shortcut_span,
                       [f"the shortcut gives {shape_text(carried)} but the body gives {shape_text(body)}",
                        *assumed],
                       hint=f"the shortcut must turn the input {shape_text(tip.shape)} into "
                            f"{shape_text(body)}, e.g. `shortcut {{ {projection} }}`")
            return
        hint = f"add a projection shortcut: `shortcut {{ {projection} }}`"
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.call_span is not None and is_bundled(stmt.span.file):
            # A bundled block is not the user's to edit: say what its use needs.
            used = _text(frame.call_span) or frame.block
            hint = (f"{used} adds its input back, so its input must already be {shape_text(body)}; "
                    f"here it gets {shape_text(tip.shape)}")
        self.error("residual body and skip have different shapes", stmt.span,
                   [f"body gives {shape_text(body)}, the skip carries {shape_text(carried)}", *assumed],
                   hint=hint)

    def _projection(self, stmt: ast.Residual, shape_in: Shape, body: Shape, env) -> str:
        """The 1x1 conv that maps the input onto the body's shape. Inside a block it
        is written with the block's parameters (`conv c k=1 s=s`), so that it holds
        for every use of the block, not just the one that failed."""
        layers = [s for s in stmt.body if isinstance(s, ast.Layer)]
        convs = [s for s in layers if s.op == "conv"]
        channels = str(body[0])
        ratios = [n // m if m and n % m == 0 else None for n, m in zip(shape_in[1:], body[1:], strict=True)]
        stride = ""
        if ratios and None not in ratios and max(ratios) > 1:
            stride = f" s={ratios[0]}" if len(set(ratios)) == 1 else " s=" + dims_text(ratios)
        if self.stack and env:
            out = [_attr_expr(REGISTRY["conv"], c, "out") for c in convs]
            spelled = [e for e in out if e is not None and _mentions(e, env) and _text(e.span)
                       and self._quiet_eval(e, env) == body[0]]
            if spelled:
                channels = _text(spelled[-1].span)
            else:
                named = [k for k, v in env.items() if v == body[0] and type(v) is int]
                channels = named[0] if len(named) == 1 else channels
            strides = [e for e in (_attr_expr(REGISTRY["conv"], c, "s") for c in convs)
                       if e is not None and _mentions(e, env) and _text(e.span)]
            if len(strides) == 1:
                stride = f" s={_text(strides[0].span)}"
        no_bias = any(isinstance(kw.value, ast.Name) and kw.value.id == "false"
                      for c in convs for kw in c.kwargs if kw.name == "bias")
        bn = any(s.op in ("bn", "batchnorm") for s in layers)
        return f"conv {channels} k=1{stride}{' bias=false' if no_bias else ''}{'; bn' if bn else ''}"

    def _quiet_eval(self, expr, env):
        try:
            return evaluate(expr, env)
        except (EvalError, RecursionError):
            return None

    def _merge(self, op, keyword, tips, scope, span, label):
        shapes = [t.shape if t is not None else None for t in tips]
        shape = None
        if all(s is not None for s in shapes):
            try:
                shape = op.infer(shapes)
            except ShapeError as exc:
                self.error(exc.message, span, [*exc.notes, *self._assuming(*tips)], exc.hint)
                op = None
        inputs = [t for t in tips if t is not None]
        node = self._node(op, keyword, inputs, shape, scope, span, label)
        self._track(node, inputs, None, span)
        return node

    # -- attribute binding ---------------------------------------------------------------

    def _bind(self, cls, stmt: ast.Layer, env) -> _Bound:
        """Match positional and key=value arguments to the kind's attributes and coerce them.

        One mistake gets one error: a value given positionally where a required
        attribute is missing (`maxpool 2`), or under a misspelt name close to a
        missing one (`kernal=3`), is reported once, with the corrected layer."""
        keyword = stmt.op
        if self._size_typo(stmt, env):
            return _Bound(None, structural=True)
        positional = [a for a in cls.attrs if a.positional]
        by_name = {}
        for attr in cls.attrs:
            for n in (attr.name, *attr.aliases):
                by_name[n] = attr
        raw: dict[str, tuple] = {}
        failed: set[str] = set()
        for attr, arg in zip(positional, stmt.args, strict=False):
            raw[attr.name] = (attr.name, arg)
        extra = list(stmt.args[len(positional):])
        unknown = []
        for kw in stmt.kwargs:
            attr = by_name.get(kw.name)
            if attr is None:
                unknown.append(kw)
                continue
            if attr.name in raw:
                first = raw[attr.name][0]
                spelled = f" (as {first} and {kw.name})" if first != kw.name else ""
                self.error(f"{attr.name} is given twice{spelled}", kw.span,
                           hint=f"keep one {attr.name}=...")
                failed.add(attr.name)
                continue
            raw[attr.name] = (kw.name, kw.value)
        missing = [a for a in cls.attrs if a.name not in raw and a.default is REQUIRED]
        structural = bool(extra or unknown or missing)
        if extra:
            if positional:
                names = ", ".join(a.name for a in positional)
                msg = (f"{keyword} takes {len(positional)} positional value{'s' if len(positional) > 1 else ''} "
                       f"({names}), got {len(stmt.args)}")
            else:
                msg = f"{keyword} takes no positional values"
            # The extra values were most likely meant for the missing attributes.
            takers = missing[:len(extra)] if len(extra) <= len(missing) else []
            fixed = self._rewrite(stmt, {arg.span: f"{attr.name}={_text(arg.span)}"
                                         for attr, arg in zip(takers, extra, strict=True)}) if takers else None
            if fixed:
                missing = missing[len(takers):]
                hint = f"write `{fixed}`"
            else:
                others = [a.name for a in cls.attrs if not a.positional]
                hint = f"name the others, e.g. {others[0]}=..." if others else None
            self.error(msg, extra[0].span, hint=hint)
        for kw in unknown:
            options = sorted(by_name)
            close = difflib.get_close_matches(kw.name, options, n=1, cutoff=0.5)
            target = by_name[close[0]] if close else None
            fixed = self._rewrite(stmt, {kw.name_span: close[0]}) if target in missing else None
            if fixed:
                missing.remove(target)  # the misspelt name was that attribute
                hint = f"did you mean '{close[0]}'? write `{fixed}`"
            elif options:
                hint = (f"did you mean '{close[0]}'? " if close else "") + \
                    f"{keyword} takes: {', '.join(a.name for a in cls.attrs)}"
            else:
                hint = f"{keyword} takes no parameters"
            self.error(f"unknown parameter '{kw.name}' for {keyword}", kw.name_span, hint=hint)
        for attr in missing:
            # The kind's example, written with the keyword as typed (`linear 10`, not `fc 10`).
            example = cls.example.replace(cls.keywords[0], keyword, 1) if cls.example.split() else ""
            self.error(f"{keyword} needs {attr.name} ({attr.doc})", stmt.span,
                       hint=f"for example `{example}`" if example else None)
        values = {}
        for attr in cls.attrs:
            if attr.name not in raw:
                if attr.default is REQUIRED:
                    continue
                values[attr.name] = None if attr.default is None else COERCE[attr.type](attr.default, attr.name)
                continue
            written, expr = raw[attr.name]
            if isinstance(expr, ast.Name) and expr.id not in env and attr.type in _WORD_TYPES:
                # `bias=maybe`, `p=foo`: say what the attribute accepts, not "unknown name".
                value = Word(expr.id)
            else:
                value = self._eval(expr, env)
            if value is None:
                failed.add(attr.name)
                continue
            try:
                values[attr.name] = COERCE[attr.type](value, written)
            except ValueProblem as exc:
                self.error(exc.message, expr.span, hint=exc.hint)
                failed.add(attr.name)
        ok = not failed and not structural
        return _Bound(values if ok else None, values, frozenset(failed), structural)

    def _size_typo(self, stmt: ast.Layer, env) -> bool:
        """`input 3 x 32 x 32`, `input 3X32X32`, `k=3 x 3`: a size split by spaces or
        written with a capital X lexes as numbers and names. Report it as one error."""
        items = sorted([*stmt.args, *(kw.value for kw in stmt.kwargs)], key=lambda e: (e.span.line, e.span.col))

        def times(e):  # `x`, `X`, `X32`, `x3X3`: the rest of a size
            return isinstance(e, ast.Name) and e.id not in env and _TIMES.fullmatch(e.id) is not None

        def number(e):
            return isinstance(e, ast.Dims) or (isinstance(e, ast.Num) and type(e.value) is int)

        for i, item in enumerate(items):
            if not times(item) or i == 0 or not number(items[i - 1]) or not _adjacent(items[i - 1], item):
                continue
            run = [items[i - 1], item]
            for nxt in items[i + 1:]:
                if not (number(nxt) or times(nxt)) or not _adjacent(run[-1], nxt):
                    break
                run.append(nxt)
            text = _text(Span(run[0].span.file, run[0].span.line, run[0].span.col,
                              run[-1].span.end_line, run[-1].span.end_col, run[0].span.source))
            if text is None:
                return False
            fixed = re.sub(r"\s+", "", text).lower()
            if not re.fullmatch(r"\d+(?:x\d+)+", fixed):
                return False
            span = Span(run[0].span.file, run[0].span.line, run[0].span.col, run[-1].span.end_line,
                        run[-1].span.end_col, run[0].span.source)
            self.error(f"'{text}' is not a size", span,
                       hint=f"write sizes without spaces and with a lowercase x: {fixed}")
            return True
        return False

    def _rewrite(self, stmt: ast.Layer, fixes: dict[Span, str]) -> str | None:
        """The layer as written with some spans replaced; None when it spans lines."""
        span = stmt.span
        if span.source is None or span.end_line != span.line or any(s.line != span.line for s in fixes):
            return None
        line = span.source.line(span.line)
        text = line[span.col - 1: span.end_col - 1]
        for fix in sorted(fixes, key=lambda s: s.col, reverse=True):
            start, end = fix.col - span.col, fix.end_col - span.col
            text = text[:start] + fixes[fix] + text[end:]
        return text

    def _bind_call(self, block: ast.BlockDef, stmt: ast.Call, env) -> dict | None:
        params = block.params
        signature = f"{block.name}({', '.join(p.name for p in params)})"
        where = [f"{signature} is defined at {block.name_span}"]
        if len(stmt.args) > len(params):
            self.error(f"{block.name} takes {len(params)} argument{'s' if len(params) != 1 else ''} "
                       f"but {len(stmt.args)} were given", stmt.args[len(params)].span, notes=where)
            return None
        given: dict[str, object] = {}
        ok = True
        for param, arg in zip(params, stmt.args, strict=False):
            given[param.name] = self._eval(arg, env)
        names = {p.name for p in params}
        for kw in stmt.kwargs:
            if kw.name not in names:
                close = difflib.get_close_matches(kw.name, names, n=1, cutoff=0.5)
                long = long_names().get(kw.name)
                if not close and long in names:
                    close = [long]  # B(stride=2) for block B(c, s=1)
                self.error(f"{block.name} has no parameter '{kw.name}'", kw.name_span, notes=where,
                           hint=f"did you mean '{close[0]}'?" if close else None)
                ok = False
            elif kw.name in given:
                self.error(f"argument '{kw.name}' of {block.name} is given twice", kw.span)
                ok = False
            else:
                given[kw.name] = self._eval(kw.value, env)
        if any(v is None for v in given.values()):
            return None
        callee: dict[str, object] = {}
        for param in params:
            if param.name in given:
                callee[param.name] = given[param.name]
            elif param.default is not None:
                # Defaults see the parameters before them: block B(c, mid=c/4).
                value = self._eval(param.default, callee)
                if value is None:
                    return None
                callee[param.name] = value
            else:
                self.error(f"missing argument '{param.name}' of {block.name}", stmt.span, notes=where,
                           hint=f"call it as {signature}")
                ok = False
        return callee if ok else None

    # -- expressions -------------------------------------------------------------------

    def _eval(self, expr, env):
        """Evaluate an expression; None after reporting an error."""
        try:
            return evaluate(expr, env)
        except EvalError as exc:
            self.error(exc.message, exc.span, hint=exc.hint)
            return None
        except RecursionError:
            self.error("expression is nested too deeply", expr.span, hint="simplify the expression")
            return None

    def _eval_int(self, expr, env, what, minimum=1):
        value = self._eval(expr, env)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(f"{what} must be an integer >= {minimum}, got {show_value(value)}", expr.span)
            return None
        return value


_NUMBERS = {1: "one", 2: "two", 3: "three"}

# Attribute types whose values include bare words (true/false, same/valid).
_WORD_TYPES = frozenset({"bool", "padding", "rounding"})

# What follows the first number of a size typed with spaces or a capital X.
_TIMES = re.compile(r"[xX](?:\d+(?:[xX]\d+)*)?")



def _text(span: Span) -> str | None:
    """The source text of a one-line span (None across lines)."""
    if span.source is None or span.end_line != span.line:
        return None
    return span.source.line(span.line)[span.col - 1: span.end_col - 1]


def _adjacent(a, b) -> bool:
    """Nothing but blanks between two expressions (no `key=` in between)."""
    if a.span.end_line != b.span.line or a.span.source is None:
        return False
    return not a.span.source.line(b.span.line)[a.span.end_col - 1: b.span.col - 1].strip()


def _mentions(expr, env) -> bool:
    """Whether an expression uses a block parameter."""
    if isinstance(expr, ast.Name):
        return expr.id in env
    if isinstance(expr, ast.BinOp):
        return _mentions(expr.left, env) or _mentions(expr.right, env)
    if isinstance(expr, ast.Neg):
        return _mentions(expr.operand, env)
    if isinstance(expr, ast.TupleExpr):
        return any(_mentions(e, env) for e in expr.items)
    return False


def _attr_expr(cls, stmt: ast.Layer, name: str):
    """The expression a layer gives for attribute `name`, by keyword, alias or position."""
    attr = next((a for a in cls.attrs if a.name == name), None)
    if attr is None:
        return None
    for kw in stmt.kwargs:
        if kw.name in (attr.name, *attr.aliases):
            return kw.value
    positional = [a.name for a in cls.attrs if a.positional]
    if name in positional and positional.index(name) < len(stmt.args):
        return stmt.args[positional.index(name)]
    return None


def _inputs(tip):
    return (tip,) if tip is not None else ()
