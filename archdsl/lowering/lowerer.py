"""Syntax tree -> IR for one network: bodies and their flow, block calls,
repeat, if, from, merges and residuals; the layer-shaped statements are in
layers.py. Shapes are inferred as the graph is built (the language needs
them: a conv's input channels, whether a residual needs its projection,
what `in.c` is).

A layer that fails records its error, its dependents become unknown, and
lowering goes on, so one run reports every independent problem."""
from __future__ import annotations

from archdsl.core.ir import Graph, Scope, ScopeKind
from archdsl.core.ops import MERGES, REGISTRY, Add, Kind, Tensor
from archdsl.core.ops.base import ShapeError
from archdsl.errors import ArchError
from archdsl.frontend import syntax as ast
from archdsl.limits import DEFAULT_LIMITS, Limits
from archdsl.lowering.binding import Binder
from archdsl.lowering.expressions import INPUT, Context, show_value
from archdsl.lowering.graph import Abort, GraphBuilder
from archdsl.lowering.hints import residual_hint
from archdsl.lowering.layers import LayerStatements, inputs_of
from archdsl.lowering.names import TensorScope
from archdsl.lowering.reporter import Frame, Reporter
from archdsl.runtime import recursion_limit
from archdsl.text import Layout, close_matches, join_words, shape_text

_NUMBERS = {1: "one", 2: "two", 3: "three"}


