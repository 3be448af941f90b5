"""Refuse to allocate a model whose parameters would not fit: an accidental
`fc 100000000` must be an error before PyTorch tries to allocate it."""
from __future__ import annotations

from archdsl.core.analysis import BYTES_FP32
from archdsl.errors import ArchError, Diagnostic
from archdsl.limits import DEFAULT_LIMITS
from archdsl.text import human_bytes


def check_param_budget(network, max_param_bytes: int = DEFAULT_LIMITS.max_param_bytes) -> None:
    """ArchError when the fp32 parameters and buffers exceed `max_param_bytes`,
    pointing at the largest layer."""
    t = network.totals
    need = (t.params + t.buffers) * BYTES_FP32
    if need <= max_param_bytes:
        return
    biggest = max(network.layers, key=lambda layer: layer.params)
    mib = -(-need // 2 ** 20)
    raise ArchError(Diagnostic(
        "error",
        f"{network.name} needs {human_bytes(need)} of fp32 parameters, "
        f"more than the limit of {human_bytes(max_param_bytes)}",
        biggest.node.span,
        notes=[f"{t.params:,} parameters + {t.buffers:,} buffer values, 4 bytes each",
               f"the largest layer is {biggest.name} ({biggest.op}, {biggest.params:,} parameters)"],
        hint=(f"check the sizes, or raise the limit with --max-params-mb {mib}" if need < 2 ** 40 else
              "over a TiB of weights is almost certainly a size typo (an fc on an unflattened "
              "map, or an extra digit); --max-params-mb raises the limit if it is meant")))
