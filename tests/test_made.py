"""The lowering's memo of layers already made (lowering/made.py) changes how
fast a network is lowered, never what comes out: every spec of the gallery,
the stdlib examples, the error corpus and a thousand generated and mutated
specs give the same layers, figures and diagnostics with it and without it."""
from __future__ import annotations

import random

import pytest

import archdsl
from archdsl.lowering import layers
from archdsl.lowering.stdlib import STDLIB

from .conftest import GALLERY, ROOT
from .fuzzing import generated_spec, mutate_tokens


def _outcome(text: str, base):
    """Everything a user sees of a spec: each layer's entry, totals and warnings, or the errors."""
    try:
        nets = archdsl.loads_all(text, "t.arch", base=base)
    except archdsl.ArchError as exc:
        return "error", [d.format() for d in exc.diagnostics]
    return "ok", [([layer.to_dict() for layer in net.layers], repr(net.totals),
                   [d.format() for d in net.warnings]) for net in nets]


def _texts():
    specs = [(p.read_text(encoding="utf-8"), p.parent) for p in GALLERY]
    texts = specs + [(p.read_text(encoding="utf-8"), p.parent) for p in sorted(STDLIB.glob("*.arch"))]
    texts += [(p.read_text(encoding="utf-8", errors="replace"), p.parent)
              for p in sorted((ROOT / "tests" / "errors").glob("*.arch"))]
    rng = random.Random(17)
    texts += [(generated_spec(rng), None) for _ in range(700)]
    texts += [(mutate_tokens(rng.choice(specs)[0], rng), ROOT / "specs") for _ in range(300)]
    return texts


def test_lowering_with_the_memo_is_lowering_without_it(monkeypatch):
    texts = _texts()
    with_memo = [_outcome(text, base) for text, base in texts]
    monkeypatch.setattr(layers, "literal_key", lambda *args: None)
    without = [_outcome(text, base) for text, base in texts]
    for (text, _), a, b in zip(texts, with_memo, without, strict=True):
        assert a == b, text
    assert sum(kind == "ok" for kind, _ in with_memo) > 100  # the corpus exercises both outcomes


@pytest.mark.parametrize("spec", ["specs/resnet50.arch", "benchmarks/specs/resnet152.arch", "specs/vit_b_16.arch"])
def test_the_memo_serves_most_layers_of_deep_networks(spec, monkeypatch):
    made = []
    original = layers.LayerStatements.lower_layer

    def spy(self, *args, **kwargs):
        made.append(len(self.made))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(layers.LayerStatements, "lower_layer", spy)
    archdsl.load(ROOT / spec)
    assert made[-1] < len(made) / 2  # fewer distinct layers kept than layers lowered