class Lowerer(LayerStatements):
    """Lowers one network. `blocks` are every block the spec reaches;
    `file_defaults` the top-level `defaults` of each file, by file name, and
    `file_layouts` their `layout` statements (how each file writes shapes)."""

    def __init__(self, blocks: dict[str, ast.BlockDef], limits: Limits = DEFAULT_LIMITS,
                 input_shape=None, file_defaults: dict | None = None, file_layouts: dict | None = None):
        self.blocks = blocks
        self.limits = limits
        # A shape for the first input, or {name: shape} for named inputs (`--input image=3x64x64`).
        self.input_shapes = input_shape if isinstance(input_shape, dict) else {0: input_shape} \
            if input_shape is not None else {}
        self.file_defaults = file_defaults or {}
        self.file_layouts = file_layouts or {}
        self.layout = Layout.CHW  # the network's: its first input's `layout=`, else its file's
        self.report = Reporter()
        self.graph = GraphBuilder(limits, self.report)
        self.binder = Binder(self.report)
        self.inputs: list = []
        self.outputs: list[tuple[str, object]] = []
        self.nesting = 0
        self.network = ""
        self._file_maps: dict[str, dict] = {}
        self.made: dict[tuple, tuple] = {}  # made.literal_key -> (op, output, lints, tensor inputs)

    # -- helpers the statement methods share ---------------------------------------------------

    @property
    def diagnostics(self):
        return self.report.diagnostics

    def is_kind(self, name: str) -> bool:
        return name in REGISTRY or name in self.blocks

    @staticmethod
    def show(value) -> str:
        return f"the layer kind {value}" if isinstance(value, Kind) else show_value(value)

    def input_override(self, name: str | None, position: int):
        if name is not None and name in self.input_shapes:
            return self.input_shapes[name]
        return self.input_shapes.get(position)

    def defaults_of_file(self, file: str, base: dict) -> dict:
        """`base` overlaid with the top-level `defaults` of `file`."""
        entries = self.file_defaults.get(file, ())
        if not entries:
            return base
        out = base
        for entry in entries:
            out = self.read_defaults(entry, Context(is_kind=self.is_kind, where=f"file {file}"), out)
        return out

    # -- entry point -------------------------------------------------------------------------

    def lower_network(self, net: ast.NetworkDef) -> Graph:
        self.network = net.name
        self.network_file = net.span.file
        self.layout = self.file_layouts.get(net.span.file, Layout.CHW)
        root = self.graph.scope(ScopeKind.NETWORK, net.name, None, None, net.span, path="")
        tensors = TensorScope(where="")
        ctx = Context({}, tensors, None, self.is_kind, f"network {net.name}")
        body = list(net.body)
        first = next((i for i, s in enumerate(body) if not _is_input(s)), len(body))
        if first == 0:
            late = next((s for s in body if _is_input(s)), None)
            if late is not None:
                # One error at the misplaced input, not a second "input twice".
                self.report.error(f"input must be the first statement of network {net.name}", late.span,
                                  hint=f"move it above line {body[0].span.line}, the network's first statement")
                body.remove(late)
            else:
                where = body[0].span if body else net.name_span
                self.report.error(f"network {net.name} does not start with its input", where,
                                  hint="begin the network with its input shape, e.g. `input 3x224x224`")
            tip = None
        else:
            for stmt in body[:first]:
                node = self.lower_input(stmt, root, ctx)
                if node is not None:  # an unnamed input is @input
                    tensors.define(node.local_name, node, stmt.span)
            # The flow starts at the first input; the others are reached by name (@meta).
            tip = self.inputs[0] if self.inputs else None
            body = body[first:]
        defaults = self.defaults_of_file(net.span.file, {})
        # Each level of nesting costs a few Python frames; make room for the limit.
        with recursion_limit(8 * (self.limits.max_nesting + self.limits.max_depth) + 1000):
            try:
                tip = self.lower_body(body, tip, root, ctx, tensors, defaults)
            except Abort:
                pass
        if self.report.failed:
            raise ArchError(self.report.diagnostics)  # warnings too: they often explain the error
        outputs = self.outputs or ([("output", tip)] if tip is not None else [])
        return Graph(net.name, self.graph.nodes, self.graph.scopes, net.span, [n for _, n in outputs],
                     inputs=list(self.inputs), output_names=[n for n, _ in outputs], layout=self.layout)

    # -- bodies ----------------------------------------------------------------------------------

    def lower_body(self, body, tip, scope: Scope, ctx: Context, tensors: TensorScope, defaults: dict):
        # Lowering recurses once per open brace or block call; the limit turns a
        # pathological nesting into an error instead of a RecursionError.
        self.nesting += 1
        try:
            if self.nesting > self.limits.max_nesting:
                where = body[0].span if body else scope.span
                self.report.error(f"the spec nests braces and block calls more than {self.limits.max_nesting} "
                                  f"deep", where, hint="flatten the structure, or raise the limit with --max-nesting")
                raise Abort
            for stmt in body:
                if type(stmt) is ast.Defaults:
                    defaults = self.read_defaults(stmt, ctx, defaults)
                    continue
                ctx.flow = tip
                tip = self.lower_stmt(stmt, tip, scope, ctx, tensors, defaults)
            return tip
        finally:
            self.nesting -= 1

    def lower_stmt(self, stmt, tip, scope, ctx, tensors, defaults):
        kind = type(stmt)
        if kind is ast.If:
            return self.lower_if(stmt, tip, scope, ctx, tensors, defaults)
        label = stmt.label
        if label is None:
            if kind is ast.Layer:
                return self.lower_layer_statement(stmt, tip, scope, ctx, tensors, defaults)
            return _STRUCTURE[kind](self, stmt, tip, scope, ctx, tensors, defaults)
        # A label names the statement's output; inside the statement it is not
        # there yet, and a reference to it would be a cycle.
        tensors.pending.add(label)
        try:
            if kind is ast.Layer:
                tip = self.lower_layer_statement(stmt, tip, scope, ctx, tensors, defaults)
                names_tensor = stmt.op not in _NAMES_NO_TENSOR
            else:
                tip = _STRUCTURE[kind](self, stmt, tip, scope, ctx, tensors, defaults)
                names_tensor = True
        finally:
            tensors.pending.discard(label)
        if names_tensor and tip is not None:
            tensors.define(label, tip, stmt.span)
        return tip

    # -- blocks ----------------------------------------------------------------------------------

    def lower_call(self, stmt: ast.Call, tip, scope, ctx, tensors, defaults):
        block = self.blocks.get(stmt.block)
        if block is None:
            if stmt.block in REGISTRY:
                written = [a.span.text() for a in stmt.args] + [kw.span.text() for kw in stmt.kwargs]
                fixed = " ".join([stmt.block, *written]) if None not in written else f"{stmt.block} ..."
                hint = f"{stmt.block} is a layer: write `{fixed}` (no parentheses)"
            else:
                close = close_matches(stmt.block, list(self.blocks), n=1, cutoff=0.6)
                hint = (f"did you mean '{close[0]}'?" if close else
                        "define it with `block Name(...) { ... }` or `use` the file that has it")
            self.report.error(f"unknown block '{stmt.block}'", stmt.block_span, hint=hint,
                              fix=self._did_you_mean(stmt.block_span, hint))
            return self.graph.node(None, stmt.block.lower(), inputs_of(tip), None, scope, stmt.span, stmt.label)
        chain = [f.block for f in self.report.frames]
        if stmt.block in chain:
            cycle = " -> ".join(chain[chain.index(stmt.block):] + [stmt.block])
            self.report.error(f"block {stmt.block} uses itself", stmt.span, notes=[f"cycle: {cycle}"],
                              hint="blocks cannot be recursive; use `repeat N { ... }` to stack copies")
            return self.graph.node(None, stmt.block.lower(), inputs_of(tip), None, scope, stmt.span, stmt.label)
        if len(self.report.frames) >= self.limits.max_depth:
            self.report.error(f"blocks are nested more than {self.limits.max_depth} deep", stmt.span,
                              hint="raise the limit with --max-depth")
            raise Abort
        callee = self.binder.bind_call(block, stmt, ctx, Tensor(tip, INPUT) if tip is not None else None)
        if callee is None:
            return self.graph.node(None, stmt.block.lower(), inputs_of(tip), None, scope, stmt.span, stmt.label)
        # The label shows the call as written, with values: Bottleneck(512, s=2).
        shown = [show_value(callee[p.name]) for p in block.params[:len(stmt.args)]]
        shown += [f"{kw.name}={show_value(callee[kw.name])}" for kw in stmt.kwargs]
        label = f"{block.name}({', '.join(shown)})" if block.parens else block.name
        local = self.graph.local_name(scope, stmt.label, block.name.lower(), stmt.span)
        inner = self.graph.scope(ScopeKind.BLOCK, label, local, scope, stmt.span)
        if tip is not None:
            callee[INPUT] = Tensor(tip, INPUT)
        inner.definition, inner.args = block, callee
        # The block sees its parameters and its own labels, not the caller's; the
        # caller's are remembered, to say so when the block refers to one.
        inner_ctx = Context(callee, TensorScope(where=f"block {block.name}", hidden=tensors.hidden), tip,
                            self.is_kind, f"block {block.name}")
        self.report.frames.append(Frame(block.name, stmt.span))
        try:
            return self.lower_body(block.body, tip, inner, inner_ctx, inner_ctx.tensors,
                                   self.defaults_of_file(block.span.file, defaults))
        finally:
            self.report.frames.pop()

    # -- repeat, if, from ----------------------------------------------------------------------

    def lower_repeat(self, stmt: ast.Repeat, tip, scope, ctx, tensors, defaults):
        count = self.binder.eval_int(stmt.count, ctx, "repeat count", minimum=0)
        if count is None:
            return tip
        if count > self.limits.max_layers:
            self.report.error(f"repeat {count:,} would expand past the limit of {self.limits.max_layers:,} layers",
                              stmt.count.span, hint="raise the limit with --max-layers")
            return tip
        if stmt.label:
            name = self.graph.local_name(scope, stmt.label, "repeat", stmt.span)
            inner = self.graph.scope(ScopeKind.REPEAT, f"{stmt.label}: repeat {count}", name, scope, stmt.span,
                                     count=count)
        else:
            inner = self.graph.scope(ScopeKind.REPEAT, f"repeat {count}", None, scope, stmt.span, count=count)
        for _ in range(count):
            before = len(self.graph.nodes)
            tip = self.lower_body(stmt.body, tip, inner, ctx, tensors.child("repeat"), defaults)
            if len(self.graph.nodes) == before:
                break  # an empty body: further rounds change nothing
        return tip

    def lower_if(self, stmt: ast.If, tip, scope, ctx, tensors, defaults):
        """Decided now: the chosen body is lowered in place, as if written there, so
        labels inside it are seen after the `if` (exactly one body runs)."""
        value = self.binder.eval(stmt.cond, ctx)
        if value is None:
            return tip
        if not isinstance(value, bool):
            self.report.error(f"the condition of an if must be true or false, got {self.show(value)}",
                              stmt.cond.span, hint="compare it: if s == 1 { ... }, if in.c != c { ... }")
            return tip
        body = stmt.body if value else (stmt.orelse or [])
        return self.lower_body(body, tip, scope, ctx, tensors, defaults)

    def lower_from(self, stmt: ast.From, tip, scope, ctx, tensors, defaults):
        value = self.binder.eval(stmt.source, ctx)
        if value is None:
            return None
        if not isinstance(value, Tensor):
            self.report.error(f"from takes a tensor such as @e4, got {self.show(value)}", stmt.source.span,
                              hint="refer to an earlier statement by its label: from @label { ... }")
            return None
        inner = Context(ctx.params, None, value.node, ctx.is_kind, ctx.where)
        inner.tensors = tensors.child("from")
        return self.lower_body(stmt.body, value.node, scope, inner, inner.tensors, defaults)

    # -- merges and residuals -------------------------------------------------------------------

    def lower_merge(self, stmt: ast.Merge, tip, scope, ctx, tensors, defaults):
        cls = MERGES.get(stmt.kind)
        if cls is None:
            self._unknown_merge(stmt)
            return self.graph.node(None, stmt.kind, inputs_of(tip), None, scope, stmt.span, stmt.label)
        if len(stmt.branches) < cls.min_branches:
            self.report.error(f"{stmt.kind} needs at least {_NUMBERS.get(cls.min_branches, cls.min_branches)} "
                              f"branches, found {len(stmt.branches)}", stmt.span,
                              hint=f"{stmt.kind} {{ branch {{ ... }} branch {{ ... }} }}")
            return self.graph.node(None, stmt.kind, inputs_of(tip), None, scope, stmt.span, stmt.label)
        region = self.graph.scope(ScopeKind.MERGE, stmt.kind, None, scope, stmt.span)
        tips = []
        for branch in stmt.branches:
            name = self.graph.names.fresh(scope, "branch")
            inner = self.graph.scope(ScopeKind.BRANCH, name, name, region, branch.span)
            tips.append(self.lower_body(branch.body, tip, inner, ctx, tensors.child("branch"), defaults))
        return self.merge_node(cls(), stmt.kind, tips, scope, stmt.span, stmt.label)

    def _unknown_merge(self, stmt: ast.Merge) -> None:
        """`relu { branch ... }`, `cncat { ... }`: a name with branches that is no merge."""
        merges = join_words(MERGES)
        if stmt.kind in REGISTRY:
            self.report.error(f"{stmt.kind} is a layer and takes no branches", stmt.kind_span,
                              hint=f"branches belong to a merge: {merges}")
            return
        close = close_matches(stmt.kind, list(MERGES), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"the merges are {merges}"
        self.report.error(f"unknown merge '{stmt.kind}'", stmt.kind_span, hint=hint,
                          fix=self._did_you_mean(stmt.kind_span, hint))

    def merge_node(self, op, keyword, tips, scope, span, label):
        shapes = [t.shape if t is not None else None for t in tips]
        shape = None
        if all(s is not None for s in shapes):
            try:
                shape = op.infer(shapes)
            except ShapeError as exc:
                self.report.error(exc.message, span, [*exc.notes, *self.graph.assuming(*tips)], exc.hint)
                op = None
        inputs = [t for t in tips if t is not None]
        node = self.graph.node(op, keyword, inputs, shape, scope, span, label)
        self.graph.track(node, inputs, None, span)
        return node

    def lower_residual(self, stmt: ast.Residual, tip, scope, ctx, tensors, defaults):
        region = self.graph.scope(ScopeKind.RESIDUAL, "residual", None, scope, stmt.span)
        body_tip = self.lower_body(stmt.body, tip, region, ctx, tensors.child("residual"), defaults)
        known = tip is not None and tip.shape is not None and body_tip is not None and body_tip.shape is not None
        if stmt.optional:
            if stmt.shortcut is not None:
                self.report.error("an optional residual has no shortcut: it skips where the shapes agree",
                                  stmt.shortcut_span, hint="drop `optional` to project, or drop the shortcut")
            if known and body_tip.shape != tip.shape:
                return body_tip  # torchvision's use_res_connect: no skip where the shape changes
            return self.merge_node(Add(residual=True), "add", [body_tip, tip], scope, stmt.span, stmt.label)
        skip = tip
        if stmt.shortcut is not None and (stmt.always or not known or body_tip.shape != tip.shape):
            name = self.graph.names.fresh(scope, "shortcut")
            inner = self.graph.scope(ScopeKind.SHORTCUT, "shortcut", name, region, stmt.shortcut_span)
            skip = self.lower_body(stmt.shortcut, tip, inner, ctx, tensors.child("shortcut"), defaults)
        body = body_tip.shape if body_tip is not None else None
        carried = skip.shape if skip is not None else None
        if body is None or carried is None or body == carried:
            return self.merge_node(Add(residual=True), "add", [body_tip, skip], scope, stmt.span, stmt.label)
        self._residual_mismatch(stmt, tip, body_tip, skip, ctx)
        # The fix goes into the skip, so the sum will have the body's shape.
        guess = body if len(body) == len(carried) else None
        node = self.graph.node(None, "add", [body_tip, skip], guess, scope, stmt.span, stmt.label)
        self.graph.track(node, [body_tip, skip], guess, stmt.span)
        return node

    def _residual_mismatch(self, stmt: ast.Residual, tip, body_tip, skip, ctx) -> None:
        body, carried = body_tip.shape, skip.shape
        assumed = self.graph.assuming(body_tip, skip)
        if len(body) != len(carried):
            self.report.error("residual body and skip have different shapes", stmt.span,
                              [f"body gives {shape_text(body)}, the skip carries {shape_text(carried)}", *assumed],
                              hint="the body changes the rank; a residual body must keep it")
            return
        frame = self.report.frames[-1] if self.report.frames else None
        if skip is not tip:
            # The shortcut exists and is what is wrong: point at it.
            from archdsl.lowering.hints import projection
            proj = projection(stmt, tip.shape, body, ctx, frame is not None)
            self.report.error("the residual's shortcut and body give different shapes", stmt.shortcut_span,
                              [f"the shortcut gives {shape_text(carried)} but the body gives {shape_text(body)}",
                               *assumed],
                              hint=f"the shortcut must turn the input {shape_text(tip.shape)} into "
                                   f"{shape_text(body)}, e.g. `shortcut {{ {proj} }}`")
            return
        hint, fix = residual_hint(stmt, tip.shape, body, ctx, frame.call_span if frame else None,
                                  frame.block if frame else None)
        self.report.error("residual body and skip have different shapes", stmt.span,
                          [f"body gives {shape_text(body)}, the skip carries {shape_text(carried)}", *assumed],
                          hint=hint, fix=fix)


_STRUCTURE = {
    ast.Call: Lowerer.lower_call, ast.Repeat: Lowerer.lower_repeat, ast.Merge: Lowerer.lower_merge,
    ast.Residual: Lowerer.lower_residual, ast.From: Lowerer.lower_from,
}


# Layer-shaped statements whose label names no tensor of its own (split names its parts).
_NAMES_NO_TENSOR = frozenset({"split", "chunk", "output", "expect"})


def _is_input(stmt) -> bool:
    return type(stmt) is ast.Layer and stmt.op == "input"
