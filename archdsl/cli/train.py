"""The commands `archdsl train`, `archdsl eval` and `archdsl predict`: parse
arguments, call session.py / inference.py, print.

`add_parsers(sub)` registers all three on archdsl's subcommand parser;
`main(argv)` runs them standalone (`python -m archdsl.train train ...`,
which is also what `--nproc` and torchrun start). Importing this module
imports no torch (registering the commands must not slow `archdsl check`),
and a missing optional package is named with the install command."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

from archdsl.atomic import check_writable
from archdsl.cli import common
from archdsl.errors import ArchError, UsageError
from archdsl.train.metrics import FORMATS as LOG_FORMATS
from archdsl.train.progress import MODES as PROGRESS_MODES

# Import name -> distribution, for the message when one is missing.
PACKAGES = {"torch": "torch", "numpy": "numpy", "sklearn": "scikit-learn", "matplotlib": "matplotlib",
            "PIL": "Pillow", "rich": "rich"}

TRAIN_HELP = "train a spec's network (one CPU, a GPU, or many processes through torchrun)"
EVAL_HELP = "evaluate a trained checkpoint on a data set"
PREDICT_HELP = "classify image files with a trained checkpoint"
DATA_HELP = ("digits (scikit-learn's bundled 8x8 digits, the default), mnist:DIR (IDX files), "
             "cifar10:DIR (python batches), folder:DIR (one subfolder per class), npz:FILE (arrays x, y)")


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def add_parsers(sub) -> None:
    """Register train, eval and predict."""
    _add_train(sub)
    _add_eval(sub)
    _add_predict(sub)


def _add_device_options(p) -> None:
    g = p.add_argument_group("device")
    g.add_argument("--device", default="auto", metavar="auto|cpu|cuda|mps",
                   help="where to compute (default auto: CUDA, else MPS, else CPU; cuda:N for one GPU)")
    g.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="autocast precision (fp16 adds a gradient scaler); default fp32")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help=TRAIN_HELP, description=TRAIN_HELP + ". Settings come from the "
                       "spec's train { ... } section; the flags below override them.")
    common.add_spec_options(p)
    d = p.add_argument_group("data")
    d.add_argument("--data", default="digits", metavar="SOURCE", help=DATA_HELP)
    d.add_argument("--val", metavar="SOURCE", help="a validation set (its test split where it has one: MNIST's "
                   "t10k, CIFAR-10's test_batch, an npz's x_test/y_test, a folder's val/); default: a split "
                   "of the training data")
    d.add_argument("--resize", action="store_true",
                   help="resample images to the spec's input size (and convert grey<->RGB)")
    s = p.add_argument_group("settings (override the spec's train section)")
    s.add_argument("--optimizer", choices=("sgd", "adam", "adamw"))
    s.add_argument("--lr", type=_float, metavar="LR", help="learning rate")
    s.add_argument("--momentum", type=_float, metavar="M", help="SGD momentum")
    s.add_argument("--weight-decay", type=_float, metavar="WD")
    s.add_argument("--schedule", choices=("none", "step", "cosine", "plateau"))
    s.add_argument("--label-smoothing", type=_float, metavar="EPS")
    s.add_argument("--patience", type=_int, metavar="N", help="early stopping after N epochs without improvement")
    s.add_argument("--clip", type=_float, metavar="NORM", help="clip gradients to this global norm")
    s.add_argument("--crop", type=_int, metavar="PAD", help="random-crop augmentation with PAD pixels of padding")
    s.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="random horizontal flips")
    s.add_argument("--batch", type=_int, metavar="N", help="global batch size (over all processes)")
    s.add_argument("--epochs", type=_int, metavar="N")
    s.add_argument("--seed", type=_int, metavar="N")
    s.add_argument("--val-split", type=_float, metavar="FRACTION", help="fraction held out for validation")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="where checkpoints, log, curves and report go "
                   "(default runs/<network>, numbered if taken; with --resume, the checkpoint's folder)")
    o.add_argument("--resume", metavar="CKPT", help="continue from a last.pt exactly where it stopped")
    o.add_argument("--log-format", choices=LOG_FORMATS, default="csv", help="metrics log format (default csv)")
    o.add_argument("--progress", choices=PROGRESS_MODES, default="auto",
                   help="bar (rich), plain (lines for CI logs) or quiet; default auto: bar on a terminal")
    o.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    o.add_argument("--no-report", dest="report", action="store_false",
                   help="skip the final classification report, curves and HTML")
    o.add_argument("--max-steps", type=_int, metavar="N", help="stop after N optimiser steps (smoke tests)")
    _add_device_options(p)
    g = p.add_argument_group("performance")
    g.add_argument("--channels-last", action="store_true", help="channels-last memory format (faster convs on GPUs)")
    g.add_argument("--compile", action="store_true", help="torch.compile the model")
    g.add_argument("--nproc", type=_int, metavar="N",
                   help="run N processes on this machine through torchrun (DDP; gloo on CPU, NCCL on GPU)")
    p.set_defaults(run=run_train)


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help=EVAL_HELP, description=EVAL_HELP + " (its test split where it has one).")
    common.add_spec_options(p)
    p.add_argument("checkpoint", metavar="CKPT", help="best.pt or last.pt")
    p.add_argument("--data", metavar="SOURCE", help=DATA_HELP + "; default: the source it was trained on")
    p.add_argument("--resize", action=argparse.BooleanOptionalAction, default=None,
                   help="resample images to the spec's input size (default: as in training)")
    p.add_argument("-f", "--format", choices=("text", "json"), default="text")
    p.add_argument("--report", metavar="FILE.html", help="also write the report as an HTML page")
    _add_device_options(p)
    p.set_defaults(run=run_eval)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help=PREDICT_HELP, description=PREDICT_HELP + "; each image is converted "
                       "to the spec's channels and resampled to its input size.")
    common.add_spec_options(p)
    p.add_argument("checkpoint", metavar="CKPT", help="best.pt or last.pt")
    p.add_argument("files", nargs="+", metavar="FILE", help="images (PNG, JPEG, ...)")
    p.add_argument("--top", type=_int, default=1, metavar="K", help="show the K most likely classes")
    p.add_argument("-f", "--format", choices=("text", "json", "csv"), default="text")
    _add_device_options(p)
    p.set_defaults(run=run_predict)


# -- running ----------------------------------------------------------------------------

def require(*modules: str) -> None:
    """A usage error naming every missing package, before any work."""
    missing = [PACKAGES[m] for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"this command needs {', '.join(missing)}: pip install 'archdsl[train]'")


def _load(args):
    net = common.load_one(args.spec, args)
    status = common.report_warnings([net], args) if os.environ.get("RANK", "0") == "0" else 0
    return net, status


def run_train(args) -> int:
    needs = ["torch", "numpy"] + (["sklearn", "matplotlib"] if args.report else [])
    require(*needs, *(["rich"] if args.progress == "bar" else []))
    from archdsl.train import distributed
    from archdsl.train.config import OVERRIDES
    from archdsl.train.session import TrainOptions, train
    if args.nproc is not None and args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return distributed.launch(args.nproc, distributed.strip_nproc(_raw_argv(args)))
    net, status = _load(args)
    if status:
        return status
    options = TrainOptions(
        data=args.data, val=args.val, resize=args.resize, out=args.out, device=args.device,
        precision=args.precision, channels_last=args.channels_last, compile=args.compile, resume=args.resume,
        progress="quiet" if args.quiet else args.progress, log_format=args.log_format,
        max_steps=args.max_steps, report=args.report,
        overrides={flag: getattr(args, flag) for flag in OVERRIDES})
    try:
        train(net, options)
    except KeyboardInterrupt:
        return 130  # session.py said where the last checkpoint is
    return 0


def run_eval(args) -> int:
    require("torch", "numpy", "sklearn")
    from archdsl.train import report
    from archdsl.train.inference import evaluate, load_trained
    if args.report:
        check_writable(args.report)  # before the work, not after
    net, status = _load(args)
    if status:
        return status
    loaded = load_trained(net, args.checkpoint, device=args.device, precision=args.precision)
    result = evaluate(loaded, args.data, resize=args.resize)
    c = result.classification
    if args.format == "json":
        print(json.dumps({"data": result.data, "samples": result.n, "loss": result.loss,
                          "accuracy": result.accuracy, "report": c.rows, "confusion": c.matrix.tolist()}))
    else:
        print(f"{net.name} on {result.data}: {result.n:,} samples, loss {result.loss:.4f}, "
              f"accuracy {result.accuracy:.2%}")
        for note in result.notes:
            print(f"  {note}")
        print()
        print(report.text_report(c, "classification report"), end="")
    if args.report:
        from archdsl.train.metrics import write_text
        page = report.html_report(
            title=f"{net.name}: evaluation", facts=[("checkpoint", args.checkpoint), ("data", result.data),
                                                    ("loss", f"{result.loss:.4f}"),
                                                    ("accuracy", f"{result.accuracy:.2%}")],
            settings=[], curves_png=None, history=[], classification=c,
            evaluated_on=f"{result.data}, {result.n:,} samples")
        write_text(args.report, page)
        print(f"wrote {args.report}", file=sys.stderr)
    return 0


def run_predict(args) -> int:
    require("torch", "numpy", "PIL")
    from archdsl.train.inference import load_trained, predict_files
    net, status = _load(args)
    if status:
        return status
    if args.top < 1:
        raise UsageError("--top must be at least 1")
    loaded = load_trained(net, args.checkpoint, device=args.device, precision=args.precision)
    predictions = predict_files(loaded, args.files, args.top)
    if args.format == "json":
        print(json.dumps([{"file": p.file, "top": [{"class": c, "probability": v} for c, v in p.top]}
                          for p in predictions]))
    elif args.format == "csv":
        print("file,rank,class,probability")
        for p in predictions:
            for rank, (c, v) in enumerate(p.top, 1):
                print(f"{_csv(p.file)},{rank},{_csv(c)},{v:.6f}")
    else:
        width = max(len(p.file) for p in predictions)
        for p in predictions:
            print(f"{p.file:<{width}}  " + "  ".join(f"{c} {v:6.1%}" for c, v in p.top))
    return 0


def _csv(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(ch in text for ch in ',"\n') else text


def _raw_argv(args) -> list[str]:
    """The train command's own arguments, to hand to the processes torchrun starts."""
    argv = getattr(args, "argv", None)
    if argv is None:
        argv = sys.argv[1:]
    return argv[argv.index("train") + 1:] if "train" in argv else list(argv)


# -- standalone -----------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m archdsl.train",
                                description="Train, evaluate and apply archdsl specs.",
                                epilog="exit codes: 0 ok, 1 spec errors, 2 usage errors, 130 interrupted")
    add_parsers(p.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one of the commands; errors map to exit codes as in `archdsl`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except ArchError as exc:
        common.report_errors(exc)
        return 1
    except UsageError as exc:
        print(f"archdsl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
