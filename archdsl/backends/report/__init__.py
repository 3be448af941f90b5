"""Tables in every format, behind one function."""
from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    """The output formats of `archdsl check`."""

    TABLE = "table"  # the terminal: box-drawing rules, colour
    TEXT = "text"
    MARKDOWN = "markdown"
    LATEX = "latex"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


FORMATS = tuple(Format)


def render_report(nets, fmt: str = "text", layout: str = "chw", depth: int | None = None,
                  batch: int = 1, fragment: bool = False, color: bool | None = None) -> str:
    """Render analysed networks as `fmt` (one of FORMATS).

    Raises ValueError for an option the format cannot honour, rather than
    ignoring it: JSON always lists every layer in CxHxW (a contract), and CSV
    has no totals for `batch` to scale."""
    problem = unsupported_option(fmt, layout, depth, batch)
    if problem:
        raise ValueError(problem)
    if fmt == "json":
        from archdsl.backends.report.data import render_json
        return render_json(nets, batch)
    if fmt == "csv":
        from archdsl.backends.report.data import render_csv
        return render_csv(nets, layout, depth, batch)
    if fmt == "html":
        from archdsl.backends.report.markup import render_html
        return render_html(nets, layout, depth, batch, fragment)
    per_net = {
        "table": lambda n: _rich(n, layout, depth, batch, color),
        "text": lambda n: _plain(n, layout, depth, batch),
        "markdown": lambda n: _md(n, layout, depth, batch),
        "latex": lambda n: _tex(n, layout, depth, batch),
    }
    if fmt not in per_net:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return "\n".join(per_net[fmt](n) for n in nets)


def unsupported_option(fmt: str, layout: str = "chw", depth: int | None = None, batch: int = 1) -> str | None:
    """Why `fmt` cannot honour these options, or None when it can."""
    if fmt == "json" and (depth is not None or layout == "hwc"):
        return "json always lists every layer in CxHxW; --depth/--layout apply to tables"
    if fmt == "csv" and batch != 1:
        return "csv has no totals for --batch to scale; use -f json or a table"
    return None


def summary(net, fmt: str = "text", **options) -> str:
    """`Network.summary()`: the table of one network as `fmt`."""
    return render_report([net], fmt, **options)


def notebook_html(net) -> str:
    """`Network._repr_html_()`: the table as an HTML fragment for Jupyter."""
    return render_report([net], "html", fragment=True)


def _rich(net, layout, depth, batch, color):
    from archdsl.backends.report.text import render_table
    return render_table(net, layout, depth, batch, color)


def _plain(net, layout, depth, batch):
    from archdsl.backends.report.text import render_text
    return render_text(net, layout, depth, batch)


def _md(net, layout, depth, batch):
    from archdsl.backends.report.markup import render_markdown
    return render_markdown(net, layout, depth, batch)


def _tex(net, layout, depth, batch):
    from archdsl.backends.report.markup import render_latex
    return render_latex(net, layout, depth, batch)
