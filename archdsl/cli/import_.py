"""`archdsl import`: an ONNX file, a Caffe prototxt, a Darknet cfg or a PyTorch module back to an `.arch` spec."""
from __future__ import annotations

import sys
from pathlib import Path

from archdsl.cli.common import dims, write_output
from archdsl.errors import UsageError

NAME = "import"
HELP = "write the .arch spec of an ONNX file, a Caffe .prototxt, a Darknet .cfg or a PyTorch module (blocks and " \
       "repeats folded)"
# The reader is chosen by the file's extension; anything else is read as ONNX.
CLASSIC = {".prototxt": "caffe", ".cfg": "darknet"}


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ". The spec is analysed before it is written: every "
                       "layer's shape and the parameter count must be the model's.")
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="the file to read: MODEL.onnx, a Caffe deploy MODEL.prototxt or a Darknet MODEL.cfg")
    p.add_argument("--torch", metavar="MODULE:FACTORY",
                   help="read a PyTorch module instead, built by FACTORY() from MODULE (a module name or a "
                        ".py path), traced with torch.fx at --input")
    p.add_argument("-o", "--output", metavar="FILE", help="write the spec to FILE (default: stdout)")
    p.add_argument("--input", type=dims, metavar="CxHxW",
                   help="the input's size without the batch (needed with --torch, and for ONNX files whose "
                        "input size is not fixed; for a prototxt or cfg, instead of the one it declares)")
    p.add_argument("--name", help="the network's name (default: from the model)")
    p.add_argument("--allow-opaque", action="store_true",
                   help="stand in an op with no .arch equivalent by a parameter-free layer of the same output "
                        "shape, commented, instead of stopping at it")
    p.add_argument("--no-fold", dest="fold", action="store_false",
                   help="write every layer out: no blocks, no repeats")
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.importers import import_onnx, import_torch
    if (args.model is None) == (args.torch is None):
        raise UsageError("give a model file (.onnx, .prototxt, .cfg) or --torch module:factory (one of them)")
    if args.torch is not None:
        result = import_torch(args.torch, args.input, fold=args.fold, name=args.name)
    elif Path(args.model).suffix.lower() in CLASSIC:
        result = _import_classic(args)
    else:
        result = import_onnx(args.model, allow_opaque=args.allow_opaque, input_shape=args.input, fold=args.fold,
                             name=args.name)
    write_output(args.output, result.text)
    if args.output not in (None, "-"):
        t = result.network.totals
        blocks = sorted({line.split()[1].split("(")[0] for line in result.text.splitlines()
                         if line.startswith("block ")})
        folded = f"; blocks {', '.join(blocks)}" if blocks else ""
        print(f"wrote {args.output} ({len(result.text.splitlines())} lines{folded}; checked: {t.params:,} "
              f"parameters, {len(result.network.layers)} layers with the model's shapes)", file=sys.stderr)
    return 0


def _import_classic(args):
    """A Caffe prototxt or a Darknet cfg: every layer has an .arch equivalent or is an error."""
    from archdsl.importers import import_caffe, import_darknet
    if args.allow_opaque:
        raise UsageError("--allow-opaque is for ONNX files; a prototxt or cfg layer without an equivalent is an "
                         "error that names it")
    reader = import_caffe if CLASSIC[Path(args.model).suffix.lower()] == "caffe" else import_darknet
    return reader(args.model, input_shape=args.input, fold=args.fold, name=args.name)
