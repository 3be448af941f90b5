"""ONNX graph -> `model.Model`: every node becomes a layer (or joins the one
its pattern makes), with the initializers' shapes giving channels, kernels,
groups and bias, and ONNX's shape inference every output shape.

Patterns exporters write for one layer are read back as that layer: a
constant Pad before a Conv or MaxPool that TensorFlow's 'same' explains
(`p=same`), Neg-MaxPool-Neg (minpool), Reshape-Transpose-Reshape (a channel
shuffle), x * sigmoid(x) (silu), Clip(0, 6) (relu6), MatMul + Add (fc),
Slices that partition the channels (split) or centre a crop. An op with no
`.arch` equivalent is an error naming the node and the op; with
`allow_opaque`, a stand-in of the same output shape and no parameters,
commented with what it replaces.

Imports onnx (and numpy) only when called."""
from __future__ import annotations

from pathlib import Path

from archdsl.core.window import same_padding
from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.importers.model import Layer, Model, axes
from archdsl.text import shape_text


class _Const:
    """A constant tensor (an initializer or a Constant node's value)."""

    __slots__ = ("value", "initializer")

    def __init__(self, value, initializer: bool):
        self.value, self.initializer = value, initializer


def read_onnx(path: str | Path, *, allow_opaque: bool = False, input_shape=None) -> Model:
    """The layers of an ONNX file. ArchError naming the node for an op that has no equivalent."""
    try:
        import onnx
    except ImportError:
        raise UsageError("archdsl import of ONNX files needs onnx: pip install 'archdsl[onnx]'") from None
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        model = onnx.load(str(p))
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own types
        raise UsageError(f"{path} is not an ONNX model ({type(exc).__name__})") from None
    return _Reader(model, allow_opaque, input_shape, p.stem).read()


def _dims(value_info) -> tuple | None:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)


