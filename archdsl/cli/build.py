"""`archdsl build`: a standalone, readable PyTorch module (.py) for a spec."""
from __future__ import annotations

import argparse
import sys

from archdsl.cli.common import add_spec_options, load_one, report_warnings, write_output
from archdsl.limits import DEFAULT_LIMITS

NAME = "build"
HELP = "compile a spec to a standalone PyTorch module (.py)"


def megabytes(text: str) -> int:
    """argparse type: a size in MiB -> bytes."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size in MiB, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive size in MiB, got {text!r}")
    return int(value * 2 ** 20)


def add_build_options(p: argparse.ArgumentParser) -> None:
    """Options `build` and `export` share."""
    p.add_argument("--max-params-mb", dest="max_param_bytes", type=megabytes,
                   default=DEFAULT_LIMITS.max_param_bytes, metavar="MIB",
                   help=f"refuse models whose fp32 parameters exceed this many MiB "
                        f"(default {DEFAULT_LIMITS.max_param_bytes // 2 ** 20:,})")


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ". The file imports only torch; "
                       "its class is named after the network and its submodules after the layers.")
    add_spec_options(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    p.add_argument("--softmax", choices=("logits", "keep"), default="logits",
                   help="a trailing softmax: 'logits' (default) leaves it out of forward() for "
                        "nn.CrossEntropyLoss and adds predict_proba(); 'keep' applies it in forward()")
    add_build_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.backends.torch import check_param_budget, generate_source
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    check_param_budget(net, args.max_param_bytes)
    write_output(args.output, generate_source(net, softmax=args.softmax, source_name=args.spec))
    if args.output not in (None, "-"):
        print(f"wrote {args.output} (PyTorch module, {len(net.layers)} layers)", file=sys.stderr)
    return status
