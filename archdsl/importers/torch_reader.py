"""A PyTorch module -> `model.Model`, through torch.fx.

The module is traced symbolically (torch.fx) and run once on an example
batch to record every output shape (ShapeProp). Each standard layer it calls
(`nn.Conv2d`, `nn.BatchNorm2d`...) becomes the `.arch` layer with its
attributes, each tensor function (`torch.cat`, `+`, `torch.flatten`...) a
merge or a reshape; the module path of every call (`layer1.0.conv2`, class
`Bottleneck`) names the blocks fold.py finds. A layer with no `.arch`
equivalent is an error naming it.

`target` is a module, or `package.module:factory` / `path/file.py:factory`
whose factory (a class or function) builds one with no arguments."""
from __future__ import annotations

import importlib
import importlib.util
import operator
import sys
from pathlib import Path

from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.importers.model import Layer, Model, axes

_HELPER_LAYERS = {"StochasticDepth", "ChannelLayerNorm", "LayerScale"}


def resolve(target):
    """The nn.Module a `module:factory` string names (built with no arguments)."""
    import torch
    if isinstance(target, torch.nn.Module):
        return target, type(target).__name__
    if not isinstance(target, str) or ":" not in target:
        raise UsageError(f"--torch takes module:factory (e.g. torchvision.models:resnet50), got {target!r}")
    where, _, attr = target.rpartition(":")
    try:
        if where.endswith(".py") or "/" in where:
            path = Path(where)
            if not path.is_file():
                raise UsageError(f"{where}: no such file")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(path.stem, module)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(where)
    except ImportError as exc:
        raise UsageError(f"cannot import {where}: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise UsageError(f"{where} has no {attr}")
    built = factory if isinstance(factory, torch.nn.Module) else factory()
    if not isinstance(built, torch.nn.Module):
        raise UsageError(f"{target} gave a {type(built).__name__}, not an nn.Module")
    return built, target


def read_torch(target, input_shape) -> tuple[Model, str]:
    """The layers of a module traced at `input_shape` (channels first, no batch)."""
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp
    model, origin = resolve(target)
    if input_shape is None:
        raise UsageError("import --torch needs the input's shape: --input 3x224x224")
    model = model.eval()
    checked = getattr(model, "check_input", None)
    if checked is not None:
        model.check_input = False  # archdsl's own input check compares shapes, which a symbolic trace cannot
    helpers = tuple(f for f in (getattr(sys.modules.get(type(m).__module__), "channel_shuffle", None)
                                for m in model.modules()) if callable(f))
    class Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):  # archdsl's own small layers are layers, not code to trace
            return type(m).__name__ in _HELPER_LAYERS or super().is_leaf_module(m, qualname)

    try:
        tracer = Tracer(autowrap_functions=tuple(dict.fromkeys(helpers)))
        graph = tracer.trace(model)
        gm = fx.GraphModule(model, graph)
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.randn(2, *input_shape))
    except Exception as exc:  # noqa: BLE001 - fx raises many kinds of errors
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"torch.fx cannot trace {origin}: {first}") from None
    finally:
        if checked is not None:
            model.check_input = checked
    return _Converter(model, gm).convert(type(model).__name__), origin


