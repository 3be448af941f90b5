"""`archdsl check --explain`: the table with one more column, the key step of
each layer's derivation (`out = (227 − 11 + 2·0)/4 + 1 = 55`).

The column is a `Column` of the report backend's column model
(backends/report/columns.py), handed to its renderers with the others, so
every table format gains it the same way; JSON gains every step of every
layer instead."""
from __future__ import annotations

import json

from archdsl.backends.explain.formats import formula_parts
from archdsl.core.explain import Derivation, Topic, derive
from archdsl.core.network import Network

HEADER = "Derivation"
# pdflatex's default UTF-8 set lacks these; a table cell is plain text (archdsl explain -f latex typesets).
_LATEX_PLAIN = str.maketrans({"\u2212": "-", "\u2308": "ceil(", "\u2309": ")", "\u230a": "floor(",
                              "\u230b": ")", "\u00b7": "*", "\u2192": "->"})


def key_text(d: Derivation) -> str:
    """The step a table shows: the output size of a window (per axis where
    they differ), else the parameters, else how channels or features add up."""
    for topic in (Topic.SHAPE, Topic.PARAMS):
        steps = [s for s in d.steps if s.topic == topic and s.term is not None]
        chosen = [s for s in steps if s.dims and s.dims != (0,)] or steps
        if not chosen:
            continue
        groups: dict[str, list] = {}
        for s in chosen:
            groups.setdefault(s.quantity, []).append(s)
        parts = []
        for quantity, group in groups.items():
            text = " = ".join(formula_parts(group[0])[-2:])
            for later in group[1:]:  # ceil mode's dropped last window: out − 1
                text += f" \u2212 1 = {formula_parts(later)[-1]}"
            parts.append(f"{quantity} = {text}")
        return "; ".join(parts)
    return ""


def derivation_column(nets: list[Network], latex: bool = False):
    """A report Column whose cell is each layer's key step (empty for a folded block)."""
    from archdsl.backends.report.columns import Column
    texts = {}
    for net in nets:
        for d in derive(net):
            text = key_text(d)
            texts[net.graph, d.name] = text.translate(_LATEX_PLAIN) if latex else text
    by_node = {}
    for net in nets:
        for node in net.graph.nodes:
            by_node[node] = texts.get((net.graph, node.name), "")

    def cell(row, view):
        return "" if row.folded else by_node.get(row.node, "")

    return Column("derivation", HEADER, cell, cell, "derivation",
                  doc="the key step of the layer's worked derivation (archdsl explain)")


def render_explained(nets: list[Network], fmt: str, layout=None, depth=None, batch: int = 1, color=False,
                     columns: tuple[str, ...] | None = None) -> str:
    """`check --explain` in any format of `check`: the chosen columns plus the derivation."""
    from archdsl.backends.report import markup, text
    from archdsl.backends.report.columns import CSV_DEFAULT, select
    from archdsl.backends.report.data import render_csv
    from archdsl.backends.report.rows import layout_of
    if fmt == "json":
        return _json(nets, batch)
    chosen = select(columns, CSV_DEFAULT) if fmt == "csv" else select(columns)
    chosen = (*chosen, derivation_column(nets, latex=fmt == "latex"))
    if fmt == "csv":
        return render_csv(nets, layout, depth, batch, chosen)
    if fmt == "html":
        return markup.render_html(nets, layout, depth, batch, False, chosen)
    render = {"table": lambda n, lay: text.render_table(n, lay, depth, batch, color, chosen),
              "text": lambda n, lay: text.render_text(n, lay, depth, batch, chosen),
              "markdown": lambda n, lay: markup.render_markdown(n, lay, depth, batch, chosen),
              "latex": lambda n, lay: markup.render_latex(n, lay, depth, batch, chosen)}[fmt]
    return "\n".join(render(n, layout_of(n, layout)) for n in nets)


def _json(nets: list[Network], batch: int) -> str:
    from archdsl.backends.report.data import render_json
    docs = []
    for net in nets:
        doc = json.loads(render_json([net], batch))
        by_name = {d.name: d for d in derive(net)}
        for entry in doc["layers"]:
            d = by_name.get(entry["name"])
            entry["derivation"] = [step_dict(s) for s in d.steps] if d is not None else []
        docs.append(doc)
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, ensure_ascii=False) + "\n"


def step_dict(step) -> dict:
    """One step in JSON: what it derives, the formula with symbols and with numbers, the result."""
    r = step.result
    return {
        "topic": str(step.topic), "quantity": step.quantity,
        "formula": step.term.text(False) if step.term is not None else None,
        "numbers": step.term.text(True) if step.term is not None else None,
        "result": r if isinstance(r, (int, str)) or r is None else float(r),
        "note": step.note or None, "rule": step.rule or None,
    }
