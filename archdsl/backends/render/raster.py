"""The volume figure as PNG or PDF: its SVG drawn by CairoSVG.

CairoSVG (PyPI, `pip install 'archdsl[render]'`) draws with cairo, the
library Graphviz draws its own PNGs with, so both styles come out with the
same text rendering; it understands everything the volume SVG uses
(markers, dash arrays, opacity). It is imported only when an image is asked
for, and a missing package is one line saying how to install it."""
from __future__ import annotations

RASTER_FORMATS = ("png", "pdf")
PNG_SCALE = 2.0  # 2 px per SVG px: 144 dpi, as the graph style's PNGs
INSTALL_HINT = ("the volume style writes PNG and PDF through CairoSVG: pip install cairosvg "
                "(or pip install 'archdsl[render]'), with the cairo library (apt-get install libcairo2)")


class RasterError(Exception):
    """CairoSVG (or the cairo library under it) is missing, or failed."""


def svg_to(svg: str, fmt: str) -> bytes:
    """`svg` drawn as PNG (at PNG_SCALE) or PDF bytes."""
    if fmt not in RASTER_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}")
    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # cairocffi raises OSError when libcairo is absent
        missing = "the cairo library" if isinstance(exc, OSError) else "CairoSVG"
        raise RasterError(f"{missing} is not installed; {INSTALL_HINT}") from None
    data = svg.encode("utf-8")
    try:
        if fmt == "png":
            return cairosvg.svg2png(bytestring=data, scale=PNG_SCALE)
        return cairosvg.svg2pdf(bytestring=data)
    except Exception as exc:  # noqa: BLE001 - any failure of the renderer is reported as one line
        raise RasterError(f"CairoSVG could not draw the figure: {exc}") from None
