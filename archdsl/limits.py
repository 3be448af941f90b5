"""Guards against specs that would hang or exhaust memory; each limit has a
documented default and a CLI flag that raises it."""
from __future__ import annotations

from archdsl.records import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """How large a spec may grow before lowering stops with an error."""
    max_layers: int = 200_000      # expanded layer count after repeats and blocks
    max_depth: int = 64            # nesting of block calls
    max_nesting: int = 100         # braces and block calls open at once
    max_dim: int = 10 ** 12        # any single size (channels, pixels)
    max_param_bytes: int = 16 * 2 ** 30  # `build` refuses models larger than this (fp32)


DEFAULT_LIMITS = Limits()
