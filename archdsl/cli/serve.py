"""`archdsl serve SPEC`: the live page on 127.0.0.1 (see docs/editor.md)."""
from __future__ import annotations

import sys
from pathlib import Path

from archdsl.cli.common import check_spec_path, positive

NAME = "serve"
HELP = "edit a spec in the browser with its shapes, table and diagrams updated as you type"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + " (on 127.0.0.1 only; Ctrl-S saves the spec).")
    p.add_argument("spec", metavar="SPEC", help=".arch file to edit")
    p.add_argument("--port", type=positive, default=None, metavar="N", help="port on 127.0.0.1 (default: any free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(run=run)


def run(args) -> int:
    check_spec_path(args.spec)
    from archdsl.serve import make_server
    httpd = make_server(Path(args.spec), args.port or 0)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    print(f"archdsl serve: editing {args.spec} at {url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    if args.open:
        import webbrowser
        webbrowser.open(url)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
    return 0
