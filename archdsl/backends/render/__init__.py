"""Diagrams of a network: Graphviz DOT (graph style) and pure SVG (volume style).

Nothing here imports Graphviz: DOT is text, and images are made by running
the `dot` program (render.graphviz) only when one is asked for; the volume
style's PNG and PDF come from CairoSVG (render.raster), imported only then."""
from __future__ import annotations


def render_dot(net, *, collapse: bool = False, rankdir: str = "TB", layout: str = "chw",
               aspect: float | None = None, fuse: bool = False) -> str:
    """Graph style as DOT text."""
    from archdsl.backends.render.dot import render_dot as _render
    return _render(net, collapse=collapse, rankdir=rankdir, layout=layout, aspect=aspect, fuse=fuse)


def render_volume(net, *, collapse: bool = False, layout: str = "chw", scale: str = "log",
                  aspect: float | None = None) -> str:
    """Volume style as a standalone SVG document."""
    from archdsl.backends.render.volume import render_volume as _render
    return _render(net, collapse=collapse, layout=layout, scale=scale, aspect=aspect)
