"""The analysed network users hold in Python: `archdsl.load(...)` returns one."""
from __future__ import annotations

import importlib

from archdsl.core.analysis import BYTES_FP32, Analysis, Layer, Totals
from archdsl.core.ir import Graph, Node, Scope
from archdsl.core.shapes import Shape
from archdsl.errors import Diagnostic
from archdsl.text import shape_text


class Network:
    """A lowered and analysed network: layers with their figures, totals, warnings."""

    def __init__(self, graph: Graph, analysis: Analysis, warnings: list[Diagnostic],
                 train_sections: tuple = (), allowed: list[Diagnostic] = (), train=None):
        self.graph = graph
        # The spec file's `train { ... }` sections as written (syntax.TrainDef);
        # archdsl.train reads and checks them.
        self.train_sections = tuple(train_sections)
        self.analysis = analysis
        self.warnings = warnings
        self.allowed = list(allowed)  # warnings silenced by `# archdsl: allow CODE`, still on record
        self.train = train  # the checked train { ... } settings (archdsl.train.TrainConfig), or None
        self.layers: list[Layer] = analysis.layers
        self._by_node = {layer.node: layer for layer in self.layers}

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def input_shape(self) -> Shape:
        return self.graph.input.shape

    @property
    def output_shape(self) -> Shape | None:
        return self.graph.output.shape

    @property
    def totals(self) -> Totals:
        return self.analysis.totals

    def subtotal(self, scope: Scope) -> Totals:
        return self.analysis.subtotals[scope]

    def figures(self, node: Node) -> Layer:
        """The figures of one node of the graph."""
        return self._by_node[node]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def totals_dict(self, batch: int = 1) -> dict:
        t = self.totals
        return {
            # trainable_params stays in the contract: every parameter a spec declares is trainable.
            "params": t.params, "trainable_params": t.params, "buffers": t.buffers,
            "macs": t.macs, "flops": t.flops,
            "activation_bytes": t.activation_elements * BYTES_FP32 * batch,
            "param_bytes": t.params * BYTES_FP32,
            # Only networks with attention have these: q @ k^T and attn @ v, apart from `macs`.
            **({"attention_macs": t.attention_macs, "macs_with_attention": t.macs + t.attention_macs}
               if t.attention_macs else {}),
        }

    def to_dict(self, batch: int = 1) -> dict:
        """The JSON contract of `archdsl check --format json` (shapes without the batch)."""
        graph = self.graph
        doc = {
            "network": self.name,
            "input": list(self.input_shape),
            "inputs": [{"name": n.local_name, "shape": list(n.shape), "dtype": getattr(n.op, "dtype", "float")}
                       for n in graph.inputs],
            "outputs": [{"name": name, "layer": n.name, "shape": list(n.shape) if n.shape else None}
                        for name, n in zip(graph.output_names, graph.outputs, strict=True)],
            "layers": [layer.to_dict() for layer in self.layers],
            "totals": self.totals_dict(batch),
            "warnings": [w.to_dict() for w in self.warnings],
            "allowed_warnings": [w.to_dict() for w in self.allowed],
        }
        if self.train is not None:
            doc["train"] = self.train.to_dict()
        return doc

    def summary(self, fmt: str = "text", **options) -> str:
        """The table as text; `fmt` is any `archdsl check --format`."""
        return _present("summary", self, fmt, **options)

    def __repr__(self) -> str:
        return (f"<Network {self.name}: {shape_text(self.input_shape)} -> "
                f"{shape_text(self.output_shape)}, {self.totals.params:,} params, "
                f"{self.totals.macs:,} MACs>")

    def _repr_html_(self) -> str:
        """The table, for Jupyter."""
        return _present("html", self)

    def _repr_svg_(self) -> str:
        """The volume-style figure, for Jupyter (pure Python; no Graphviz needed)."""
        return _present("svg", self)


# How a network presents itself (summary, notebook HTML and SVG) is the
# backends' business: the public package fills this table with where each
# presenter lives ("module:function"), so the core never imports a backend.
PRESENTERS: dict[str, str] = {}


def _present(kind: str, net: Network, *args, **options) -> str:
    module, _, function = PRESENTERS[kind].partition(":")
    return getattr(importlib.import_module(module), function)(net, *args, **options)
