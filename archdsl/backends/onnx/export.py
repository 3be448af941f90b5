"""ONNX export and verification (imports torch, onnx and onnxruntime lazily).

The module comes from `archdsl.build`, so ONNX, PyTorch and the generated
`.py` all run the same code. The TorchScript-based exporter is used
(`dynamo=False`): on these plain feed-forward graphs it is several times
faster than the dynamo exporter and keeps the spec's layer names in the
ONNX node names (`/inception3a/branch2/conv1/Conv`).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from archdsl.atomic import atomic_path, check_writable
from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.records import dataclass
from archdsl.text import axes_text

DEFAULT_OPSET = 17
MIN_OPSET = 11  # ceil-mode pooling and Pad as an input need at least this much
INPUT_NAME, OUTPUT_NAME = "input", "output"
DEBUG_ENV = "ARCHDSL_DEBUG"  # set to see the exporter's full message when it fails
SEARCH_STEPS = 256  # input sizes tried, nearest first, when suggesting one for adaptive pooling


@dataclass(frozen=True, slots=True)
class Verification:
    """How far onnxruntime's output is from PyTorch's on the same random input."""

    max_abs: float
    max_rel: float  # max |onnx - torch| / max |torch|
    batch: int

    def format(self) -> str:
        return (f"onnxruntime vs torch on a random batch of {self.batch}: "
                f"max abs diff {self.max_abs:.3g}, max rel diff {self.max_rel:.3g}")


def _require(*modules: str) -> None:
    import importlib.util
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"ONNX export needs {', '.join(missing)}: pip install 'archdsl[onnx]'")


def _pad_symbolic(g, input, pad, mode, value):
    """aten::pad with constant pads as an ONNX Pad whose pads are a Constant.

    The stock symbolic computes the pads with Slice/Transpose nodes that the
    exporter cannot fold, which hides every later shape from ONNX's shape
    inference. The generated code only pads by constants (p=same)."""
    import torch
    from torch.onnx import symbolic_helper as sh
    pads = sh._get_const(pad, "is", "pad")
    rank = sh._get_tensor_rank(input)
    n = len(pads) // 2
    # torch: last axis first, (before, after); ONNX: every before, then every after, first axis first
    befores = [0] * (rank - n) + [pads[2 * i] for i in reversed(range(n))]
    afters = [0] * (rank - n) + [pads[2 * i + 1] for i in reversed(range(n))]
    fill = 0.0 if sh._is_none(value) else float(sh._get_const(value, "f", "value"))
    return g.op("Pad", input, g.op("Constant", value_t=torch.tensor(befores + afters, dtype=torch.int64)),
                g.op("Constant", value_t=torch.tensor(fill)), mode_s="constant")


def io_names(net) -> tuple[list[str], list[str]]:
    """The names of a network's inputs and outputs, in declared order (`input`
    and `output` unless the spec names them: `input image ...`, `output boxes`)."""
    graph = net.graph
    return [n.local_name for n in graph.inputs or [graph.input]], list(graph.output_names)


def _input_shapes(input_shape) -> list[tuple[int, ...]]:
    """One shape (3, 224, 224), or a list of them for a network with several inputs."""
    return [tuple(input_shape)] if isinstance(input_shape[0], int) else [tuple(s) for s in input_shape]


def input_vocabs(net) -> list[int | None]:
    """Per input: None for float data, or the ids a `dtype=long` input may hold (the
    smallest vocabulary that reads it), so that example batches are valid token ids."""
    return [net.graph.input_vocab(node, default=2) for node in net.graph.inputs or [net.graph.input]]


def _examples(shapes, batch: int, vocabs=None, generator=None) -> list:
    import torch
    vocabs = vocabs or [None] * len(shapes)
    return [torch.randint(0, v, (batch, *shape), generator=generator) if v else
            torch.randn(batch, *shape, generator=generator) for shape, v in zip(shapes, vocabs, strict=True)]


def _torchscript_export(model, example, path, axes, opset, names=((INPUT_NAME,), (OUTPUT_NAME,))) -> None:
    import torch

    from archdsl.backends.onnx.faithful import faithful
    torch.onnx.register_custom_op_symbolic("aten::pad", _pad_symbolic, opset)
    # nn.MultiheadAttention's fused inference kernel has no ONNX form: trace its plain ops.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with faithful(model, opset):
            # PRESERVE: the module is in eval mode, but BatchNorm is kept, not folded into its conv.
            torch.onnx.export(model, tuple(example), str(path), input_names=list(names[0]),
                              output_names=list(names[1]), dynamic_axes=axes, opset_version=opset, dynamo=False,
                              do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        torch.onnx.unregister_custom_op_symbolic("aten::pad", opset)


def export_module(model, input_shape, path: str | Path, *, opset: int = DEFAULT_OPSET,
                  dynamic_batch: bool = True, check: bool = True, names=None, vocabs=None) -> None:
    """Export `model` (eval mode) to `path` atomically; checked with onnx.checker.

    `input_shape` is one shape, or one per input; `names` is (input names,
    output names) as `io_names(net)` gives them, by default `input` and `output`.
    A failed export or check leaves no file and keeps an existing one."""
    _require("torch", "onnx")
    import onnx
    import torch
    if opset < MIN_OPSET:
        raise UsageError(f"--opset must be at least {MIN_OPSET}, got {opset}")
    model = model.eval()
    names = names or ((INPUT_NAME,), (OUTPUT_NAME,))
    example = _examples(_input_shapes(input_shape), 2 if dynamic_batch else 1, vocabs)
    axes = {name: {0: "batch"} for name in (*names[0], *names[1])} if dynamic_batch else None
    target = check_writable(path)
    with atomic_path(target, suffix=".onnx") as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            # The exporter narrates its constant folding (LRN's slices); not the user's concern.
            warnings.simplefilter("ignore")
            try:
                _torchscript_export(model, example, tmp, axes, opset, names)
            except Exception as exc:  # the exporter's own errors carry no spec position
                raise ArchError(_export_failure(exc)) from exc
        if check:
            try:
                onnx.checker.check_model(str(tmp))  # by path: works beyond protobuf's 2 GiB too
            except onnx.checker.ValidationError as exc:
                raise ArchError(Diagnostic(
                    "error", f"the exported ONNX file does not pass onnx.checker: {exc}")) from exc
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())


def _export_failure(exc: Exception) -> Diagnostic:
    """A short diagnostic for an exporter exception: its first line only.

    The TorchScript exporter appends pages of graph IR to its messages; they
    help whoever debugs torch.onnx, not the author of a spec."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    if os.environ.get(DEBUG_ENV):
        return Diagnostic("error", f"ONNX export failed: {text}")
    more = f"; set {DEBUG_ENV}=1 for the exporter's full message" if "\n" in text else ""
    return Diagnostic("error", f"ONNX export failed: {first}",
                      hint=f"this is a limit of torch.onnx, not an error in the spec{more}")


