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
from dataclasses import dataclass
from pathlib import Path

from archdsl.atomic import atomic_path, check_writable
from archdsl.errors import ArchError, Diagnostic, UsageError
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


def _torchscript_export(model, example, path, axes, opset) -> None:
    import torch
    torch.onnx.register_custom_op_symbolic("aten::pad", _pad_symbolic, opset)
    try:
        torch.onnx.export(model, (example,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes=axes, opset_version=opset, dynamo=False, do_constant_folding=True)
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::pad", opset)


def export_module(model, input_shape, path: str | Path, *, opset: int = DEFAULT_OPSET,
                  dynamic_batch: bool = True, check: bool = True) -> None:
    """Export `model` (eval mode) to `path` atomically; checked with onnx.checker.

    A failed export or check leaves no file and keeps an existing one."""
    _require("torch", "onnx")
    import onnx
    import torch
    if opset < MIN_OPSET:
        raise UsageError(f"--opset must be at least {MIN_OPSET}, got {opset}")
    model = model.eval()
    example = torch.randn(2 if dynamic_batch else 1, *input_shape)
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
    target = check_writable(path)
    with atomic_path(target, suffix=".onnx") as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            # The exporter narrates its constant folding (LRN's slices); not the user's concern.
            warnings.simplefilter("ignore")
            try:
                _torchscript_export(model, example, tmp, axes, opset)
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


def verify(model, path: str | Path, input_shape, batch: int = 2, seed: int = 0) -> Verification:
    """Run the ONNX file in onnxruntime and the module in PyTorch on one random batch."""
    _require("torch", "onnxruntime")
    import numpy as np
    import onnxruntime as ort
    import torch
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, *input_shape, generator=gen)
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {INPUT_NAME: x.numpy()})
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    scale = float(np.abs(expected).max()) or 1.0
    return Verification(float(diff.max()), float(diff.max()) / scale, batch)


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
                                           if k == "max_param_bytes"})
    export_module(model, net.input_shape, path, opset=opset, dynamic_batch=dynamic_batch)
    if verify_batch:
        return verify(model, path, net.input_shape, verify_batch)
    return None
