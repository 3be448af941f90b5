"""`archdsl build`: a standalone, readable PyTorch module (.py) for a spec."""
from __future__ import annotations

import argparse
import sys

from archdsl.cli.common import add_spec_options, load_one, report_warnings, write_output
from archdsl.errors import UsageError
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
    p.add_argument("--weights", metavar="FILE",
                   help="a checkpoint (state_dict) to load; every tensor that does not fit is reported by layer")
    p.add_argument("--key-map", metavar="MAP", default=None,
                   help="how the checkpoint's keys name the spec's layers: 'torchvision' (pair torchvision's "
                        "layers with the spec's in order) or a rule file (docs/torch.md); default: the spec's names")


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ". The file imports only torch; "
                       "its class is named after the network and its submodules after the layers.")
    add_spec_options(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    p.add_argument("--softmax", choices=("logits", "keep"), default="logits",
                   help="a trailing softmax: 'logits' (default) leaves it out of forward() for "
                        "nn.CrossEntropyLoss and adds predict_proba(); 'keep' applies it in forward()")
    p.add_argument("--flat", action="store_true",
                   help="unroll every block and repeat into the network's class (default: a class per block "
                        "definition, as torchvision writes models); the state_dict keys are the same")
    p.add_argument("--no-input-check", dest="check_input", action="store_false",
                   help="leave out forward's comparison of its input with the spec's shape")
    add_build_options(p)
    p.add_argument("--weights-out", metavar="FILE",
                   help="with --weights: where to write the checkpoint under the spec's names "
                        "(default: the -o file with .pt); load it with model.load_state_dict(torch.load(FILE))")
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.backends.torch import check_param_budget, generate_source
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    check_param_budget(net, args.max_param_bytes)
    source = generate_source(net, softmax=args.softmax, source_name=args.spec, flat=args.flat,
                             check_input=args.check_input)
    if args.weights is not None:
        _convert_weights(net, args)
    write_output(args.output, source)
    if args.output not in (None, "-"):
        print(f"wrote {args.output} (PyTorch module, {len(net.layers)} layers)", file=sys.stderr)
    return status


def _convert_weights(net, args) -> None:
    """Check that the checkpoint fits the spec and write it under the spec's names."""
    from pathlib import Path

    from archdsl.atomic import check_writable, write_atomic
    from archdsl.backends.torch import build
    target = args.weights_out or (str(Path(args.output).with_suffix(".pt")) if args.output not in (None, "-")
                                  else None)
    if target is None:
        raise UsageError("--weights writes the checkpoint under the spec's names: give -o or --weights-out")
    check_writable(target)
    model = build(net, softmax=args.softmax, max_param_bytes=args.max_param_bytes, weights=args.weights,
                  key_map=args.key_map)
    import io

    import torch
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    write_atomic(target, buffer.getvalue())
    print(f"wrote {target} ({len(model.state_dict())} tensors from {args.weights}, keyed by the spec's layers)",
          file=sys.stderr)
