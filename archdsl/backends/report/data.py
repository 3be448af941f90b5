"""Machine-readable output: JSON (a documented contract) and CSV."""
from __future__ import annotations

import csv
import io
import json

from archdsl.backends.report.columns import (
    CSV_DEFAULT,
    Column,
    View,
    neurons,
    total_neurons,
    weight_layer_count,
    weight_shape,
)
from archdsl.backends.report.rows import layout_of, table_rows
from archdsl.core.network import Network


def render_json(nets: list[Network], batch: int = 1) -> str:
    docs = [_with_lecture_figures(n, n.to_dict(batch)) for n in nets]
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"


def _with_lecture_figures(net: Network, doc: dict) -> dict:
    """JSON has every figure a table column can show: each layer's weight shape
    (kh x kw x Cin x Cout, null for layers without weights) and neurons, and
    their totals (the number of weight layers, the neurons)."""
    for entry, layer in zip(doc["layers"], net.layers, strict=True):
        shape = weight_shape(layer)
        entry["weight_shape"] = list(shape) if shape else None
        entry["neurons"] = neurons(layer)
    doc["totals"]["weight_layers"] = weight_layer_count(net)
    doc["totals"]["neurons"] = total_neurons(net)
    return doc


def render_csv(nets: list[Network], layout=None, depth=None, batch=1,
               columns: tuple[Column, ...] = CSV_DEFAULT) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["network", *(c.csv for c in columns)])
    for net in nets:
        view = View(layout_of(net, layout), batch)
        for row in table_rows(net, depth):
            writer.writerow([net.name, *(c.value(row, view) for c in columns)])
    return buffer.getvalue()
