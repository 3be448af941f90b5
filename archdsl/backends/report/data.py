"""Machine-readable output: JSON (a documented contract) and CSV."""
from __future__ import annotations

import csv
import io
import json

from archdsl.backends.report.rows import table_rows
from archdsl.core.network import Network
from archdsl.text import dims_text, shape_text


def render_json(nets: list[Network], batch: int = 1) -> str:
    docs = [n.to_dict(batch) for n in nets]
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"


def render_csv(nets: list[Network], layout="chw", depth=None, batch=1) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["network", "index", "name", "op", "hyper", "output_shape", "params", "buffers",
                     "macs", "receptive_field"])
    for net in nets:
        for row in table_rows(net, depth):
            writer.writerow([net.name, row.index, row.name, row.op, row.hyper,
                             shape_text(row.output_shape, layout) if row.output_shape else "", row.params, row.buffers,
                             row.macs, dims_text(row.receptive_field) if row.receptive_field else ""])
    return buffer.getvalue()
