"""`archdsl explain`: every layer's figures worked out, with the numbers filled in."""
from __future__ import annotations

import difflib
from pathlib import Path

from archdsl.cli.common import add_spec_options, load_one, report_warnings, write_output
from archdsl.errors import UsageError

NAME = "explain"
HELP = "work out each layer's output size, parameters, MACs and receptive field, as lecture notes do"
FORMATS = ("text", "markdown", "latex")
EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex"}


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p)
    p.add_argument("layers", nargs="*", metavar="LAYER",
                   help="layer names or shell patterns (conv1, 'inception3a.*'); default every layer")
    p.add_argument("-f", "--format", choices=FORMATS, default=None,
                   help="text (default), markdown (a table per layer) or latex (align*, needs amsmath); "
                        "with -o the extension picks it (.md, .tex)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    fmt = args.format or EXTENSIONS.get(Path(args.output).suffix.lower(), "text") if args.output else \
        args.format or "text"
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    from archdsl.core.explain import unmatched
    missing = unmatched(net, args.layers)
    if missing:
        names = [n.name for n in net.graph.nodes]
        close = difflib.get_close_matches(missing[0], names, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; archdsl check lists the layer names"
        raise UsageError(f"no layer named {missing[0]} in {net.name}{hint}")
    from archdsl.backends.explain import render_explain
    write_output(args.output, render_explain([net], fmt, args.layers or None))
    return status
