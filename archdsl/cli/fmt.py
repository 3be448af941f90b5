"""`archdsl fmt`: rewrite specs in the canonical layout (`--check` for CI, `--diff` to review)."""
from __future__ import annotations

import difflib
import sys

from archdsl.errors import ArchError, UsageError

NAME = "fmt"
HELP = "rewrite specs in the canonical layout"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + " (indentation, spacing, aligned comments); "
                                                          "comments and blank lines are kept.")
    p.add_argument("specs", nargs="+", metavar="SPEC", help=".arch file(s); - reads stdin and writes stdout")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if any file is not in the canonical layout")
    mode.add_argument("--diff", action="store_true", help="change nothing; print a unified diff of the changes")
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.cli.common import check_spec_path, report_errors
    from archdsl.fmt import format_text
    from archdsl.frontend.parse import normalise
    from archdsl.lowering.workspace import read_spec

    paths = list(args.specs)
    if paths.count("-") > 1:
        raise UsageError("- (stdin) may be given once")
    for path in paths:
        if path != "-":
            check_spec_path(path)
    failed = changed = 0
    for path in paths:
        try:
            text = sys.stdin.read() if path == "-" else read_spec(path)
            out = format_text(text, "<stdin>" if path == "-" else path)
        except ArchError as exc:
            failed += 1
            report_errors(exc)
            continue
        if out == text:
            if path == "-" and not (args.check or args.diff):
                sys.stdout.write(out)
            continue
        changed += 1
        if args.check:
            print(f"would reformat {path}", file=sys.stderr)
        elif args.diff:
            name = "stdin" if path == "-" else path
            sys.stdout.writelines(difflib.unified_diff(normalise(text).splitlines(True), out.splitlines(True),
                                                       f"{name} (as written)", f"{name} (formatted)"))
        elif path == "-":
            sys.stdout.write(out)
        else:
            from archdsl.atomic import write_atomic
            write_atomic(path, out)
            print(f"reformatted {path}", file=sys.stderr)
    if args.check and changed:
        n = changed
        print(f"{n} file{'s' if n > 1 else ''} would be reformatted", file=sys.stderr)
    return 1 if failed or (args.check and changed) else 0