class _Converter:
    def __init__(self, model, gm):
        self.model, self.gm = model, gm
        self.values: dict = {}
        self.layers: list[Layer] = []
        self.problems: list[Diagnostic] = []
        self.failed: set = set()

    def convert(self, name: str) -> Model:
        inputs, outputs = [], []
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                shape = tuple(node.meta["tensor_meta"].shape[1:])
                layer = Layer("input", (shape,), shape=shape, name=node.name, origin=f"input {node.name}")
                self.values[node] = layer
                self.layers.append(layer)
                inputs.append(layer)
            elif node.op == "output":
                results = node.args[0] if isinstance(node.args[0], tuple | list) else (node.args[0],)
                for i, r in enumerate(results):
                    outputs.append(("output" if len(results) == 1 else f"output{i + 1}", self.values[r]))
            elif node.op == "get_attr":
                self.values[node] = None
            else:
                try:
                    self._node(node)
                except _Cascade:
                    self.values[node] = None
                    self.failed.add(node)
                except _Unsupported as exc:
                    self.problems.append(Diagnostic("error", str(exc)))
                    self.values[node] = None
                    self.failed.add(node)
        if self.problems:
            raise ArchError(self.problems)
        model = Model(name, self.layers, inputs, outputs)
        model.prune()
        from archdsl.importers.onnx_reader import _finish
        _finish(model)
        return model

    def _node(self, node) -> None:
        stack = node.meta.get("nn_module_stack", {})
        scope = tuple(path for path, _ in stack.values())
        classes = tuple(cls.__name__ if isinstance(cls, type) else str(cls).rsplit(".", 1)[-1]
                        for _, cls in stack.values())
        if node.op == "call_module":
            module = self.gm.get_submodule(node.target)
            layer = self._module(node, module)
        elif node.op == "call_function":
            layer = self._function(node)
        elif node.op == "call_method":
            layer = self._method(node)
        else:
            raise _Unsupported(f"{node.op} {node.target} has no .arch equivalent")
        if isinstance(layer, Layer):
            if layer not in self.layers:
                segments = _segments(scope)
                layer.scope = layer.scope or segments
                layer.classes = classes[-len(segments):] if segments else ()
                layer.origin = layer.origin or f"{node.op} {node.target}"
                meta = node.meta.get("tensor_meta")
                if not layer.shape and meta is not None and hasattr(meta, "shape"):
                    layer.shape = tuple(meta.shape[1:])
                self.layers.append(layer)
        self.values[node] = layer

    def _in(self, node, i=0) -> Layer:
        arg = node.args[i]
        value = self.values.get(arg)
        if value is None and arg in self.failed:
            raise _Cascade
        if not isinstance(value, Layer):
            raise _Unsupported(f"{node.target} reads something that is not a layer's output")
        return value

    # -- modules -----------------------------------------------------------------------------------

    def _module(self, node, m):
        from torch import nn
        x = self._in(node)
        kind = type(m)
        params = sum(p.numel() for p in m.parameters(recurse=False))
        if isinstance(m, nn.modules.conv._ConvNd):
            transposed = isinstance(m, nn.modules.conv._ConvTransposeNd)
            kw = {"k": axes(m.kernel_size)}
            if set(m.stride) != {1}:
                kw["s"] = axes(m.stride)
            pad = m.padding
            if isinstance(pad, str):
                if pad == "same":
                    kw["p"] = "half"
            elif not transposed:
                from archdsl.importers.onnx_reader import window_padding
                try:
                    x, padding = window_padding(x, tuple(m.kernel_size), tuple(m.stride), tuple(m.dilation),
                                                list(pad) * 2)
                except ValueError as exc:
                    raise _Unsupported(str(exc)) from None
                if padding != 0:
                    kw["p"] = padding
            elif any(pad):
                kw["p"] = axes(pad)
            if transposed and any(m.output_padding):
                kw["op"] = axes(m.output_padding)
            if set(m.dilation) != {1}:
                kw["d"] = axes(m.dilation)
            if m.groups != 1:
                kw["g"] = m.groups
            if m.bias is None:
                kw["bias"] = False
            return Layer("convtranspose" if transposed else "conv", (m.out_channels,), kw, [x], params=params)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            kw = {}
            if m.eps != 1e-5:
                kw["eps"] = float(m.eps)
            if m.momentum is not None and m.momentum != 0.1:
                kw["momentum"] = float(m.momentum)
            if not m.affine:
                kw["affine"] = False
            return Layer("bn", (), kw, [x], params=params, buffers=2 * m.num_features)
        simple = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.GELU: "gelu",
                  nn.SiLU: "silu", nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid",
                  nn.Identity: "identity", nn.Flatten: "flatten"}
        if kind in simple:
            return Layer(simple[kind], (), {}, [x])
        if isinstance(m, nn.LeakyReLU):
            return Layer("leakyrelu", () if m.negative_slope == 0.01 else (float(m.negative_slope),), {}, [x])
        if isinstance(m, nn.ELU):
            return Layer("elu", () if m.alpha == 1.0 else (float(m.alpha),), {}, [x])
        if isinstance(m, nn.Softmax):
            return Layer("softmax", (), {}, [x])
        if isinstance(m, nn.Dropout | nn.Dropout2d):
            return Layer("dropout", () if m.p == 0.5 else (float(m.p),), {}, [x])
        if isinstance(m, nn.modules.pooling._MaxPoolNd | nn.modules.pooling._AvgPoolNd):
            return self._pool(m, x)
        if isinstance(m, nn.modules.pooling._AdaptiveAvgPoolNd | nn.modules.pooling._AdaptiveMaxPoolNd):
            size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,)
            avg = isinstance(m, nn.modules.pooling._AdaptiveAvgPoolNd)
            if all(s == 1 for s in size):
                return Layer("gap" if avg else "gmp", (), {}, [x])
            return Layer("adaptiveavgpool" if avg else "adaptivemaxpool", (axes(size),), {}, [x])
        if isinstance(m, nn.Linear):
            return Layer("fc", (m.out_features,), {} if m.bias is not None else {"bias": False}, [x], params=params)
        if isinstance(m, nn.LocalResponseNorm):
            return Layer("lrn", (m.size,), {"alpha": float(m.alpha), "beta": float(m.beta), "k": float(m.k)}, [x])
        if isinstance(m, nn.Upsample):
            kw = {}
            if m.mode != "nearest":
                kw["mode"] = m.mode
                kw["align_corners"] = bool(m.align_corners)
            if m.scale_factor is not None:
                scale = float(m.scale_factor if not isinstance(m.scale_factor, tuple) else m.scale_factor[0])
                return Layer("upsample", (int(scale) if scale.is_integer() else scale,), kw, [x])
            return Layer("upsample", (), {"size": axes(m.size if isinstance(m.size, tuple) else (m.size,)), **kw}, [x])
        if type(m).__name__ == "StochasticDepth":
            return Layer("stochasticdepth", (float(m.p),), {}, [x])
        raise _Unsupported(f"{node.target} ({type(m).__name__}) has no .arch equivalent")

    @staticmethod
    def _pool(m, x) -> Layer:  # noqa: C901
        from torch import nn
        rank = len(x.shape) - 1
        k = _tuple(m.kernel_size, rank)
        s = _tuple(m.stride if m.stride is not None else m.kernel_size, rank)
        p = _tuple(m.padding, rank)
        avg = isinstance(m, nn.modules.pooling._AvgPoolNd)
        kw = {"k": axes(k)}
        if s != k:
            kw["s"] = axes(s)
        if x.kind == "_pad" and not any(p):
            from archdsl.importers.onnx_reader import window_padding
            try:
                x, padding = window_padding(x, k, s, _tuple(getattr(m, "dilation", 1), rank), [0] * 2 * rank,
                                            0.0 if avg else float("-inf"))
            except ValueError as exc:
                raise _Unsupported(str(exc)) from None
            if padding != 0:
                kw["p"] = padding
        elif any(p):
            kw["p"] = axes(p)
        if not avg and set(_tuple(m.dilation, rank)) != {1}:
            kw["d"] = axes(_tuple(m.dilation, rank))
        if m.ceil_mode:
            kw["ceil"] = True
        if avg and any(p):
            kw["include_pad"] = bool(m.count_include_pad)
        return Layer("avgpool" if avg else "maxpool", (), kw, [x])

    # -- functions -----------------------------------------------------------------------------------

    def _function(self, node):
        import torch
        import torch.nn.functional as F
        fn = node.target
        if fn in (operator.add, operator.iadd, torch.add, operator.mul, operator.imul, torch.mul):
            a, b = (self.values.get(v) for v in node.args[:2])
            if isinstance(a, Layer) and isinstance(b, Layer):
                if fn in (operator.mul, operator.imul, torch.mul):
                    for x, y in ((a, b), (b, a)):
                        if y.kind == "sigmoid" and y.inputs[0] is x:
                            return Layer("silu", (), {}, [x])
                    return Layer("mul", (), {}, [a, b])
                return Layer("add", (), {}, [a, b])
            raise _Unsupported(f"{node.name} ({fn.__name__}) with a constant operand has no .arch equivalent")
        if fn is torch.cat:
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            ins = [self.values.get(v) for v in node.args[0]]
            if dim not in (1, -len(ins[0].shape) - 1) or not all(isinstance(i, Layer) for i in ins):
                raise _Unsupported(f"{node.name} (torch.cat) joins along dim {dim}, not the channels")
            return Layer("concat", (), {}, ins)
        if fn is torch.flatten:
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            if start != 1:
                raise _Unsupported(f"{node.name} (torch.flatten) flattens from dim {start}, not after the batch")
            return Layer("flatten", (), {}, [self._in(node)])
        acts = {F.relu: "relu", torch.relu: "relu", torch.relu_: "relu", F.relu_: "relu", torch.sigmoid: "sigmoid",
                F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh", F.silu: "silu", F.gelu: "gelu",
                F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid", F.relu6: "relu6"}
        if fn in acts:
            return Layer(acts[fn], (), {}, [self._in(node)])
        if fn is F.dropout:
            p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
            return Layer("dropout", () if p == 0.5 else (float(p),), {}, [self._in(node)])
        if fn is F.adaptive_avg_pool2d and node.args[1] in (1, (1, 1)):
            return Layer("gap", (), {}, [self._in(node)])
        if fn is F.pad:
            pads = list(node.args[1] if len(node.args) > 1 else node.kwargs["pad"])
            value = node.kwargs.get("value", node.args[3] if len(node.args) > 3 else 0.0) or 0.0
            mode = node.kwargs.get("mode", node.args[2] if len(node.args) > 2 else "constant")
            x = self._in(node)
            n = len(pads) // 2  # torch: last axis first, (before, after) each
            before = [pads[2 * i] for i in reversed(range(n))]
            after = [pads[2 * i + 1] for i in reversed(range(n))]
            rank = len(x.shape) - 1
            before, after = [0] * (rank - n) + before, [0] * (rank - n) + after
            return Layer("_pad", (), {"before": before, "after": after, "value": float(value), "mode": mode}, [x])
        if fn is operator.getitem:
            return self._getitem(node)
        if getattr(fn, "__name__", "") == "channel_shuffle":
            return Layer("shuffle", (int(node.args[1]),), {}, [self._in(node)])
        raise _Unsupported(f"{node.name} ({getattr(fn, '__name__', fn)}) has no .arch equivalent")

    def _getitem(self, node):
        x = self._in(node)
        index = node.args[1]
        if not isinstance(index, tuple) or index[0] != slice(None):
            raise _Unsupported(f"{node.name} indexes the batch")
        rest = list(index[1:])
        if len(rest) == 1 and isinstance(rest[0], slice) and rest[0].step in (None, 1):
            c = x.shape[0]
            start, stop, _ = rest[0].indices(c)
            return Layer("_slice", (), {"start": start, "stop": stop}, [x])
        if rest and rest[0] == slice(None) and all(isinstance(r, slice) for r in rest[1:]):
            size = tuple(len(range(*r.indices(n))) for r, n in zip(rest[1:], x.shape[1:], strict=False))
            return Layer("crop", (size,), {}, [x])
        raise _Unsupported(f"{node.name} indexes in a way no .arch layer does")

    def _method(self, node):
        name = node.target
        if name in ("contiguous",):
            return self._in(node)
        if name == "flatten" and (node.args[1:] or (node.kwargs.get("start_dim"),))[0] == 1:
            return Layer("flatten", (), {}, [self._in(node)])
        if name in ("view", "reshape"):
            x = self._in(node)
            out = tuple(node.meta["tensor_meta"].shape[1:])
            if len(out) == 1:
                return Layer("flatten", (), {}, [x])
            return Layer("reshape", (out,), {}, [x])
        if name in ("relu", "relu_", "sigmoid", "tanh"):
            return Layer(name.rstrip("_"), (), {}, [self._in(node)])
        if name == "size" or name == "dim":
            return None
        raise _Unsupported(f"{node.name} (Tensor.{name}) has no .arch equivalent")


def _tuple(v, rank):
    return tuple(v) if isinstance(v, tuple | list) else (v,) * rank


def _segments(scope: tuple[str, ...]) -> tuple[str, ...]:
    """("layer1", "layer1.0", "layer1.0.conv1") -> ("layer1", "0", "conv1")."""
    out, previous = [], ""
    for path in scope:
        out.append(path[len(previous) + 1:] if previous and path.startswith(previous + ".") else path)
        previous = path
    return tuple(out)


class _Unsupported(Exception):
    pass


class _Cascade(Exception):
    """An input failed already (and was reported): nothing more to say."""
