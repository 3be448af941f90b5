"""`archdsl cost`: what one training step costs -- MACs forward and backward,
memory by part and per layer -- and, with --gpu-memory, the largest batch
that fits and the blocks worth checkpointing."""
from __future__ import annotations

import argparse
import re
import sys

from archdsl.cli.common import add_spec_options, load_one, positive, report_warnings, write_output
from archdsl.errors import UsageError

NAME = "cost"
HELP = "training cost of one step: backward MACs, memory (weights, gradients, optimiser, saved activations)"
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000**2, "mb": 1000**2, "mib": 1 << 20,
          "g": 1 << 30, "gb": 1000**3, "gib": 1 << 30, "t": 1 << 40, "tb": 1000**4, "tib": 1 << 40}


def size(text: str) -> int:
    """argparse type for `24GiB`, `80GB`, `512MiB` (a bare G is GiB, as GPUs are sold)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"expected a size like 24GiB, 80GB or 512MiB, got {text!r}")
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    add_spec_options(p)
    p.add_argument("--batch", type=positive, default=None, metavar="N",
                   help="samples per step (default: the spec's train section, else 1)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help="optimiser state: sgd (none), momentum (1 value per parameter), adam/adamw (2) "
                        "(default: the spec's train section, else sgd)")
    p.add_argument("--gpu-memory", type=size, default=None, metavar="SIZE",
                   help="a GPU's memory, e.g. 24GiB: print the largest batch that fits and what to checkpoint")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="whose rules (dropout's mask is float on CPU, bool on CUDA); default cuda with "
                        "--gpu-memory, else cpu")
    p.add_argument("--measure", action="store_true",
                   help="also run the built module once on CPU (batch 2) and compare what autograd saves")
    p.add_argument("--no-layers", action="store_true", help="leave out the per-layer table")
    p.add_argument("-f", "--format", choices=("text", "json"), default=None,
                   help="text (default) or json (with -o FILE.json the extension picks it)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.backends.cost import render_json, render_text
    from archdsl.core.memory import optimizer_of, training_memory
    net = load_one(args.spec, args)
    status = report_warnings([net], args)
    batch = args.batch or (net.train.batch if net.train is not None else 1)
    optimizer = args.optimizer or optimizer_of(net)
    device = args.device or ("cuda" if args.gpu_memory else "cpu")
    mem = training_memory(net, batch, optimizer, device)
    fmt = args.format or ("json" if args.output and args.output.endswith(".json") else "text")
    text = render_json(mem, args.gpu_memory) if fmt == "json" else \
        render_text(mem, args.gpu_memory, per_layer=not args.no_layers)
    if args.measure:
        text += measure_lines(net)
    write_output(args.output, text)
    return status


def measure_lines(net) -> str:
    try:
        from archdsl.backends.measure import measure_saved
        measured = measure_saved(net, 2)
    except ImportError as exc:
        raise UsageError(f"--measure needs torch ({exc.name} is not installed): pip install torch") from None
    from archdsl.core.memory import training_memory
    from archdsl.text import human_bytes
    est = training_memory(net, 2, device="cpu")
    same = est.saved_bytes(2) == measured.held_bytes and est.packed_bytes(2) == measured.packed_bytes
    print(f"measured on CPU at batch 2: {'the estimate is exact' if same else 'the estimate differs'}",
          file=sys.stderr)
    return (f"\nMeasured (torch.autograd.graph.saved_tensors_hooks, one forward pass on CPU, batch 2):\n"
            f"  saved, each storage once   {human_bytes(measured.held_bytes):>12}   estimate "
            f"{human_bytes(est.saved_bytes(2))}\n"
            f"  saved, as the hooks see it {human_bytes(measured.packed_bytes):>12}   estimate "
            f"{human_bytes(est.packed_bytes(2))}\n")
