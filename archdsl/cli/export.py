"""`archdsl export`: an ONNX file for a spec, optionally verified in onnxruntime."""
from __future__ import annotations

import argparse
import sys

from archdsl.cli.build import add_build_options
from archdsl.cli.common import add_spec_options, load_one, positive, report_warnings

NAME = "export"
HELP = "export a spec to ONNX (dynamic batch), optionally verified with onnxruntime"


def add_parser(sub) -> None:
    from archdsl.backends.onnx.export import DEFAULT_OPSET
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=positive, default=DEFAULT_OPSET, metavar="N",
                   help=f"ONNX opset version (default {DEFAULT_OPSET})")
    p.add_argument("--static-batch", action="store_true",
                   help="fix the batch dimension to 1 (default: dynamic, named 'batch')")
    p.add_argument("--softmax", choices=("keep", "logits"), default="keep",
                   help="a trailing softmax: 'keep' (default) exports probabilities; 'logits' leaves it out")
    p.add_argument("--verify", action="store_true",
                   help="run the file in onnxruntime against PyTorch on a random batch and report the difference")
    p.add_argument("--tolerance", type=float, default=1e-4, metavar="REL",
                   help="with --verify, fail (exit 1) when the relative difference exceeds this (default 1e-4)")
    add_build_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.backends.onnx.export import check_exportable, export_module, input_vocabs, io_names, verify
    from archdsl.backends.torch import build
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    # re-analysed at a suggested size: the first input's, as `--input CxHxW` would set it
    check_exportable(net, lambda shape: load_one(args.spec,
                                                 argparse.Namespace(**{**vars(args), "input": [(None, shape)]})))
    model = build(net, softmax=args.softmax, max_param_bytes=args.max_param_bytes, weights=args.weights,
                  key_map=args.key_map)
    shapes = [n.shape for n in net.graph.inputs or [net.graph.input]]
    export_module(model, shapes, args.output, opset=args.opset, dynamic_batch=not args.static_batch,
                  names=io_names(net), vocabs=input_vocabs(net))
    print(f"wrote {args.output} (opset {args.opset}, "
          f"{'batch 1' if args.static_batch else 'dynamic batch'})", file=sys.stderr)
    if args.verify:
        result = verify(model, args.output, shapes, batch=1 if args.static_batch else 2, vocabs=input_vocabs(net))
        print(result.format(), file=sys.stderr)
        if result.max_rel > args.tolerance:
            print(f"archdsl: error: relative difference {result.max_rel:.3g} exceeds the tolerance "
                  f"{args.tolerance:g}", file=sys.stderr)
            return 1
    return status
