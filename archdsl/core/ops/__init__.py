"""Layer kinds: one class each, registered by keyword in `REGISTRY`; the
merge kinds (concat, add, mul) in `MERGES`."""
from archdsl.core.ops import (  # noqa: F401  (importing fills the registry)
    activation,
    attention,
    conv,
    dense,
    norm,
    pool,
    resample,
    reshape,
    structure,
    tokens,
    transposed,
)
from archdsl.core.ops.base import (
    GLOBAL,
    POINTWISE,
    REGISTRY,
    REQUIRED,
    UNKNOWN,
    Attr,
    Kind,
    Lint,
    Op,
    ShapeError,
    Tensor,
    ValueProblem,
    Word,
)
from archdsl.core.ops.structure import MERGES, Add, Concat, Input, Merge, Mul

__all__ = ["GLOBAL", "MERGES", "POINTWISE", "REGISTRY", "REQUIRED", "UNKNOWN", "Attr", "Kind", "Lint", "Op",
           "ShapeError", "Tensor", "ValueProblem", "Word", "Add", "Concat", "Input", "Merge", "Mul"]
