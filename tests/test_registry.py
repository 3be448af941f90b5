"""Every layer kind is complete: it has an example, a receptive-field rule, a
torch emitter, a diagram notation, a volume-drawing decision and a docs row.
A new kind that lacks any of them fails here, by name, before a user meets a
KeyError or a silently wrong figure."""
from __future__ import annotations

import re

import pytest

import archdsl
from archdsl.backends.render.notation import GLYPHS, rule_for
from archdsl.backends.render.volume import DRAWN
from archdsl.backends.torch.emit import EMITTERS
from archdsl.core.ops import MERGES, REGISTRY, Op, base
from archdsl.core.ops.structure import Input
from tests.conftest import ROOT

KINDS = sorted(set(REGISTRY.values()) | set(MERGES.values()), key=lambda cls: cls.keywords[0])
DOCS = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
INPUTS = ("3x32x32", "64", "8x16", "2x8x8x8", "16x32 tokens=true", "8x8x32 tokens=true")


def _ids(cls):
    return cls.keywords[0]


@pytest.mark.parametrize("cls", KINDS, ids=_ids)
def test_has_an_example_that_analyses(cls):
    assert cls.example, f"{cls.__name__} has no example"
    statement = re.sub(r"^[\w, ]+:\s*", "", cls.example)  # `a, b: split 2` names its parts
    assert statement.split()[0] in cls.keywords
    if cls is Input:
        archdsl.loads(f"network N {{ {cls.example} }}")
        return
    for shape in INPUTS:
        try:
            archdsl.loads(f"network N {{ input {shape}\n {cls.example} }}")
            return
        except archdsl.ArchError:
            continue
    pytest.fail(f"the example `{cls.example}` analyses on none of the inputs {INPUTS}")


@pytest.mark.parametrize("cls", KINDS, ids=_ids)
def test_declares_its_receptive_field(cls):
    """The default is UNKNOWN: every kind says what it reads (pointwise, a window, global)."""
    owner = next(c for c in cls.__mro__ if "receptive" in c.__dict__)
    assert owner is not Op, f"{cls.__name__} does not declare its receptive field"


@pytest.mark.parametrize("cls", [c for c in KINDS if c is not Input], ids=_ids)
def test_has_a_torch_emitter(cls):
    assert cls in EMITTERS, f"{cls.__name__} has no torch emitter"


@pytest.mark.parametrize("cls", KINDS, ids=_ids)
def test_has_a_diagram_notation(cls):
    assert rule_for(cls) is not None, f"{cls.__name__} has no notation rule"


@pytest.mark.parametrize("cls", KINDS, ids=_ids)
def test_has_a_volume_drawing_decision(cls):
    assert any(c in DRAWN for c in cls.__mro__), f"{cls.__name__} is not in the volume style's DRAWN table"


@pytest.mark.parametrize("cls", list(MERGES.values()), ids=_ids)
def test_merges_have_a_glyph(cls):
    assert cls in GLYPHS


@pytest.mark.parametrize("keyword", sorted(set(REGISTRY) | set(MERGES)))
def test_has_a_docs_row(keyword):
    heading = re.search(rf"^### .*\b{keyword}\b", DOCS, re.M)
    assert heading or f"`{keyword}`" in DOCS, f"{keyword} is not in docs/language.md"


def test_long_names_come_from_the_attribute_aliases():
    names = base.long_names()
    assert names["kernel"] == "k" and names["stride"] == "s" and names["groups"] == "g"


def test_a_kind_without_an_emitter_is_a_positioned_error(monkeypatch):
    """What registering a kind the torch backend lacks does: an ArchError at the layer."""
    from dataclasses import dataclass

    from archdsl.core.ops.base import POINTWISE

    @dataclass(frozen=True, slots=True)
    class Shiny(Op):
        keywords = ("shiny",)
        example = "shiny"

        def receptive(self, in_shapes):
            return POINTWISE

    monkeypatch.setitem(REGISTRY, "shiny", Shiny)
    net = archdsl.loads("network N {\n  input 3x8x8\n  shiny\n}", "n.arch")
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.build(net)
    assert info.value.message == "shiny is not supported by the torch backend yet"
    assert (info.value.line, info.value.col) == (3, 3)
