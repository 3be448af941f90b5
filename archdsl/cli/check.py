"""`archdsl check`: shapes, parameters and cost of every layer, as a table."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archdsl.backends.report import FORMATS, render_report, unsupported_option
from archdsl.backends.report.columns import ALL as ALL_COLUMNS
from archdsl.backends.report.columns import ColumnsError, parse_columns
from archdsl.cli.common import (
    add_spec_options,
    at_least,
    check_spec_path,
    load_networks,
    positive,
    report_errors,
    report_warnings,
    use_color,
    write_output,
)
from archdsl.errors import ArchError, UsageError
from archdsl.text import LAYOUTS

NAME = "check"
HELP = "print every layer's shape, parameters and cost"

# With -o and no -f, the file's extension picks the format; any other
# extension gets plain `text`: box-drawing rules belong on a terminal.
EXTENSION_FORMATS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".csv": "csv",
                     ".json": "json", ".html": "html", ".htm": "html", ".txt": "text"}


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p, many=True)
    p.add_argument("-f", "--format", choices=FORMATS, default=None,
                   help="table (terminal, the default on stdout), text (plain), markdown, latex, csv, json "
                        "or html; with -o the file's extension picks it (.md .tex .csv .json .html .txt), "
                        "else text")
    p.add_argument("--layout", choices=LAYOUTS, default=None,
                   help="print shapes as CxHxW (PyTorch) or HxWxC (as lecture tables do); tables and csv "
                        "(default: the spec's own layout, chw unless it says `layout hwc`)")
    p.add_argument("--columns", type=columns_option, default=None, metavar="LIST",
                   help="add lecture columns to the defaults (+weights,+neurons,+memory), drop one (-rf), or "
                        "list exactly the columns wanted (name,output,weights,params); columns: "
                        + ", ".join(c.key for c in ALL_COLUMNS) + "; every format but json")
    p.add_argument("--batch", type=positive, default=1, metavar="N",
                   help="batch size for the activation memory (tables and json)")
    p.add_argument("--depth", type=at_least(0, "0 or more levels"), default=None, metavar="N",
                   help="fold block instances nested deeper than N into one row with their subtotals "
                        "(0: one row per top-level block); tables and csv")
    p.add_argument("--explain", action="store_true",
                   help="add a column with each layer's key derivation step, e.g. out = (227 - 11 + 2*0)/4 + 1 "
                        "= 55 (json: every step); archdsl explain prints them all")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead of stdout (nothing is written if any spec fails)")
    p.set_defaults(run=run)


def columns_option(text: str) -> tuple[str, ...]:
    """argparse type for --columns: checked now, so a typo is a usage error (exit 2)."""
    try:
        return parse_columns(text)
    except ColumnsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pick_format(explicit: str | None, output: str | None) -> str:
    """An explicit -f wins; else the -o file's extension; else the terminal table."""
    if explicit is not None:
        return explicit
    if output is None or output == "-":
        return "table"
    return EXTENSION_FORMATS.get(Path(output).suffix.lower(), "text")


def run(args) -> int:
    fmt = pick_format(args.format, args.output)
    problem = unsupported_option(fmt, args.layout, args.depth, args.batch, args.columns)
    if problem:
        raise UsageError(problem)
    for path in args.specs:  # a missing file is a usage error before any output
        check_spec_path(path)
    nets, failed, status = [], 0, 0
    for path in args.specs:
        # One bad spec must not hide the tables of the good ones.
        try:
            loaded = load_networks(path, args)
        except ArchError as exc:
            failed += 1
            report_errors(exc)
            continue
        status = max(status, report_warnings(loaded, args))
        nets.extend(loaded)
    to_file = args.output is not None and args.output != "-"
    if failed and to_file:
        # All or nothing: a file that silently lacks a table is worse than none.
        print(f"archdsl: nothing written to {args.output}: {failed} of {len(args.specs)} specs failed",
              file=sys.stderr)
        return 1
    if nets:
        color = use_color(sys.stdout) if not to_file else False
        if getattr(args, "explain", False):
            from archdsl.backends.explain.column import render_explained
            text = render_explained(nets, fmt, args.layout, args.depth, args.batch, color, args.columns)
        else:
            text = render_report(nets, fmt, layout=args.layout, depth=args.depth, batch=args.batch, color=color,
                                 columns=args.columns)
        write_output(args.output, text)
    return 1 if failed else status
