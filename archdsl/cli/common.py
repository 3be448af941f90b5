"""Options and helpers every subcommand shares."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from archdsl.errors import Diagnostic, OptionError, UsageError
from archdsl.limits import DEFAULT_LIMITS, Limits


def dims(text: str) -> tuple[int, ...]:
    """argparse type for `3x224x224`."""
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape like 3x224x224, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"every size must be positive, got {text!r}")
    return values


def input_option(text: str) -> tuple[str | None, tuple[int, ...]]:
    """argparse type for `3x224x224` or `image=3x224x224`."""
    name, sep, shape = text.partition("=")
    if not sep:
        return None, dims(text)
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=CxHxW, got {text!r}")
    return name, dims(shape)


def input_shapes(options) -> tuple[int, ...] | dict | None:
    """What lowering takes for the --input options: one shape for the first
    input, or {name: shape} (0 for an unnamed one) when inputs are named."""
    if not options:
        return None
    if len(options) == 1 and options[0][0] is None:
        return options[0][1]
    unnamed = [shape for name, shape in options if name is None]
    if len(unnamed) > 1:
        raise UsageError("--input without a name sets the first input; name the others (--input NAME=CxHxW)")
    return {(0 if name is None else name): shape for name, shape in options}


def at_least(minimum: int, what: str):
    """argparse type: an integer >= minimum, described as `what` in errors."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


positive = at_least(1, "a positive integer")


def add_spec_options(parser: argparse.ArgumentParser, many: bool = False) -> None:
    """The spec argument(s) and the options that change how a spec is read."""
    if many:
        parser.add_argument("specs", nargs="+", metavar="SPEC", help=".arch file(s)")
    else:
        parser.add_argument("spec", metavar="SPEC", help=".arch file")
    parser.add_argument("--network", metavar="NAME", help="pick one network when a file has several")
    parser.add_argument("--input", type=input_option, action="append", metavar="[NAME=]CxHxW",
                        help="override the input shape, e.g. 3x32x32; a named input by its name "
                             "(--input image=3x64x64), once per input")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    parser.add_argument("--max-layers", type=positive, default=DEFAULT_LIMITS.max_layers, metavar="N",
                        help=f"refuse specs that expand to more layers (default {DEFAULT_LIMITS.max_layers:,})")
    parser.add_argument("--max-depth", type=positive, default=DEFAULT_LIMITS.max_depth, metavar="N",
                        help=f"refuse block calls nested deeper than this (default {DEFAULT_LIMITS.max_depth})")
    parser.add_argument("--max-nesting", type=bounded(5000), default=DEFAULT_LIMITS.max_nesting, metavar="N",
                        help=f"refuse braces and block calls nested deeper than this "
                             f"(default {DEFAULT_LIMITS.max_nesting}, at most 5000)")
    parser.add_argument("--max-dim", type=positive, default=DEFAULT_LIMITS.max_dim, metavar="N",
                        help=f"refuse any size (channels, pixels) above this (default {DEFAULT_LIMITS.max_dim:.0e})")


def bounded(high: int):
    """argparse type: a positive integer no larger than `high`."""
    def parse(text: str) -> int:
        value = positive(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"at most {high}, got {value}")
        return value
    return parse


def limits_from(args) -> Limits:
    return Limits(max_layers=args.max_layers, max_depth=args.max_depth, max_nesting=args.max_nesting,
                  max_dim=args.max_dim,
                  max_param_bytes=getattr(args, "max_param_bytes", DEFAULT_LIMITS.max_param_bytes))


def load_networks(path: str, args):
    """Load every network of one spec (or the one --network names)."""
    from archdsl.api import load_all
    check_spec_path(path)
    shapes = input_shapes(args.input)
    try:
        nets = load_all(path, input_shape=shapes, limits=limits_from(args), network=args.network)
    except OptionError as exc:
        # --network or --input that the spec cannot honour: a usage error (exit 2).
        first = exc.first
        message = first.message + (f"; {first.hint}" if first.hint else "")
        raise UsageError(f"--{message}" if message.startswith("input ") else message) from None
    if isinstance(shapes, dict):
        for net in nets:
            names = [n.name for n in net.graph.inputs]
            unknown = [k for k in shapes if k != 0 and k not in names]
            if unknown:
                raise UsageError(f"--input {unknown[0]}=...: {net.name} has no input named {unknown[0]} "
                                 f"(its inputs: {', '.join(names)})")
    return nets


def check_spec_path(path: str) -> None:
    """A spec named on the command line that cannot be read is a usage error (exit 2)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path} is a directory, not a spec file (try {path.rstrip('/')}/*.arch)")
    if not p.exists():
        raise UsageError(f"{path}: no such file")


def load_one(path: str, args):
    nets = load_networks(path, args)
    if len(nets) > 1:
        names = ", ".join(n.name for n in nets)
        raise UsageError(f"{path} defines several networks ({names}); pick one with --network")
    return nets[0]


def use_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def print_diagnostics(diagnostics: list[Diagnostic], stream=None) -> None:
    stream = stream or sys.stderr
    color = use_color(stream)
    for d in diagnostics:
        text = d.format()
        if color:
            tag = f"{d.severity}:"
            paint = "\033[1;31m" if d.severity == "error" else "\033[1;33m"
            text = text.replace(tag, f"{paint}{tag}\033[0m", 1)
        print(text, file=stream)


def report_errors(exc) -> None:
    """Print a spec's diagnostics and, after several errors, their count."""
    print_diagnostics(exc.diagnostics)
    n = sum(1 for d in exc.diagnostics if d.severity == "error")
    if n > 1:
        print(f"{n} errors", file=sys.stderr)


def report_warnings(nets, args) -> int:
    """Print warnings; with --strict they make the exit code 1."""
    warnings = [w for n in nets for w in n.warnings]
    print_diagnostics(warnings)
    if warnings and getattr(args, "strict", False):
        # Say why the exit code is 1 though everything printed is a warning.
        n = len(warnings)
        print(f"archdsl: error: {n} warning{'s' if n > 1 else ''} treated as errors (--strict)", file=sys.stderr)
        return 1
    return 0


def write_output(path: str | None, text: str) -> None:
    """Print to stdout, or write atomically to `path`."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    from archdsl.atomic import check_writable, write_atomic
    write_atomic(check_writable(path), text)
