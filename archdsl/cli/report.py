"""`archdsl report`: a self-contained HTML handout with the table and both diagrams."""
from __future__ import annotations

import sys
from pathlib import Path

from archdsl.cli.common import add_spec_options, at_least, load_one, positive, report_warnings, write_output
from archdsl.errors import UsageError
from archdsl.text import LAYOUTS

NAME = "report"
HELP = "write one self-contained HTML page with the table and both diagrams"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ". The graph diagram needs Graphviz; "
                       "without it the page carries a note instead.")
    add_spec_options(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the .html file to write")
    p.add_argument("--layout", choices=LAYOUTS, default="chw",
                   help="write shapes as CxHxW (PyTorch) or HxWxC (lecture tables)")
    p.add_argument("--collapse", action="store_true", help="fold blocks and repeats in the diagrams")
    p.add_argument("--depth", type=at_least(0, "0 or more levels"), default=None, metavar="N",
                   help="fold blocks nested deeper than N in the table")
    p.add_argument("--batch", type=positive, default=1, metavar="N", help="batch size for memory figures")
    p.set_defaults(run=run)


def run(args) -> int:
    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"the report is HTML; name the output *.html, not {Path(args.output).name}")
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    from archdsl.backends.render.page import render_page
    write_output(args.output, render_page(net, layout=args.layout, depth=args.depth, batch=args.batch,
                                          collapse=args.collapse))
    print(f"wrote {args.output} (report, {len(net.layers)} layers)", file=sys.stderr)
    return status
