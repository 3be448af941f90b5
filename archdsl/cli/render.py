"""`archdsl render`: a diagram of the network for slides and notes.

Exit codes: 0 written (also when Graphviz is missing and the .dot was written
instead: a one-line warning says so), 1 spec errors, 2 usage errors."""
from __future__ import annotations

import sys
from pathlib import Path

from archdsl.atomic import check_writable
from archdsl.cli.common import add_spec_options, load_one, report_warnings
from archdsl.errors import UsageError
from archdsl.text import LAYOUTS

NAME = "render"
HELP = "draw the network: Graphviz graph (.dot/.svg/.png/.pdf) or 3-D volume figure (.svg)"
GRAPH_EXTS = (".dot", ".gv", ".svg", ".png", ".pdf")
# Kept here, not in archdsl.render: building the CLI must not load the render
# package (`check` stays free of it).
STYLES = ("graph", "volume")


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="output file; the extension picks the format (.dot, .svg, .png, .pdf)")
    p.add_argument("--style", choices=STYLES, default="graph",
                   help="graph: one node per layer, through Graphviz; volume: 3-D boxes as in the "
                        "AlexNet paper, pure SVG (default graph)")
    p.add_argument("--collapse", action="store_true",
                   help="fold blocks and repeats into one node each, with xN and their subtotals")
    p.add_argument("--rankdir", choices=("TB", "LR"), type=str.upper, default="TB",
                   help="graph style: top to bottom or left to right (default TB)")
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
        from archdsl.backends.render.volume import render_volume
        drawing = render_volume(net, collapse=args.collapse, layout=args.layout)
        _write(target, drawing.svg)
        _wrote(target, f"volume, {round(drawing.width)}\u00d7{round(drawing.height)} px")
        return status
    from archdsl.backends.render.dot import render_dot
    drawing = render_dot(net, collapse=args.collapse, rankdir=args.rankdir, layout=args.layout)
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


def _wrote(target: Path, what: str) -> None:
    """The one line on stderr every command that writes a file prints, as export does."""
    print(f"wrote {target} ({what})", file=sys.stderr)


def _check_target(target: Path, ext: str, style: str) -> None:
    if style == "volume" and ext != ".svg":
        raise UsageError(f"the volume style writes SVG; name the output *.svg, not {target.name}")
    if style == "graph" and ext not in GRAPH_EXTS:
        raise UsageError(f"cannot tell the format of {target.name}; use one of {', '.join(GRAPH_EXTS)}")
    check_writable(target)


def _write(target: Path, data: str | bytes) -> None:
    from archdsl.atomic import write_atomic
    write_atomic(target, data)
