"""Lowering the statements shaped like a layer: layers themselves, and the
keywords that read like one: `input`, `output`, `expect`, `a, b: split 2`,
merges of named tensors (`concat @a @`, `mul @x`), a block's parameter
holding a layer kind (`act`), and `defaults { ... }`."""
from __future__ import annotations

from archdsl.core.ops import MERGES, REGISTRY, Input, Kind, ShapeError, Tensor
from archdsl.core.ops.base import ValueProblem
from archdsl.core.ops.reshape import Split
from archdsl.core.shapes import Tokens, describe_rank
from archdsl.core.window import arithmetic
from archdsl.errors import Diagnostic, Fix, OptionError
from archdsl.frontend import syntax as ast
from archdsl.lowering.binding import attr_expr, computed
from archdsl.lowering.expressions import Context
from archdsl.lowering.hints import param_origin, unknown_layer_hint
from archdsl.lowering.layout import CODE as CHANNELS_LAST
from archdsl.lowering.layout import (
    as_written,
    channels_first,
    channels_last_warning,
    layout_value,
    looks_channels_last,
    read_shape,
)
from archdsl.lowering.made import literal_key
from archdsl.text import AXIS_NAMES, Layout, dims_text, shape_text

STATEMENT_KEYWORDS = ("input", "output", "expect")


def inputs_of(tip):
    return (tip,) if tip is not None else ()


def _flatten_before(node):
    """The flatten that made this flat vector (walking back along first inputs), or None."""
    while node is not None:
        if node.keyword == "flatten":
            return node
        node = node.inputs[0] if node.inputs else None
    return None


