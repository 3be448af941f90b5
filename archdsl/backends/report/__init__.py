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


def render_report(nets, fmt: str = "text", layout: str | None = None, depth: int | None = None,
                  batch: int = 1, fragment: bool = False, color: bool | None = None,
                  columns: tuple[str, ...] | None = None) -> str:
    """Render analysed networks as `fmt` (one of FORMATS).

    `layout` None prints each network in its spec's layout (`layout hwc`),
    else channels first. `columns` are `--columns` items (`("+weights",
    "+neurons")`, or a list such as `("name", "output", "params")`; see
    columns.py), applied to the format's default columns.

    Raises ValueError for an option the format cannot honour, rather than
    ignoring it: JSON always lists every layer and figure in CxHxW (a
    contract), and CSV has no totals for `batch` to scale (but a memory
    column)."""
    from archdsl.backends.report.columns import CSV_DEFAULT, parse_columns, select, with_attention
    if isinstance(columns, str):
        columns = parse_columns(columns)
    problem = unsupported_option(fmt, layout, depth, batch, columns)
    if problem:
        raise ValueError(problem)
    if fmt == "json":
        from archdsl.backends.report.data import render_json
        return render_json(nets, batch)
    if fmt == "csv":
        from archdsl.backends.report.data import render_csv
        chosen = select(columns, CSV_DEFAULT)
        return render_csv(nets, layout, depth, batch, chosen if columns else with_attention(chosen, nets))
    chosen = select(columns) if columns else with_attention(select(columns), nets)
    if fmt == "html":
        from archdsl.backends.report.markup import render_html
        return render_html(nets, layout, depth, batch, fragment, chosen)
    per_net = {
        "table": lambda n, lay: _rich(n, lay, depth, batch, color, chosen),
        "text": lambda n, lay: _plain(n, lay, depth, batch, chosen),
        "markdown": lambda n, lay: _md(n, lay, depth, batch, chosen),
        "latex": lambda n, lay: _tex(n, lay, depth, batch, chosen),
    }
    if fmt not in per_net:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    from archdsl.backends.report.rows import layout_of
    return "\n".join(per_net[fmt](n, layout_of(n, layout)) for n in nets)


def unsupported_option(fmt: str, layout: str | None = None, depth: int | None = None, batch: int = 1,
                       columns=None) -> str | None:
    """Why `fmt` cannot honour these options, or None when it can."""
    if fmt == "json" and (depth is not None or layout == "hwc"):
        return "json always lists every layer in CxHxW; --depth/--layout apply to tables"
    if fmt == "json" and columns:
        return "json always has every figure (weight shapes and neurons included); --columns applies to tables"
    memory = columns is not None and any(c.lstrip("+") in ("memory", "mem") for c in columns if c[:1] != "-")
    if fmt == "csv" and batch != 1 and not memory:
        return "csv has no totals for --batch to scale; use -f json or a table (or --columns +memory)"
    return None


def summary(net, fmt: str = "text", **options) -> str:
    """`Network.summary()`: the table of one network as `fmt`."""
    return render_report([net], fmt, **options)


def notebook_html(net) -> str:
    """`Network._repr_html_()`: the table as an HTML fragment for Jupyter."""
    return render_report([net], "html", fragment=True)


def _rich(net, layout, depth, batch, color, columns):
    from archdsl.backends.report.text import render_table
    return render_table(net, layout, depth, batch, color, columns)


def _plain(net, layout, depth, batch, columns):
    from archdsl.backends.report.text import render_text
    return render_text(net, layout, depth, batch, columns)


def _md(net, layout, depth, batch, columns):
    from archdsl.backends.report.markup import render_markdown
    return render_markdown(net, layout, depth, batch, columns)


def _tex(net, layout, depth, batch, columns):
    from archdsl.backends.report.markup import render_latex
    return render_latex(net, layout, depth, batch, columns)
