"""Worked derivations: every layer's output size, parameters, MACs and
receptive field with the numbers filled in, as the lecture notes write them
(`out = (227 − 11 + 2·0)/4 + 1 = 55`). `derive(net)` gives the steps; the
formats (text, Markdown, LaTeX) are in archdsl/backends/explain.
"""
from __future__ import annotations

import fnmatch

from archdsl.core.analysis import receptive_fields
from archdsl.core.explain.receptive import rf_steps
from archdsl.core.explain.rules import RULES, rule_for
from archdsl.core.explain.steps import Derivation, Step, Topic
from archdsl.core.ir import Node
from archdsl.core.network import Network


def derive_layer(node: Node, fields) -> Derivation:
    """The derivation of one node (its kind's rule, then the receptive-field step)."""
    rule = rule_for(type(node.op))
    steps = list(rule(node)) if rule is not None else []
    steps += rf_steps(node, fields)
    scope = node.scope.block()
    notes = [f"in {scope.label}"] if scope is not None else []
    return Derivation(node.name, node.keyword, node.span.text() or node.keyword, node.in_shapes, node.shape,
                      steps, notes)


def derive(net: Network, names: list[str] | None = None) -> list[Derivation]:
    """Derivations of every layer, or of the layers `names` match (exact
    names or shell patterns such as `inception3a.*`)."""
    fields = receptive_fields(net.graph)
    nodes = [n for n in net.graph.nodes if n.op is not None and n.shape is not None]
    if names:
        nodes = [n for n in nodes if any(n.name == p or fnmatch.fnmatchcase(n.name, p) for p in names)]
    return [derive_layer(n, fields) for n in nodes]


def unmatched(net: Network, names: list[str]) -> list[str]:
    """The names (or patterns) that match no layer of `net`."""
    layer_names = [n.name for n in net.graph.nodes]
    return [p for p in names if not any(n == p or fnmatch.fnmatchcase(n, p) for n in layer_names)]


def key_step(d: Derivation) -> Step | None:
    """The one step a table column shows: the output size of a window, else
    the parameters of a layer that has them, else how channels or features add up."""
    for topic in (Topic.SHAPE, Topic.PARAMS):
        steps = [s for s in d.steps if s.topic == topic and s.term is not None]
        if steps:
            return steps[-1] if topic == Topic.SHAPE and steps[-1].symbolic is False else steps[0]
    return None


__all__ = ["Derivation", "RULES", "Step", "Topic", "derive", "derive_layer", "key_step", "rule_for", "unmatched"]