def check_exportable(net, reanalyse=None) -> None:
    """Raise an ArchError at every layer ONNX cannot express, before exporting.

    ONNX has no adaptive pooling; the exporter turns it into a fixed window
    only when each input size is a multiple of the output size (global pooling
    always is). `reanalyse(input_shape) -> Network`, when given, lets the hint
    name a nearby network input that works."""
    from archdsl.core.ops.pool import AdaptivePool
    bad = [n for n in net.graph.nodes if isinstance(n.op, AdaptivePool) and not _divisible(n)]
    if not bad:
        return
    suggestion = _suggest_input(net, reanalyse) if reanalyse is not None else None
    raise ArchError([_adaptive_diagnostic(n, suggestion) for n in bad])


def _divisible(node) -> bool:
    shape = node.inputs[0].shape if node.inputs else None
    if shape is None:
        return True  # unknown shapes were reported by analysis already
    return all(n % o == 0 for n, o in zip(shape[1:], node.op.output_size, strict=True))


def _adaptive_diagnostic(node, suggestion) -> Diagnostic:
    from archdsl.text import shape_text
    spatial, out = node.inputs[0].shape[1:], node.op.output_size
    message = (f"ONNX has no adaptive pooling: this layer pools {shape_text(spatial)} to "
               f"{shape_text(out)}, which is not a fixed window")
    notes = list(dict.fromkeys(f"{n} is not a multiple of {o}" for n, o in zip(spatial, out, strict=True) if n % o))
    fixes = []
    if suggestion is not None:
        fixes.append(f"--input {shape_text(suggestion)} makes the sizes divisible")
    else:
        fixes.append(f"choose an input size that makes this map a multiple of {shape_text(out)} (--input)")
    window = _fixed_window(spatial, out)
    if window is not None:
        fixes.append(f"pool with a fixed window instead: {node.op.mode}pool {window}")
    return Diagnostic("error", message, span=node.span, notes=notes, hint="; or ".join(fixes))