class _Reader:
    def __init__(self, model, allow_opaque: bool, input_shape, stem: str):
        import onnx
        from onnx import numpy_helper
        self.onnx, self.np_helper = onnx, numpy_helper
        if input_shape is not None:
            model = _fix_inputs(model, input_shape)
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001, S110 - partial shapes still help; missing ones are reported
            pass
        self.graph = model.graph
        self.allow_opaque = allow_opaque
        generic = not self.graph.name or self.graph.name in ("main_graph", "torch_jit", "torch-jit-export")
        self.name = _identifier(stem if generic else self.graph.name)
        self.values: dict[str, object] = {}  # tensor name -> Layer or _Const
        self.shapes: dict[str, tuple] = {}
        for vi in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            dims = _dims(vi)
            if dims is not None:
                self.shapes[vi.name] = dims
        for init in self.graph.initializer:
            self.values[init.name] = _Const(numpy_helper.to_array(init), True)
        self.layers: list[Layer] = []
        self.problems: list[Diagnostic] = []

    # -- driving ---------------------------------------------------------------------------------

    def read(self) -> Model:
        inputs = []
        for vi in self.graph.input:
            if vi.name in self.values:
                continue  # an initializer listed as an input (old exporters)
            dims = self.shapes.get(vi.name)
            if not dims or any(d is None for d in dims[1:]):
                raise UsageError(f"input {vi.name} has no fixed size ({_dims_text(dims)}): give it with --input, "
                                 "e.g. --input 3x224x224")
            dtype = vi.type.tensor_type.elem_type
            layer = Layer("input", (tuple(dims[1:]),), shape=tuple(dims[1:]), name=vi.name, origin=f"input {vi.name}")
            if dtype in (self.onnx.TensorProto.INT64, self.onnx.TensorProto.INT32):
                layer.kwargs["dtype"] = "long"
            self.values[vi.name] = layer
            self.layers.append(layer)
            inputs.append(layer)
        for node in self.graph.node:
            try:
                self._node(node)
            except _Unsupported as exc:
                self.problems.append(Diagnostic("error", str(exc), hint=exc.hint))
                for out in node.output:
                    self.values[out] = None
        if self.problems:
            raise ArchError(self.problems)
        outputs = []
        for vi in self.graph.output:
            value = self.values.get(vi.name)
            if not isinstance(value, Layer):
                raise ArchError(Diagnostic("error", f"output {vi.name} is a constant, not computed by a layer"))
            outputs.append((vi.name, value))
        model = Model(self.name, self.layers, inputs, outputs)
        model.prune()
        _finish(model)
        leftover = [layer for layer in model.layers if layer.kind.startswith("_")]
        if leftover:
            raise ArchError([Diagnostic("error", f"{layer.origin} has no .arch equivalent on its own",
                                        hint="it is part of a pattern archdsl reads only whole") for layer in leftover])
        return model

    def _node(self, node) -> None:
        op = node.op_type
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            self._opaque(node, f"ONNX node {node.name or node.output[0]} ({op}) has no .arch equivalent")
            return
        result = handler(node, _attributes(node))
        if isinstance(result, Layer):
            result.origin = result.origin or f"node {node.name or node.output[0]} ({op})"
            if not result.scope:
                result.scope = _scope(node.name)
            if not result.shape:
                result.shape = self._shape(node.output[0])
            self.layers.append(result)
        self.values[node.output[0]] = result

    # -- helpers ----------------------------------------------------------------------------------

    def _shape(self, name: str) -> tuple:
        dims = self.shapes.get(name)
        if not dims or any(d is None for d in dims[1:]):
            raise _Unsupported(f"ONNX's shape inference found no size for {name}",
                               hint="give the input's size with --input")
        return tuple(dims[1:])

    def _layer(self, name: str) -> Layer:
        value = self.values.get(name)
        if isinstance(value, Layer):
            return value
        raise _Unsupported(f"{name} is a constant where archdsl expects a layer's output")

    def _const(self, name: str):
        value = self.values.get(name)
        return value.value if isinstance(value, _Const) else None

    def _opaque(self, node, message: str) -> None:
        if not self.allow_opaque:
            raise _Unsupported(message, hint="--allow-opaque stands in a layer of the same output shape, "
                                             "without parameters, and says so in a comment")
        ins = [self.values.get(i) for i in node.input]
        ins = [i for i in ins if isinstance(i, Layer)]
        if not ins:
            raise _Unsupported(message)
        source, shape = ins[0], self._shape(node.output[0])
        if shape == source.shape:
            layer = Layer("identity", inputs=[source])
        elif _numel(shape) == _numel(source.shape):
            layer = Layer("reshape", (shape,), inputs=[source])
        elif len(shape) == len(source.shape) and shape[0] == source.shape[0] and len(shape) > 1:
            layer = Layer("adaptiveavgpool", (tuple(shape[1:]),), inputs=[source])
        else:
            raise _Unsupported(f"{message}, and no parameter-free layer gives its shape "
                               f"({shape_text(source.shape)} -> {shape_text(shape)})")
        layer.opaque = f"ONNX {node.op_type} {node.name}".strip()
        layer.shape = shape
        self.values[node.output[0]] = layer
        self.layers.append(layer)

    # -- layers -----------------------------------------------------------------------------------

    def _op_Identity(self, node, a):
        value = self.values.get(node.input[0])
        if isinstance(value, Layer):
            return Layer("identity", inputs=[value])
        return value

    def _op_Constant(self, node, a):
        return _Const(self.np_helper.to_array(a["value"]), False) if "value" in a else None

    def _op_Conv(self, node, a):
        x = self._layer(node.input[0])
        w = self._const(node.input[1])
        if w is None:
            raise _Unsupported(f"node {node.name} (Conv) has weights computed at run time")
        bias = len(node.input) > 2 and bool(node.input[2])
        k = tuple(w.shape[2:])
        rank = len(k)
        s = tuple(a.get("strides", [1] * rank))
        d = tuple(a.get("dilations", [1] * rank))
        pads = list(a.get("pads", [0] * 2 * rank))
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise _Unsupported(f"node {node.name} (Conv) uses auto_pad; re-export with explicit pads")
        source, padding = self._padding(x, k, s, d, pads)
        g = int(a.get("group", 1))
        kwargs = {"k": axes(k)}
        if set(s) != {1}:
            kwargs["s"] = axes(s)
        if padding != 0:
            kwargs["p"] = padding
        if set(d) != {1}:
            kwargs["d"] = axes(d)
        if g != 1:
            kwargs["g"] = g
        if not bias:
            kwargs["bias"] = False
        return Layer("conv", (int(w.shape[0]),), kwargs, [source], params=w.size + (w.shape[0] if bias else 0))

    def _padding(self, x: Layer, k, s, d, pads, fill: float = 0.0):
        try:
            return window_padding(x, k, s, d, pads, fill)
        except ValueError as exc:
            raise _Unsupported(str(exc)) from None

    def _op_ConvTranspose(self, node, a):
        x = self._layer(node.input[0])
        w = self._const(node.input[1])
        if w is None:
            raise _Unsupported(f"node {node.name} (ConvTranspose) has weights computed at run time")
        g = int(a.get("group", 1))
        k = tuple(w.shape[2:])
        rank = len(k)
        pads = list(a.get("pads", [0] * 2 * rank))
        if pads[:rank] != pads[rank:]:
            raise _Unsupported(f"node {node.name} (ConvTranspose) is padded unevenly")
        kwargs = {"k": axes(k)}
        for key, attr, default in (("s", "strides", 1), ("p", None, 0), ("op", "output_padding", 0),
                                   ("d", "dilations", 1)):
            values = pads[:rank] if attr is None else a.get(attr, [default] * rank)
            if set(values) != {default}:
                kwargs[key] = axes(values)
        if g != 1:
            kwargs["g"] = g
        bias = len(node.input) > 2 and bool(node.input[2])
        if not bias:
            kwargs["bias"] = False
        out = int(w.shape[1]) * g
        return Layer("convtranspose", (out,), kwargs, [x], params=w.size + (out if bias else 0))

    def _op_BatchNormalization(self, node, a):
        x = self._layer(node.input[0])
        eps = float(a.get("epsilon", 1e-5))
        momentum = round(1.0 - float(a.get("momentum", 0.9)), 6)
        kwargs = {}
        if abs(eps - 1e-5) > 1e-9:
            kwargs["eps"] = eps
        if abs(momentum - 0.1) > 1e-6:
            kwargs["momentum"] = momentum
        scale, bias = (self.values.get(node.input[1]), self.values.get(node.input[2]))
        affine = not (isinstance(scale, _Const) and not scale.initializer and isinstance(bias, _Const)
                      and not bias.initializer)
        if not affine:
            kwargs["affine"] = False
        c = x.shape[0]
        return Layer("bn", (), kwargs, [x], params=2 * c if affine else 0, buffers=2 * c)

    def _activation(kind):
        def handler(self, node, a):
            return Layer(kind, (), {}, [self._layer(node.input[0])])
        return handler

    _op_Relu = _activation("relu")
    _op_Tanh = _activation("tanh")
    _op_HardSwish = _activation("hardswish")
    _op_Gelu = _activation("gelu")

    def _op_Sigmoid(self, node, a):
        return Layer("sigmoid", (), {}, [self._layer(node.input[0])])

    def _op_HardSigmoid(self, node, a):
        if abs(float(a.get("alpha", 0.2)) - 1 / 6) > 1e-6 or abs(float(a.get("beta", 0.5)) - 0.5) > 1e-6:
            raise _Unsupported(f"node {node.name} (HardSigmoid) is not PyTorch's hardsigmoid (alpha 1/6, beta 0.5)")
        return Layer("hardsigmoid", (), {}, [self._layer(node.input[0])])

    def _op_LeakyRelu(self, node, a):
        alpha = float(a.get("alpha", 0.01))
        return Layer("leakyrelu", () if abs(alpha - 0.01) < 1e-9 else (alpha,), {}, [self._layer(node.input[0])])

    def _op_Elu(self, node, a):
        alpha = float(a.get("alpha", 1.0))
        return Layer("elu", () if alpha == 1.0 else (alpha,), {}, [self._layer(node.input[0])])

    def _op_Clip(self, node, a):
        low = self._const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("min")
        high = self._const(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("max")
        if low is not None and high is not None and float(low) == 0.0 and float(high) == 6.0:
            return Layer("relu6", (), {}, [self._layer(node.input[0])])
        self._opaque(node, f"ONNX node {node.name} (Clip) clips to other bounds than relu6's")
        return self.values[node.output[0]]

    def _op_Softmax(self, node, a):
        x = self._layer(node.input[0])
        axis = int(a.get("axis", -1))
        if axis not in (1, 1 - len(x.shape) - 1) and not (len(x.shape) == 1 and axis == -1):
            raise _Unsupported(f"node {node.name} (Softmax) is over axis {axis}, not the channels")
        return Layer("softmax", (), {}, [x])

    def _op_Dropout(self, node, a):
        ratio = self._const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("ratio", 0.5)
        p = float(ratio) if ratio is not None else 0.5
        scope = _scope(node.name)
        if scope and scope[-1].startswith("stochasticdepth"):  # archdsl's export of stochastic depth
            return Layer("stochasticdepth", (p,), {}, [self._layer(node.input[0])])
        return Layer("dropout", () if p == 0.5 else (p,), {}, [self._layer(node.input[0])])

    def _op_LRN(self, node, a):
        x = self._layer(node.input[0])
        kwargs = {"alpha": float(a.get("alpha", 1e-4)), "beta": float(a.get("beta", 0.75)),
                  "k": float(a.get("bias", 1.0))}
        if x.kind == "_unsqueeze":  # a flat vector as N x C x 1
            return Layer("_lrn_flat", (int(a["size"]),), kwargs, [x.inputs[0]])
        return Layer("lrn", (int(a["size"]),), kwargs, [x])

    def _op_Unsqueeze(self, node, a):
        x = self._layer(node.input[0])
        return Layer("_unsqueeze", (), {}, [x], shape=self._shape(node.output[0]))

    def _op_Squeeze(self, node, a):
        x = self._layer(node.input[0])
        if x.kind == "_lrn_flat":
            return Layer("lrn", x.args, x.kwargs, x.inputs)
        raise _Unsupported(f"node {node.name} (Squeeze) has no .arch equivalent")

    def _pool(self, node, a, mode: str):
        x = self._layer(node.input[0])
        k = tuple(a["kernel_shape"])
        rank = len(k)
        s = tuple(a.get("strides", [1] * rank))
        d = tuple(a.get("dilations", [1] * rank))
        pads = list(a.get("pads", [0] * 2 * rank))
        fill = float("-inf") if mode == "max" else 0.0
        if x.kind == "_neg" and mode == "max":
            x, mode = x.inputs[0], "_min"
        source, padding = self._padding(x, k, s, d, pads, fill)
        kwargs = {"k": axes(k)}
        if s != k:
            kwargs["s"] = axes(s)
        if padding != 0:
            kwargs["p"] = padding
        if set(d) != {1}:
            kwargs["d"] = axes(d)
        if int(a.get("ceil_mode", 0)):
            kwargs["ceil"] = True
        if mode == "avg" and padding not in (0, "same"):
            kwargs["include_pad"] = bool(int(a.get("count_include_pad", 0)))
        return Layer(f"{mode}pool", (), kwargs, [source])

    def _op_MaxPool(self, node, a):
        return self._pool(node, a, "max")

    def _op_AveragePool(self, node, a):
        return self._pool(node, a, "avg")

    def _op_Neg(self, node, a):
        x = self._layer(node.input[0])
        if x.kind == "_minpool":
            return Layer("minpool", x.args, x.kwargs, x.inputs, shape=x.shape)
        return Layer("_neg", (), {}, [x])

    def _op_GlobalAveragePool(self, node, a):
        return Layer("gap", (), {}, [self._layer(node.input[0])])

    def _op_GlobalMaxPool(self, node, a):
        return Layer("gmp", (), {}, [self._layer(node.input[0])])

    def _op_Flatten(self, node, a):
        if int(a.get("axis", 1)) != 1:
            raise _Unsupported(f"node {node.name} (Flatten) keeps {a['axis']} leading axes, not the batch only")
        return Layer("flatten", (), {}, [self._layer(node.input[0])])

    def _op_Gemm(self, node, a):
        x = self._layer(node.input[0])
        w = self._const(node.input[1])
        if w is None or float(a.get("alpha", 1.0)) != 1.0 or float(a.get("beta", 1.0)) != 1.0 or a.get("transA"):
            raise _Unsupported(f"node {node.name} (Gemm) is not a plain fully connected layer")
        out = int(w.shape[0] if a.get("transB") else w.shape[1])
        bias = len(node.input) > 2 and bool(node.input[2])
        return Layer("fc", (out,), {} if bias else {"bias": False}, [x], params=w.size + (out if bias else 0))

    def _op_MatMul(self, node, a):
        x = self._layer(node.input[0])
        w = self._const(node.input[1])
        if w is None or w.ndim != 2:
            raise _Unsupported(f"node {node.name} (MatMul) multiplies two computed tensors")
        return Layer("fc", (int(w.shape[1]),), {"bias": False}, [x], params=w.size)

    def _merge(self, node, kind: str):
        ins = [self.values.get(i) for i in node.input]
        if kind == "add" and len(ins) == 2 and isinstance(ins[0], Layer) and isinstance(ins[1], _Const):
            fc = ins[0]
            if fc.kind == "fc" and fc.kwargs.get("bias") is False and ins[1].value.size == fc.args[0]:
                return Layer("fc", fc.args, {}, fc.inputs, shape=fc.shape, params=fc.params + fc.args[0])
        if not all(isinstance(i, Layer) for i in ins):
            raise _Unsupported(f"ONNX node {node.name} ({node.op_type}) with a constant operand has no "
                               ".arch equivalent")
        if kind == "mul" and len(ins) == 2:
            for x, y in (ins, ins[::-1]):
                if y.kind == "sigmoid" and y.inputs[0] is x:
                    return Layer("silu", (), {}, [x])
        return Layer(kind, (), {}, list(ins))

    def _op_Add(self, node, a):
        return self._merge(node, "add")

    def _op_Mul(self, node, a):
        return self._merge(node, "mul")

    def _op_Sum(self, node, a):
        return self._merge(node, "add")

    def _op_Concat(self, node, a):
        ins = [self._layer(i) for i in node.input]
        axis = int(a.get("axis", 1))
        if axis not in (1, -len(ins[0].shape) - 1):
            raise _Unsupported(f"node {node.name} (Concat) joins along axis {axis}, not the channels")
        return Layer("concat", (), {}, ins)

    def _op_Pad(self, node, a):
        x = self._layer(node.input[0])
        pads = self._const(node.input[1]) if len(node.input) > 1 else a.get("pads")
        value = self._const(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("value", 0.0)
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if pads is None:
            raise _Unsupported(f"node {node.name} (Pad) pads by amounts computed at run time")
        pads = [int(v) for v in pads]
        rank = len(pads) // 2
        if any(pads[:2]) or any(pads[rank:rank + 2]):
            raise _Unsupported(f"node {node.name} (Pad) pads the batch or the channels")
        before, after = pads[2:rank], pads[rank + 2:]
        fill = float(value) if value is not None else 0.0
        layer = Layer("_pad", (), {"before": before, "after": after, "value": fill, "mode": mode}, [x])
        layer.shape = self._shape(node.output[0])
        return layer

    def _op_Resize(self, node, a):
        x = self._layer(node.input[0])
        out = self._shape(node.output[0])
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        ctm = a.get("coordinate_transformation_mode", b"half_pixel")
        ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
        rank = len(out) - 1
        kind = {"nearest": "nearest", "linear": {1: "linear", 2: "bilinear", 3: "trilinear"}[rank],
                "cubic": "bicubic"}[mode]
        ratios = {o / i for o, i in zip(out[1:], x.shape[1:], strict=True)}
        kwargs = {}
        args = ()
        if len(ratios) == 1 and all(o == i * next(iter(ratios)) for o, i in zip(out[1:], x.shape[1:], strict=True)):
            scale = next(iter(ratios))
            args = (int(scale) if float(scale).is_integer() else float(scale),)
        else:
            kwargs["size"] = tuple(out[1:])
        if kind != "nearest":
            kwargs["mode"] = kind
            kwargs["align_corners"] = ctm == "align_corners"
        return Layer("upsample", args, kwargs, [x])

    def _op_Slice(self, node, a):
        x = self._layer(node.input[0])
        starts, ends = self._const(node.input[1]), self._const(node.input[2])
        ax = self._const(node.input[3]) if len(node.input) > 3 else list(range(len(starts)))
        steps = self._const(node.input[4]) if len(node.input) > 4 else None
        if starts is None or ends is None or ax is None or (steps is not None and any(int(s) != 1 for s in steps)):
            raise _Unsupported(f"node {node.name} (Slice) has run-time or strided bounds")
        full = (None, *x.shape)
        bounds = {}
        for s, e, axis in zip(starts, ends, ax, strict=True):
            axis = int(axis) % len(full)
            n = full[axis]
            bounds[axis] = (max(0, min(int(s) + (n if s < 0 else 0), n)), max(0, min(int(e) + (n if e < 0 else 0), n)))
        if set(bounds) == {1}:
            start, stop = bounds[1]
            return Layer("_slice", (), {"start": start, "stop": stop}, [x], shape=self._shape(node.output[0]))
        if 0 not in bounds and 1 not in bounds:
            out = self._shape(node.output[0])
            offsets = {i: lo for i, (lo, _) in bounds.items()}
            if x.kind == "crop" and not set(offsets) & set(x.offsets):  # one Slice per axis: one crop
                offsets, x = {**x.offsets, **offsets}, x.inputs[0]
            if all((x.shape[i - 1] - out[i - 1]) // 2 == lo for i, lo in offsets.items()):
                layer = Layer("crop", (tuple(out[1:]),), {}, [x])
                layer.offsets = offsets
                return layer
        raise _Unsupported(f"node {node.name} (Slice) is not a channel split or a centred crop")

    def _op_Reshape(self, node, a):
        x = self._layer(node.input[0])
        out = self._shape(node.output[0])
        if x.kind == "_transpose" and x.kwargs.get("shuffle") and out == x.inputs[0].inputs[0].shape:
            return Layer("shuffle", (x.kwargs["shuffle"],), {}, [x.inputs[0].inputs[0]])
        return Layer("reshape", (out,), {}, [x], shape=out)

    def _op_Transpose(self, node, a):
        x = self._layer(node.input[0])
        perm = [int(p) for p in a["perm"]]
        if perm[0] != 0:
            raise _Unsupported(f"node {node.name} (Transpose) moves the batch axis")
        if x.kind == "reshape" and len(x.shape) == len(x.inputs[0].shape) + 1 and perm[:3] == [0, 2, 1] \
                and perm[3:] == list(range(3, len(perm))) and x.shape[1:] and \
                x.shape[0] * x.shape[1] == x.inputs[0].shape[0]:
            return Layer("_transpose", (), {"shuffle": x.shape[0]}, [x], shape=self._shape(node.output[0]))
        if x.kind == "_embedding" and perm == [0, 2, 1]:  # N x L x D -> the spec's D x L
            return Layer("embedding", x.args, {}, x.inputs, params=x.params)
        return Layer("permute", (tuple(p - 1 for p in perm[1:]),), {}, [x])

    def _op_Gather(self, node, a):
        table = self._const(node.input[0])
        ids = self.values.get(node.input[1])
        if table is None or table.ndim != 2 or not isinstance(ids, Layer) or int(a.get("axis", 0)) != 0:
            raise _Unsupported(f"node {node.name} (Gather) is not an embedding lookup")
        return Layer("_embedding", (int(table.shape[0]), int(table.shape[1])), {}, [ids], params=table.size)


def window_padding(x: Layer, k, s, d, pads, fill: float = 0.0):
    """(input, p) for a windowed layer with ONNX-style pads (every before, then
    every after): a constant pad before it folded in where TensorFlow's 'same'
    explains the total. ValueError for uneven padding 'same' does not explain."""
    rank = len(k)
    before, after = list(pads[:rank]), list(pads[rank:])
    if x.kind == "_pad" and x.kwargs["value"] == fill:
        total_b = [b + e for b, e in zip(before, x.kwargs["before"], strict=True)]
        total_a = [b + e for b, e in zip(after, x.kwargs["after"], strict=True)]
        inner = x.inputs[0]
        same = [same_padding(n, kk, ss, dd) for n, kk, ss, dd in zip(inner.shape[1:], k, s, d, strict=True)]
        if [tuple(p) for p in same] == list(zip(total_b, total_a, strict=True)):
            return inner, "same"
    if before != after:
        same = [same_padding(n, kk, ss, dd) for n, kk, ss, dd in zip(x.shape[1:], k, s, d, strict=True)]
        if [tuple(p) for p in same] == list(zip(before, after, strict=True)):
            return x, "same"
        raise ValueError(f"{x.origin or 'a layer'} is padded unevenly ({before} before, {after} after) "
                         "in a way 'same' does not explain")
    return x, axes(before) if any(before) else 0


def _finish(model: Model) -> None:
    """Slices that partition the channels become a split; a Pad no window took, a pad layer."""
    users = model.consumers()
    for layer in model.layers:
        parts = [u for u in users[layer] if u.kind == "_slice"]
        if not parts:
            continue
        parts.sort(key=lambda u: u.kwargs["start"])
        bounds = [(u.kwargs["start"], u.kwargs["stop"]) for u in parts]
        if bounds[0][0] != 0 or bounds[-1][1] != layer.shape[0] or \
                any(a[1] != b[0] for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ArchError(Diagnostic("error", f"{parts[0].origin}: channel slices {bounds} of one tensor that do "
                                                "not split it into parts", hint="archdsl reads channel slices as a "
                                                "split: parts in order, together every channel"))
        sizes = tuple(stop - start for start, stop in bounds)
        for index, part in enumerate(parts):
            part.kind, part.args, part.kwargs, part.part = "split", (), {}, (index, sizes)
    for layer in model.layers:
        if layer.kind == "_pad":
            kw = layer.kwargs
            if kw["mode"] != "constant" or kw["value"] != 0.0:
                raise ArchError(Diagnostic("error", f"{layer.origin}: a {kw['mode']} pad with value {kw['value']} "
                                                    "that no conv or pool next to it takes"))
            before, after = axes(kw["before"]), axes(kw["after"])
            layer.kind, layer.args = "pad", (before,)
            layer.kwargs = {} if before == after else {"after": after}


def _fix_inputs(model, input_shape):
    """The model with its first input's non-batch sizes fixed to `input_shape`."""
    graph_inputs = [i for i in model.graph.input if i.name not in {x.name for x in model.graph.initializer}]
    dims = graph_inputs[0].type.tensor_type.shape.dim
    if len(dims) != len(input_shape) + 1:
        raise UsageError(f"--input {shape_text(input_shape)} has {len(input_shape)} axes; "
                         f"the model's input has {len(dims) - 1} besides the batch")
    for dim, size in zip(list(dims)[1:], input_shape, strict=True):
        dim.Clear()
        dim.dim_value = size
    return model


def _attributes(node) -> dict:
    from onnx import helper
    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _scope(name: str) -> tuple[str, ...]:
    """`/inception3a/branch2/conv1/Conv` -> ("inception3a", "branch2", "conv1")."""
    parts = [p for p in (name or "").split("/") if p]
    if len(parts) <= 1:
        return ()
    out, previous = [], ""
    for part in parts[:-1]:
        # torch.onnx repeats the parent's path in each child: /layer1/layer1.0/conv1
        out.append(part[len(previous) + 1:] if previous and part.startswith(previous + ".") else part)
        previous = part
    return tuple(out)


def _identifier(name: str) -> str:
    import re
    words = re.findall(r"[A-Za-z0-9]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Imported"
    return text if text[0].isalpha() else "Net" + text


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _dims_text(dims) -> str:
    return "x".join("?" if d is None else str(d) for d in dims) if dims else "unknown"


class _Unsupported(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint
