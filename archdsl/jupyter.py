"""Jupyter: `%load_ext archdsl`, then a cell

    %%arch net
    network LeNet {
      input 1x28x28
      ...
    }

shows the table and the volume diagram, and binds the analysed `Network` to
`net` (without a name, to the network's own name) for `archdsl.build(net)`.
Options: `--input 3x64x64`, `--layout hwc`, `--depth N`, `--diagram
volume|graph|none` (graph needs Graphviz). A mistake in the spec shows the
positioned messages `archdsl check` prints, never a traceback. `use` paths
are relative to the notebook's working directory."""
from __future__ import annotations

import argparse
import html
import shlex
from pathlib import Path

from archdsl.errors import ArchError

CELL_NAME = "<cell>"


def _parser() -> argparse.ArgumentParser:
    from archdsl.cli.common import at_least, dims
    p = argparse.ArgumentParser(prog="%%arch", add_help=False, exit_on_error=False)
    p.add_argument("name", nargs="?", help="the Python name the network is bound to")
    p.add_argument("--input", type=dims)
    p.add_argument("--layout", choices=("chw", "hwc"), default="chw")
    p.add_argument("--depth", type=at_least(0, "0 or more levels"))
    p.add_argument("--diagram", choices=("volume", "graph", "none"), default="volume")
    p.add_argument("--network")
    return p


def error_html(exc: ArchError) -> str:
    """The diagnostics as `archdsl check` prints them, in a red box."""
    text = html.escape(exc.format())
    n = sum(1 for d in exc.diagnostics if d.severity == "error")
    count = f"\n{n} errors" if n > 1 else ""
    return ('<pre style="color:#82071e;background:#ffebe9;border-left:3px solid #cf222e;padding:6px 10px;'
            f'white-space:pre-wrap">{text}{count}</pre>')


def run_cell(line: str, cell: str, namespace: dict):
    """Analyse a cell; display its table and diagram; bind and return the network (None on an error)."""
    from IPython.display import HTML, display
    try:
        args = _parser().parse_args(shlex.split(line))
    except (argparse.ArgumentError, SystemExit, ValueError) as exc:
        display(HTML(f'<pre style="color:#82071e">%%arch: {html.escape(str(exc))}</pre>'))
        return None
    if args.name is not None and not args.name.isidentifier():
        display(HTML(f'<pre style="color:#82071e">%%arch: {html.escape(args.name)} is not a Python name</pre>'))
        return None
    import archdsl
    try:
        nets = archdsl.loads_all(cell, CELL_NAME, base=Path.cwd(), input_shape=args.input, network=args.network)
    except ArchError as exc:
        display(HTML(error_html(exc)))
        return None
    for net in nets:
        display(HTML(_table(net, args)))
        for warning in net.warnings:
            display(HTML(f'<pre style="color:#633c01;background:#fff8c5;padding:4px 8px">'
                         f"{html.escape(warning.format())}</pre>"))
        diagram = _diagram(net, args.diagram)
        if diagram is not None:
            display(diagram if not isinstance(diagram, str) else HTML(diagram))
        if args.name is None and net.name.isidentifier():
            namespace[net.name] = net
    if args.name is not None:
        namespace[args.name] = nets[-1]
    return None


def _table(net, args) -> str:
    if args.layout == "chw" and args.depth is None:
        return net._repr_html_()
    from archdsl.backends.report import render_report
    return render_report([net], "html", layout=args.layout, depth=args.depth, fragment=True)


def _diagram(net, kind: str):
    from IPython.display import SVG
    if kind == "none":
        return None
    if kind == "volume":
        return SVG(net._repr_svg_())
    from archdsl.backends.render.graphviz import INSTALL_HINT, GraphvizError
    from archdsl.backends.render.page import graph_svg
    try:
        svg = graph_svg(net, collapse=True, layout="chw")
    except GraphvizError as exc:
        return f'<p style="color:#57606a">{html.escape(str(exc))}</p>'
    return SVG(svg) if svg else f'<p style="color:#57606a">the graph needs Graphviz: {html.escape(INSTALL_HINT)}</p>'


def load_ipython_extension(ipython) -> None:
    """`%load_ext archdsl` (archdsl/__init__.py forwards here)."""
    from IPython.core.magic import Magics, cell_magic, magics_class

    @magics_class
    class ArchMagics(Magics):
        @cell_magic
        def arch(self, line, cell):
            """Analyse an .arch spec: %%arch [NAME] [--input CxHxW] [--layout hwc] [--depth N]
            [--diagram volume|graph|none] [--network NAME]."""
            return run_cell(line, cell, self.shell.user_ns)

    ipython.register_magics(ArchMagics)
