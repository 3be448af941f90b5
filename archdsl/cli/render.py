"""`archdsl render`: a diagram of the network for slides and notes.

Exit codes: 0 written (also when Graphviz is missing and the .dot was written
instead: a one-line warning says so), 1 spec errors, 2 usage errors (and a
volume PNG/PDF without CairoSVG: the error names the package)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archdsl.atomic import check_writable
from archdsl.cli.common import add_spec_options, load_one, report_warnings
from archdsl.errors import UsageError
from archdsl.text import LAYOUTS

NAME = "render"
HELP = "draw the network: Graphviz graph or 3-D volume figure (.svg, .png, .pdf; .dot for the graph)"
GRAPH_EXTS = (".dot", ".gv", ".svg", ".png", ".pdf")
VOLUME_EXTS = (".svg", ".png", ".pdf", ".tex")  # .tex: TikZ (backends/render/tikz.py)
# Kept here, not in archdsl.render: building the CLI must not load the render
# package (`check` stays free of it).
STYLES = ("graph", "volume")
SCALES = ("log", "sqrt", "linear")


def aspect(text: str) -> float:
    """argparse type for `16:9`, `4:3` or a plain ratio such as `1.5`."""
    try:
        w, _, h = text.partition(":")
        value = float(w) / float(h) if h else float(w)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a ratio like 16:9 or 1.5, got {text!r}") from None
    if not 0.05 <= value <= 20:
        raise argparse.ArgumentTypeError(f"expected a ratio between 1:20 and 20:1, got {text!r}")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="output file; the extension picks the format "
                        "(.dot, .svg, .png, .pdf; .tex: TikZ, volume style)")
    p.add_argument("--style", choices=STYLES, default="graph",
                   help="graph: one node per layer, through Graphviz; volume: 3-D boxes as in the "
                        "AlexNet paper, SVG (PNG/PDF through CairoSVG) (default graph)")
    p.add_argument("--collapse", action="store_true",
                   help="fold blocks and repeats into one node each, with xN and their subtotals")
    p.add_argument("--rankdir", choices=("TB", "LR"), type=str.upper, default="TB",
                   help="graph style: top to bottom or left to right (default TB)")
    p.add_argument("--aspect", type=aspect, metavar="W:H",
                   help="wrap a long network into columns (TB) or rows (LR, and the volume style) "
                        "of about this shape, e.g. 16:9 for a slide")
    p.add_argument("--fuse", action="store_true",
                   help="graph style: draw a conv or fc with the bn and activation after it as one node")
    p.add_argument("--scale", choices=SCALES, default="log",
                   help="volume style: how box sizes follow map sizes and channels (default log; "
                        "linear shows 55x55 four times as tall as 13x13)")
    p.add_argument("--layout", choices=LAYOUTS, default="chw",
                   help="write shapes as CxHxW (PyTorch) or HxWxC (lecture tables)")
    p.set_defaults(run=run)


def run(args) -> int:
    target = Path(args.output)
    ext = target.suffix.lower()
    _check_target(target, ext, args.style)
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    if args.style == "volume":
        _volume(net, target, ext, args)
        return status
    from archdsl.backends.render.dot import render_dot
    drawing = render_dot(net, collapse=args.collapse, rankdir=args.rankdir, layout=args.layout,
                         aspect=args.aspect, fuse=args.fuse)
    text = drawing.text
    what = f"graph, {drawing.nodes} nodes"
    if ext in (".dot", ".gv"):
        _write(target, text)
        _wrote(target, what)
        return status
    from archdsl.backends.render import graphviz
    if graphviz.find_dot() is None:
        fallback = target.with_suffix(".dot")
        _write(fallback, text)
        print(f"archdsl: warning: Graphviz's `dot` was not found, so {fallback} was written instead of "
              f"{target}; {graphviz.INSTALL_HINT}", file=sys.stderr)
        return status
    try:
        data = graphviz.run_dot(text, ext[1:])
    except graphviz.GraphvizError as exc:
        raise UsageError(str(exc)) from None
    _write(target, data)
    _wrote(target, what)
    return status


def _volume(net, target: Path, ext: str, args) -> None:
    if ext == ".tex":
        from archdsl.backends.render.tikz import render_tikz
        tikz = render_tikz(net, collapse=args.collapse, layout=args.layout, scale=args.scale, aspect=args.aspect)
        _write(target, tikz.tex)
        _wrote(target, f"volume, TikZ, {round(tikz.width)}\u00d7{round(tikz.height)} pt")
        return
    from archdsl.backends.render.volume import render_volume
    drawing = render_volume(net, collapse=args.collapse, layout=args.layout, scale=args.scale,
                            aspect=args.aspect)
    size = f"{round(drawing.width)}\u00d7{round(drawing.height)} px"
    if ext == ".svg":
        _write(target, drawing.svg)
        _wrote(target, f"volume, {size}")
        return
    from archdsl.backends.render import raster
    try:
        data = raster.svg_to(drawing.svg, ext[1:])
    except raster.RasterError as exc:
        raise UsageError(str(exc)) from None
    _write(target, data)
    if ext == ".png":
        size = f"{round(drawing.width * raster.PNG_SCALE)}\u00d7{round(drawing.height * raster.PNG_SCALE)} px"
    _wrote(target, f"volume, {size}")


def _wrote(target: Path, what: str) -> None:
    """The one line on stderr every command that writes a file prints, as export does."""
    print(f"wrote {target} ({what})", file=sys.stderr)


def _check_target(target: Path, ext: str, style: str) -> None:
    exts = VOLUME_EXTS if style == "volume" else GRAPH_EXTS
    if ext not in exts:
        raise UsageError(f"cannot tell the format of {target.name}; the {style} style writes "
                         f"{', '.join(exts)}")
    check_writable(target)


def _write(target: Path, data: str | bytes) -> None:
    from archdsl.atomic import write_atomic
    write_atomic(target, data)
