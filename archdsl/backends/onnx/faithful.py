"""Export every layer as the ONNX op that says what it is, so that the file
can be read back (`archdsl import`) into the same spec:

- BatchNorm stays BatchNormalization (not folded into the conv before it:
  the exporter runs in PRESERVE mode; onnxruntime folds it when it loads);
- dropout stays a Dropout node (an identity at inference; ONNX's own
  inference-mode Dropout), rather than vanishing, and so does stochastic
  depth (a Dropout of its probability, in a node named after the layer);
- nn.LocalResponseNorm becomes ONNX's LRN, not the pooling arithmetic
  PyTorch's Python implementation traces to;
- the generated file's `channel_shuffle` becomes Reshape, Transpose, Reshape
  with constant shapes (-1 for the batch), not a web of Shape/Gather ops.

Each is a patch for the duration of one export, undone afterwards.
"""
from __future__ import annotations

import contextlib
import sys


def _dropout_symbolic(g, input, p, train):
    import torch
    from torch.onnx import symbolic_helper as sh
    ratio = float(sh._get_const(p, "f", "p"))
    return g.op("Dropout", input, g.op("Constant", value_t=torch.tensor(ratio, dtype=torch.float32)))


def _functions():
    import torch
    import torch.nn.functional as F

    class LRN(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, size, alpha, beta, k):
            return F.local_response_norm(x, size, alpha, beta, k)

        @staticmethod
        def symbolic(g, x, size, alpha, beta, k):
            return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)

    class Shuffle(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, groups, dims):
            n, c = x.shape[:2]
            return x.reshape(n, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)

        @staticmethod
        def symbolic(g, x, groups, dims):
            c, rest = dims[0], list(dims[1:])
            split = g.op("Constant", value_t=torch.tensor([-1, groups, c // groups, *rest], dtype=torch.int64))
            joined = g.op("Constant", value_t=torch.tensor([-1, c, *rest], dtype=torch.int64))
            perm = [0, 2, 1, *range(3, len(dims) + 2)]
            return g.op("Reshape", g.op("Transpose", g.op("Reshape", x, split), perm_i=perm), joined)

    return LRN, Shuffle


@contextlib.contextmanager
def faithful(model, opset: int):
    """Patches that make `model`'s export say what each layer is."""
    import torch
    LRN, Shuffle = _functions()
    patched = []
    for m in model.modules():
        if isinstance(m, torch.nn.LocalResponseNorm):
            m.forward = lambda x, m=m: LRN.apply(x, m.size, float(m.alpha), float(m.beta), float(m.k))
            patched.append(m)
    for m in model.modules():
        if type(m).__name__ == "StochasticDepth" and hasattr(m, "p"):
            # An identity at inference, which the exporter would drop: ONNX's Dropout, named after the layer.
            m.forward = lambda x, m=m: torch.nn.functional.dropout(x, float(m.p), training=False)
            patched.append(m)
    modules = {type(m).__module__ for m in model.modules()}
    shuffles = []
    for name in modules:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__archdsl_source__", None) and hasattr(module, "channel_shuffle"):
            shuffles.append((module, module.channel_shuffle))
            module.channel_shuffle = lambda x, groups: Shuffle.apply(x, groups, tuple(x.shape[1:]))
    torch.onnx.register_custom_op_symbolic("aten::dropout", _dropout_symbolic, opset)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::dropout", opset)
        for module, fn in shuffles:
            module.channel_shuffle = fn
        for m in patched:
            del m.forward