def _map_example(n: int) -> str:
    """An input map with n values, for a hint: 784 -> 1x28x28, 3072 -> 3x32x32."""
    for c in (1, 3):
        side = round((n // c) ** 0.5)
        if n % c == 0 and side >= 8 and side * side * c == n:
            return f"{c}x{side}x{side}"
    return "3x32x32"


class LayerStatements:
    """Methods of the Lowerer (lowerer.py) for layer-shaped statements."""

    # -- dispatch -----------------------------------------------------------------------

    def lower_layer_statement(self, stmt: ast.Layer, tip, scope, ctx: Context, tensors, defaults):
        op = stmt.op
        if op == "input":
            self.report.error("input statements come first in a network, before any layer", stmt.span,
                              hint="move it up to the other inputs; a block receives its input where it is used")
            return tip
        if op == "output":
            return self.lower_output(stmt, tip, ctx)
        if op == "layout":
            self.report.error("layout is a statement of the file, not of a network", stmt.span,
                              hint="write `layout hwc` at the top of the file, outside any network, or give the "
                                   "input its own: input 227x227x3 layout=hwc")
            return tip
        if op == "expect":
            return self.lower_expect(stmt, tip, ctx)
        if op in ("split", "chunk"):
            return self.lower_split(stmt, tip, scope, ctx, tensors)
        if len(stmt.labels) > 1:
            self.report.error(f"only split gives several outputs; {op} gives one, so it takes one label",
                              stmt.span, hint=f"keep one name: {stmt.labels[0]}: {op} ...")
        if op in MERGES:
            return self.lower_ref_merge(stmt, tip, scope, ctx)
        if op in ctx.params:
            return self.lower_kind_parameter(stmt, tip, scope, ctx, tensors, defaults)
        if op in self.blocks and op not in REGISTRY:
            return self.lower_bare_call(stmt, tip, scope, ctx, tensors, defaults)
        return self.lower_layer(stmt, tip, scope, ctx, defaults)

    # -- layers -------------------------------------------------------------------------

    def lower_layer(self, stmt: ast.Layer, tip, scope, ctx: Context, defaults, keyword: str | None = None):
        keyword = keyword or stmt.op
        cls = REGISTRY.get(keyword)
        if cls is None:
            message, hint = unknown_layer_hint(keyword, self.blocks)
            self.report.error(message, stmt.op_span, hint=hint, fix=self._did_you_mean(stmt.op_span, hint))
            return self.graph.node(None, keyword, inputs_of(tip), None, scope, stmt.span, stmt.label)
        shape_in = tip.shape if tip is not None else None
        kind_defaults = defaults.get(cls)
        key = literal_key(cls, stmt, ctx.params, kind_defaults, shape_in) if shape_in is not None else None
        try:
            made = self.made.get(key) if key is not None else None
        except TypeError:  # a default that is no dictionary key
            key = made = None
        if made is not None:  # the same statement on the same input, lowered before
            op, shape, lints, extra = made
            self._report_lints(lints, stmt, tip)
            node = self.graph.node(op, cls.keywords[0], (*inputs_of(tip), *extra), shape, scope, stmt.span,
                                   stmt.label)
            self.graph.track(node, [tip], None, stmt.span)
            return self._after_layer(node, stmt, tip)
        said = self.report.said
        bound = self.binder.bind(cls, stmt, ctx, kind_defaults)
        op, shape, guess, lints = None, None, None, ()
        unknown_tensor = bound.values is not None and any(
            isinstance(v, Tensor) and v.shape is None for v in bound.values.values())
        if shape_in is not None and bound.values is not None and not unknown_tensor:
            try:
                op = cls.make(bound.values, [shape_in])
                shape = op.infer([shape_in])
                self.graph.check_size(shape)
                lints = tuple(op.lint([shape_in]))
            except ShapeError as exc:
                self.shape_error(exc, stmt, ctx, tip, cls)
                op, shape = None, None
                guess = shape_in if cls.keeps_shape else exc.shape
        elif shape_in is not None and not unknown_tensor:
            guess = self.graph.guess(cls, bound, shape_in)
        extra = cls.tensor_inputs(bound.values) if bound.values is not None else ()
        if key is not None and op is not None and said == self.report.said:
            self.made[key] = (op, shape, lints, extra)
        self._report_lints(lints, stmt, tip)
        node = self.graph.node(op, cls.keywords[0], (*inputs_of(tip), *extra), shape if guess is None else guess,
                               scope, stmt.span, stmt.label)
        self.graph.track(node, [tip], guess, stmt.span)
        return self._after_layer(node, stmt, tip)

    def _report_lints(self, lints, stmt: ast.Layer, tip) -> None:
        for lint in lints:
            self.report.warn(lint.message, stmt.span, [*lint.notes, *self.graph.assuming(tip)], lint.hint,
                             code=lint.code)

    def _after_layer(self, node, stmt: ast.Layer, tip):
        if node.keyword == "softmax" and tip is not None and tip.keyword == "softmax":
            # Its inputs lie in 0..1, so no output exceeds e times another: near uniform.
            self.report.warn("softmax right after a softmax", stmt.span,
                             [f"the softmax at {tip.span} already gives probabilities; a second one squeezes "
                              f"them towards uniform (no output is more than e times another)"],
                             "delete one of them", code="double-softmax",
                             fix=None if stmt.label else Fix(stmt.span, ""))
        return node

    @staticmethod
    def _did_you_mean(span, hint: str | None) -> Fix | None:
        """The name a `did you mean 'x'?` or `archdsl writes `x`` hint proposes."""
        if hint and hint.startswith("did you mean '"):
            return Fix(span, hint.split("'")[1])
        if hint and "; archdsl writes `" in hint:
            return Fix(span, hint.split("`")[1])
        return None

    def shape_error(self, exc: ShapeError, stmt: ast.Layer, ctx: Context, tip, cls) -> None:
        notes, hint = [*exc.notes, *self.graph.assuming(tip)], exc.hint
        expr = attr_expr(cls, stmt, exc.culprit) if exc.culprit else None
        frame = self.report.frames[-1] if self.report.frames else None
        origin = param_origin(expr, ctx, frame.block if frame else None)
        if origin is not None:
            # The value came from a block parameter: name it, and where it was given.
            written = next((kw.name for kw in stmt.kwargs if kw.value is expr), exc.culprit)
            notes.insert(0, f"{written}={expr.id}, and {origin}")
            value, c_in = ctx.params[expr.id], tip.shape[0] if tip is not None and tip.shape else None
            if exc.culprit == "g" and isinstance(value, int) and c_in and c_in % value:
                hint = (f"{expr.id} is {value} but the input has {c_in} channels: use {frame.block} with "
                        f"{expr.id}={c_in}, or give it a {value}-channel input")
        elif expr is not None:
            notes[:0] = computed(expr, ctx)
        flatten = _flatten_before(tip) if hint and hint.endswith("before the flatten") else None
        if flatten is not None:
            hint += f" at line {flatten.span.line}" if flatten.span.file == stmt.span.file else f" at {flatten.span}"
        elif hint and hint.endswith("before the flatten"):
            # The vector did not come from a flatten: there is nothing to move.
            hint = (f"{stmt.op} works on maps (CxL, CxHxW, CxDxHxW); a flat vector takes fc, or start the "
                    f"network from a map such as `input {_map_example(tip.shape[0])}`")
        self.report.error(exc.message, stmt.span, notes, hint)

    def lower_kind_parameter(self, stmt: ast.Layer, tip, scope, ctx: Context, tensors, defaults):
        """`act` inside `block CBA(c, act=relu)`: the layer kind (or block) the parameter holds."""
        value = ctx.params[stmt.op]
        if not isinstance(value, Kind):
            self.report.error(f"'{stmt.op}' is a parameter holding {self.show(value)}, not a layer kind",
                              stmt.op_span, hint=f"pass a layer kind to use it as a statement: {stmt.op}=relu")
            return self.graph.node(None, stmt.op, inputs_of(tip), None, scope, stmt.span, stmt.label)
        if value in self.blocks and value not in REGISTRY:
            call = ast.Call(stmt.label, str(value), stmt.op_span, stmt.args, stmt.kwargs, stmt.span)
            return self.lower_call(call, tip, scope, ctx, tensors, defaults)
        return self.lower_layer(stmt, tip, scope, ctx, defaults, keyword=str(value))

    def lower_bare_call(self, stmt: ast.Layer, tip, scope, ctx: Context, tensors, defaults):
        """`Stem` for `block Stem { ... }`: a block without parameters is called by its name."""
        block = self.blocks[stmt.op]
        required = [p.name for p in block.params if p.default is None]
        if required or stmt.args or stmt.kwargs:
            written = " ".join(filter(None, [*(a.span.text() for a in stmt.args),
                                             *(k.span.text() for k in stmt.kwargs)]))
            args = ", ".join(filter(None, [written.replace(" ", ", ")] if written else required))
            fixed = f"{stmt.op}({args})"
            self.report.error(f"'{stmt.op}' is a block, not a layer", stmt.op_span,
                              hint=f"call it with its arguments in parentheses, right after the name: {fixed}")
            return self.graph.node(None, stmt.op.lower(), inputs_of(tip), None, scope, stmt.span, stmt.label)
        call = ast.Call(stmt.label, stmt.op, stmt.op_span, [], [], stmt.span)
        return self.lower_call(call, tip, scope, ctx, tensors, defaults)

    # -- merges of named tensors --------------------------------------------------------------

    def lower_ref_merge(self, stmt: ast.Layer, tip, scope, ctx: Context):
        """`add @x`, `mul @gate`: one tensor merges with the flow (the flow first);
        `concat @skip @up`: several merge as listed (`@` stands for the flow)."""
        cls = MERGES[stmt.op]
        for kw in stmt.kwargs:
            self.report.error(f"{stmt.op} takes no parameters", kw.name_span,
                              hint=f"list the tensors to merge: {stmt.op} @a @b")
        tips, flow_given, ok = [], False, True
        for arg in stmt.args:
            if isinstance(arg, ast.Flow):
                tips.append(tip)
                flow_given = True
                continue
            value = self.binder.eval(arg, ctx)
            if value is None:
                ok = False
            elif not isinstance(value, Tensor):
                self.report.error(f"{stmt.op} merges tensors, and {self.show(value)} is not one", arg.span,
                                  hint=f"name tensors with @: {stmt.op} @a @b, or use branches: "
                                       f"{stmt.op} {{ branch {{ ... }} branch {{ ... }} }}")
                ok = False
            else:
                tips.append(value.node)
        if not flow_given and len(tips) == 1:
            tips.insert(0, tip)
        if not ok:
            pass  # the argument that failed was reported; the count would only echo it
        elif not stmt.args:
            self.report.error(f"{stmt.op} needs tensors to merge", stmt.span,
                              hint=f"{stmt.op} @a (with the flow), or "
                                   f"{stmt.op} {{ branch {{ ... }} branch {{ ... }} }}")
            ok = False
        elif len(tips) < cls.min_branches:
            self.report.error(f"{stmt.op} needs at least two inputs", stmt.span,
                              hint=f"{stmt.op} @a merges @a with the flow; {stmt.op} @a @b merges the two")
            ok = False
        if not ok:
            return self.graph.node(None, stmt.op, [t for t in tips if t is not None], None, scope, stmt.span,
                                   stmt.label)
        return self.merge_node(cls(), stmt.op, tips, scope, stmt.span, stmt.label)

    # -- split ----------------------------------------------------------------------------------

    def lower_split(self, stmt: ast.Layer, tip, scope, ctx: Context, tensors):
        """`a, b: split 2`: one node per named part; the flow continues from the last."""
        names = stmt.labels
        bound = self.binder.bind(Split, stmt, ctx)
        if not names:
            self.report.error("name the parts of a split", stmt.span,
                              hint=f"for example `a, b: {stmt.span.text() or 'split 2'}`")
            return self.graph.node(None, "split", inputs_of(tip), None, scope, stmt.span, None)
        parts = None
        if bound.values is not None and tip is not None and tip.shape is not None:
            try:
                parts = Split.parts(bound.values, [tip.shape])
            except ShapeError as exc:
                self.report.error(exc.message, stmt.span, [*exc.notes, *self.graph.assuming(tip)], exc.hint)
        if parts is not None and len(parts) != len(names):
            self.report.error(f"the split gives {len(parts)} parts but {len(names)} names", stmt.span,
                              hint=f"name every part: {', '.join(f'p{i + 1}' for i in range(len(parts)))}: ...")
            parts = None
        node = None
        for i, name in enumerate(names):
            op = parts[i] if parts is not None else None
            shape = op.infer([tip.shape]) if op is not None else None
            node = self.graph.node(op, "split", inputs_of(tip), shape, scope, stmt.span, name)
            self.graph.track(node, [tip], None, stmt.span)
            tensors.define(name, node, stmt.span)
        return node

    # -- input, output, expect -------------------------------------------------------------------

    def layout_at(self, span) -> str:
        """How the shapes at `span` are written: the network's layout in its own file,
        the `layout` statement of another file (a block's), else channels first."""
        if span.file == self.network_file:
            return self.layout
        return self.file_layouts.get(span.file, Layout.CHW)

    def lower_input(self, stmt: ast.Layer, scope, ctx: Context):
        """`input 3x224x224`, `input image 3x224x224` or `image: input 3x224x224`;
        `layout=hwc` (or the file's `layout hwc`) reads the shape channels last."""
        args, name = stmt.args, stmt.label
        if len(args) >= 2 and isinstance(args[0], ast.Name):
            name, args = args[0].id, args[1:]
        layout, kwargs = self._input_layout(stmt, ctx)
        written = ast.Layer(stmt.label, "input", stmt.op_span, list(args), kwargs, stmt.span)
        values = self.binder.bind(Input, written, ctx).values
        if values is None or layout is None:
            return None
        override = self.input_override(name, len(self.inputs))
        if override is None and layout == Layout.CHW and looks_channels_last(values["shape"]):
            message, notes, hint, fix = channels_last_warning(values["shape"], args[0])
            self.report.warn(message, stmt.span, notes, hint, code=CHANNELS_LAST, fix=fix)
        shape = values["shape"]
        if override is not None:
            if len(override) != len(shape):
                # The spec is fine; the option does not fit it (a usage error in the CLI).
                raise OptionError(Diagnostic(
                    "error", f"input {shape_text(override)} is {describe_rank(override)}, but network "
                             f"{self.network} takes {describe_rank(shape)} ({shape_text(shape)} at {stmt.span})",
                    stmt.span, hint=f"give {len(shape)} sizes, as in {shape_text(shape)}"))
            shape = override  # `--input` is written like the shape it replaces
        # Tokens hold their features last whatever the layout (`input 197x768 tokens=true`).
        if values.get("tokens") and len(shape) not in (2, 3):
            self.report.error(f"tokens=true takes a sequence LxD or a grid HxWxD, not {shape_text(shape)}",
                              stmt.span, hint="for example `input 197x768 tokens=true`")
            return None
        shape = Tokens(shape) if values.get("tokens") and len(shape) in (2, 3) else read_shape(shape, layout)
        if any(d > self.limits.max_dim for d in shape):
            self.report.error(f"input size {shape_text(shape)} exceeds the limit of {self.limits.max_dim:,}",
                              stmt.span)
            return None
        op = Input(shape if isinstance(shape, Tokens) else tuple(shape), values["dtype"])
        node = self.graph.node(op, "input", (), op.shape, scope, stmt.span, name or "input")
        self.inputs.append(node)
        return node

    def _input_layout(self, stmt: ast.Layer, ctx: Context):
        """The layout an input's shape is written in (None after an error), and its other
        key=value arguments. The first input's `layout=` is the network's layout."""
        given = [kw for kw in stmt.kwargs if kw.name == "layout"]
        rest = [kw for kw in stmt.kwargs if kw.name != "layout"]
        if not given:
            return self.layout_at(stmt.span), rest
        for kw in given[1:]:
            self.report.error("layout is given twice", kw.span, hint="keep one layout=...")
        try:
            layout = layout_value(given[0], lambda expr: self.binder.eval(expr, ctx))
        except ValueProblem as exc:
            fix = Fix(given[0].value.span, exc.fix) if exc.fix is not None else None
            self.report.error(exc.message, given[0].value.span, hint=exc.hint, fix=fix)
            return None, rest
        if not self.inputs:
            self.layout = layout
        return (layout if len(given) == 1 else None), rest

    def lower_output(self, stmt: ast.Layer, tip, ctx: Context):
        """`output mask` (the flow) or `output boxes @b`: a named output of the network."""
        if self.report.frames:
            self.report.error("outputs belong to the network, not to a block", stmt.span,
                              hint="mark the block's result as an output where the network uses it")
            return tip
        name, target = None, tip
        for arg in stmt.args:
            if isinstance(arg, ast.Name) and arg.id not in ctx.params and name is None:
                name = arg.id
                continue
            value = self.binder.eval(arg, ctx)
            if value is None:
                return tip
            if not isinstance(value, Tensor) or target is not tip:
                self.report.error("output takes a name and at most one tensor: output mask, or output boxes @b",
                                  arg.span)
                return tip
            target = value.node
        if stmt.kwargs:
            self.report.error("output takes no parameters", stmt.kwargs[0].name_span)
        if target is None:
            return tip
        name = name or target.local_name
        if name in (n for n, _ in self.outputs):
            self.report.error(f"the output name '{name}' is used twice", stmt.span,
                              hint="give each output its own name")
            return tip
        self.outputs.append((name, target))
        return tip

    def lower_expect(self, stmt: ast.Layer, tip, ctx: Context):
        """`expect 256x56x56`: the flow must have this shape (a lecture table as a checked exercise)."""
        if len(stmt.args) != 1 or stmt.kwargs:
            self.report.error("expect takes one shape: expect 256x56x56", stmt.span)
            return tip
        value = self.binder.eval(stmt.args[0], ctx)
        if value is None or tip is None or tip.shape is None:
            return tip
        written = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in written):
            self.report.error(f"expect takes a shape like 256x56x56, got {self.show(value)}", stmt.args[0].span)
            return tip
        layout = self.layout_at(stmt.span)
        expected = read_shape(tuple(written), layout)
        if expected == tip.shape:
            return tip
        got = shape_text(tip.shape, layout)
        notes = [f"the {tip.keyword} at {tip.span} gives {got}"]
        if len(written) > 1 and layout == Layout.CHW and channels_first(tuple(written)) == tip.shape:
            hint = (f"{dims_text(written)} is the shape channels last: write `expect {got}`, or `layout hwc` "
                    f"at the top of the file to write every shape that way")
        elif len(written) > 1 and layout == Layout.HWC and tuple(written) == tip.shape:
            hint = (f"the file writes shapes channels last (layout hwc): write `expect "
                    f"{dims_text(as_written(tip.shape, layout))}`")
        else:  # the shapes really differ: show the arithmetic of the axes that do
            notes += self.explain_axes(tip, expected)
            hint = "the table you are checking against may have a typo, or a layer above differs"
        self.report.error(f"expected {dims_text(written)}, got {got}", stmt.span, notes, hint=hint)
        return tip

    @staticmethod
    def explain_axes(node, expected) -> list[str]:
        """The window arithmetic of the axes where a windowed layer's output differs from `expected`."""
        window = getattr(node.op, "window", None)
        if window is None or not node.inputs or len(expected) != len(node.shape):
            return []
        rounding = getattr(node.op, "rounding", "floor")
        names = AXIS_NAMES.get(len(node.shape) - 1, ())
        by_text: dict[str, list[str]] = {}
        for i, (n, k, s, (pb, pa), d) in enumerate(zip(node.inputs[0].shape[1:], window.kernel, window.stride,
                                                       window.padding, window.dilation, strict=True)):
            if node.shape[1 + i] != expected[1 + i]:
                by_text.setdefault(arithmetic(n, k, s, pb + pa, d, rounding), []).append(names[i])
        return [f"{' and '.join(axes)}: {text}" for text, axes in by_text.items()]

    # -- defaults -------------------------------------------------------------------------------

    def read_defaults(self, stmt: ast.Defaults, ctx: Context, defaults: dict) -> dict:
        """The defaults after `defaults { bn eps=1e-3; conv bias=false }`: a new map,
        the old one untouched (it still holds for the enclosing bodies)."""
        out = {cls: dict(values) for cls, values in defaults.items()}
        for entry in stmt.body:
            if not isinstance(entry, ast.Layer):
                self.report.error("defaults hold layer kinds with key=value attributes", entry.span,
                                  hint="for example `defaults { bn eps=1e-3; conv bias=false }`")
                continue
            cls = REGISTRY.get(entry.op)
            if cls is None:
                message, hint = unknown_layer_hint(entry.op, ())
                self.report.error(message, entry.op_span, hint=hint)
                continue
            if entry.args:
                self.report.error("defaults take key=value attributes, not positional values", entry.args[0].span,
                                  hint=f"name the attribute: {entry.op} "
                                       f"{next((a.name for a in cls.attrs if a.positional), 'key')}=...")
            by_name = {n: a for a in cls.attrs for n in (a.name, *a.aliases)}
            for kw in entry.kwargs:
                attr = by_name.get(kw.name)
                if attr is None:
                    self.report.error(f"unknown parameter '{kw.name}' for {entry.op}", kw.name_span,
                                      hint=f"{entry.op} takes: {', '.join(a.name for a in cls.attrs)}")
                    continue
                value = self.binder.eval(kw.value, ctx)
                if value is None:
                    continue
                try:
                    out.setdefault(cls, {})[attr.name] = attr.coerce(value, kw.name)
                except ValueProblem as exc:
                    self.report.error(exc.message, kw.value.span, hint=exc.hint)
        return out
