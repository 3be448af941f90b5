"""Colours of the layer families, shared by both diagram styles.

Light fills with a darker border of the same hue: black text stays readable on
every fill, and the figure still reads when printed in greyscale (the borders
differ in lightness)."""
from __future__ import annotations

from archdsl.records import dataclass


@dataclass(frozen=True, slots=True)
class Swatch:
    fill: str
    border: str
    label: str  # the legend entry


PALETTE: dict[str, Swatch] = {
    "io": Swatch("#FFFFFF", "#4A4A4A", "input"),
    "conv": Swatch("#D6E6F9", "#2F6DB5", "convolution"),
    "pool": Swatch("#FCE3CC", "#D9792B", "pooling"),
    "norm": Swatch("#D9F0DF", "#3A9A5B", "normalisation / dropout"),
    "act": Swatch("#FFF3C4", "#C9A000", "activation"),
    "fc": Swatch("#E7DDF6", "#7B52BE", "fully connected"),
    "reshape": Swatch("#ECECEC", "#7F7F7F", "reshape"),
    "merge": Swatch("#F9D9DE", "#C73E55", "concat / add"),
    "block": Swatch("#D5F0EE", "#23877F", "folded block"),
    "other": Swatch("#F2F2F2", "#999999", "other"),
}

# Legend order: roughly the order a CNN meets them.
ORDER = ("io", "conv", "norm", "act", "pool", "merge", "reshape", "fc", "block", "other")

TEXT = "#1F1F1F"
MUTED = "#5F6368"
CLUSTER_FILL = "#F6F7F9"
CLUSTER_BORDER = "#B4BAC4"
SKIP = "#C73E55"  # long skips to named tensors, as the residual skips: red
FONT = "Helvetica,Arial,sans-serif"


def swatch(family: str | None) -> Swatch:
    """The colours of a family; unknown families fall back to grey."""
    return PALETTE.get(family or "other", PALETTE["other"])
