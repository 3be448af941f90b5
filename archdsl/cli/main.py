"""The `archdsl` command: parse arguments, call the library, map errors to exit codes.

Exit codes: 0 success, 1 errors in a spec (or warnings with --strict),
2 usage errors (bad flags, missing files given on the command line)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from archdsl import __version__
from archdsl.errors import ArchError, UsageError

# Subcommand modules, imported lazily so `check` never pays for torch or graphviz.
COMMANDS = ("check", "build", "export", "import_", "render", "report", "layers", "fmt", "lsp", "serve",
            "explain", "cost", "diff", "sweep")

EXIT_OK, EXIT_SPEC, EXIT_USAGE = 0, 1, 2

# Commands that only read their inputs and print: nothing of theirs waits for
# the interpreter's exit (no workers, temporary files or servers).
READ_ONLY = frozenset({"check", "explain", "layers", "diff"})


def _columns() -> int:
    """The terminal's width, as `shutil.get_terminal_size().columns` gives it."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, told the width: argparse would import shutil (and
    with it bz2, lzma and zlib) to ask, once for every argument added."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with the formatter above unless told another."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `only` (a name in COMMANDS), that subcommand's
    alone: `archdsl check` imports no other command's modules."""
    parser = ArgumentParser(
        prog="archdsl",
        description="Declarative architecture compiler and shape calculator for CNNs.",
        epilog="exit codes: 0 ok, 1 spec errors (warnings too with --strict), 2 usage errors",
    )
    parser.add_argument("--version", action="version", version=f"archdsl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in (only,) if only in COMMANDS else COMMANDS:
        try:
            module = importlib.import_module(f"archdsl.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"cli.{name}"):
                continue  # a backend not built into this checkout
            raise
        module.add_parser(sub)
    if only in COMMANDS:
        return parser
    # train, eval and predict live with the training engine; registering them imports no torch.
    from archdsl.cli.train import add_parsers
    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = _parser(words[0] if words else None)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from archdsl.cli.common import report_errors
    try:
        return args.run(args)
    except ArchError as exc:
        report_errors(exc)
        return EXIT_SPEC
    except UsageError as exc:
        print(f"archdsl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("archdsl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def run() -> None:
    """The console script and `python -m archdsl`: `main()`, then the exit.

    A read-only command exits once its output is flushed, without the
    interpreter's teardown (freeing every module and object one by one: about a
    sixth of `archdsl check`'s time). Every other command exits as usual."""
    code = main()
    if sys.argv[1:2] and sys.argv[1] in READ_ONLY:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: let the usual exit report it
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
