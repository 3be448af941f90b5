"""`archdsl diff A.arch B.arch`: what changed between two networks, layer by layer and in total."""
from __future__ import annotations

from pathlib import Path

from archdsl.cli.common import add_spec_options, load_one, report_warnings, write_output

NAME = "diff"
HELP = "compare two networks layer by layer: shapes, params, MACs, receptive field and totals"
EXTENSIONS = {".md": "markdown", ".json": "json"}


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p)
    p.add_argument("other", metavar="SPEC_B", help="the .arch file to compare with")
    p.add_argument("--network-b", metavar="NAME", help="the network of SPEC_B (default: as --network, or its last)")
    p.add_argument("--all", action="store_true", help="list every layer, not only what changed (and its neighbours)")
    p.add_argument("-f", "--format", choices=("text", "markdown", "json"), default=None,
                   help="text (default), markdown or json; with -o the extension picks it (.md, .json)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.backends.diff import render
    a = load_one(args.spec, args)
    network = args.network
    args.network = args.network_b or network
    try:
        b = load_one(args.other, args)
    finally:
        args.network = network
    status = report_warnings([a, b], args)
    fmt = args.format or (EXTENSIONS.get(Path(args.output).suffix.lower(), "text") if args.output else "text")
    write_output(args.output, render(a, b, args.spec, args.other, fmt, args.all))
    return status