def _fixed_window(spatial, out) -> str | None:
    """`k=3 s=2`: a fixed window that maps `spatial` to exactly `out`, or None (upsampling)."""
    if any(n < o for n, o in zip(spatial, out, strict=True)):
        return None
    strides = [n // o for n, o in zip(spatial, out, strict=True)]
    kernels = [n - (o - 1) * s for n, o, s in zip(spatial, out, strides, strict=True)]
    return f"k={axes_text(kernels)} s={axes_text(strides)}"


def _suggest_input(net, reanalyse):
    """The input shape nearest `net`'s (the same change on every spatial axis,
    larger first on a tie) whose adaptive pools all divide, or None. One that
    analyses without warnings (every window fits evenly) is preferred."""
    from archdsl.core.ops.pool import AdaptivePool
    channels, *spatial = net.input_shape
    fallback = None
    for step in range(1, SEARCH_STEPS):
        delta = (step + 1) // 2 * (1 if step % 2 else -1)
        shape = (channels, *(s + delta for s in spatial))
        if min(shape) < 1:
            continue
        try:
            other = reanalyse(shape)
        except (ArchError, UsageError):  # too small for some layer, or over a limit
            continue
        if all(_divisible(n) for n in other.graph.nodes if isinstance(n.op, AdaptivePool)):
            if not other.warnings:
                return shape
            fallback = fallback or shape
    return fallback


def verify(model, path: str | Path, input_shape, batch: int = 2, seed: int = 0, vocabs=None) -> Verification:
    """Run the ONNX file in onnxruntime and the module in PyTorch on one random batch.
    Several outputs are compared one by one; the worst of them is reported."""
    _require("torch", "onnxruntime")
    import numpy as np
    import onnxruntime as ort
    import torch
    gen = torch.Generator().manual_seed(seed)
    xs = _examples(_input_shapes(input_shape), batch, vocabs, gen)
    with torch.no_grad():
        expected = model.eval()(*xs)
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: x.numpy() for i, x in zip(session.get_inputs(), xs, strict=True)})
    worst_abs, worst_rel = 0.0, 0.0
    for g, e in zip(got, expected, strict=True):
        diff = float(np.abs(g.astype(np.float64) - e.astype(np.float64)).max())
        worst_abs, worst_rel = max(worst_abs, diff), max(worst_rel, diff / (float(np.abs(e).max()) or 1.0))
    return Verification(worst_abs, worst_rel, batch)


def export(spec, path: str | Path, *, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True,
           softmax: str = "keep", verify_batch: int | None = None, **build_options):
    """Build `spec` and export it; returns a Verification when `verify_batch` is given."""
    from archdsl.backends.torch import build, resolve_network
    from archdsl.core.network import Network
    options = {k: v for k, v in build_options.items() if k in ("input_shape", "network", "limits")}
    net, _ = resolve_network(spec, **options)
    reanalyse = None
    if not isinstance(spec, Network):
        reanalyse = lambda shape: resolve_network(spec, **{**options, "input_shape": shape})[0]  # noqa: E731
    check_exportable(net, reanalyse)
    model = build(net, softmax=softmax, **{k: v for k, v in build_options.items()
                                           if k in ("max_param_bytes", "weights", "key_map")})
    shapes = [n.shape for n in net.graph.inputs or [net.graph.input]]
    export_module(model, shapes, path, opset=opset, dynamic_batch=dynamic_batch, names=io_names(net),
                  vocabs=input_vocabs(net))
    if verify_batch:
        return verify(model, path, shapes, verify_batch, vocabs=input_vocabs(net))
    return None


def export_model(model, path: str | Path, *, input_shape=None, opset: int = DEFAULT_OPSET,
                 dynamic_batch: bool = True, verify_batch: int | None = None):
    """Export a module as it is, trained weights included: one archdsl built
    (its spec gives the input shapes and names) or any other with `input_shape`.
    Returns a Verification when `verify_batch` is given."""
    net = _network_of(model)
    if net is not None:
        check_exportable(net)
        shapes = [n.shape for n in net.graph.inputs or [net.graph.input]] if input_shape is None \
            else _input_shapes(input_shape)
        names = io_names(net)
    elif input_shape is None:
        raise UsageError("export needs input_shape= for a module archdsl did not build")
    else:
        shapes, names = _input_shapes(input_shape), None
    training = model.training
    try:
        export_module(model, shapes, path, opset=opset, dynamic_batch=dynamic_batch, names=names)
        return verify(model, path, shapes, verify_batch) if verify_batch else None
    finally:
        model.train(training)


def _network_of(model):
    net = model.__dict__.get("_archdsl_network")
    if net is None and getattr(model, "archdsl_spec", None):
        from archdsl.backends.torch.build import spec_network
        net = spec_network(model.archdsl_spec)
    return net
