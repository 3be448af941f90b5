"""`archdsl check`: shapes, parameters and cost of every layer, as a table."""
from __future__ import annotations

import sys

from ..report import FORMATS, render_report
from .common import add_spec_options, load_networks, positive, report_warnings, use_color, write_output

NAME = "check"
HELP = "print every layer's shape, parameters and cost"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p, many=True)
    p.add_argument("-f", "--format", choices=FORMATS, default="table",
                   help="table (terminal), text (plain), markdown, latex, csv, json or html")
    p.add_argument("--layout", choices=("chw", "hwc"), default="chw",
                   help="print shapes as CxHxW (PyTorch) or HxWxC (as lecture tables do)")
    p.add_argument("--batch", type=positive, default=1, metavar="N", help="batch size for memory figures")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="fold blocks nested deeper than N into one row with their subtotals (0: top-level blocks)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    nets = []
    for path in args.specs:
        nets.extend(load_networks(path, args))
    status = report_warnings(nets, args)
    color = use_color(sys.stdout) if args.output is None else False
    text = render_report(nets, args.format, layout=args.layout, depth=args.depth, batch=args.batch,
                         color=color)
    write_output(args.output, text)
    return status
