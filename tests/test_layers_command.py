"""`archdsl layers`: every kind, one kind by keyword or alias, defaults written
as a spec writes them, and a did-you-mean for a kind that does not exist."""
from __future__ import annotations

import re

import pytest

from archdsl.cli.layers import spec_value
from archdsl.core.ops import REGISTRY


@pytest.fixture
def layers(cli):
    return lambda *argv: cli("layers", *argv)


def test_lists_every_kind_once(layers):
    code, out, _ = layers()
    assert code == 0
    headings = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    kinds = {cls for cls in REGISTRY.values()}
    assert len(headings) == len(kinds)
    assert "fc | linear | dense" in headings


def test_no_python_spellings(layers):
    _, out, _ = layers()
    assert not re.search(r"\b(None|True|False)\b", out)
    assert "1e-05" not in out
    for line in out.splitlines():
        if line.startswith("    "):  # an attribute ends with `required`, `default: v` or `key=...`
            assert re.search(r"; (required|default: \S+|key=\w+)$", line), line


def test_defaults_read_like_a_spec(layers):
    _, out, _ = layers("bn", "conv", "maxpool")
    assert "eps: added to the variance; key=eps; default: 1e-5" in out
    assert "affine: learn a per-channel scale and shift; key=affine; default: true" in out
    assert "bias: add a learned bias; key=bias; default: true" in out
    assert "ceil (also ceil_mode): round the output size up (PyTorch's ceil_mode); key=ceil; default: false" in out
    assert "round (also rounding): floor, ceil" in out
    # a None default whose doc already explains it adds nothing
    assert "stride (default: the window size, as in PyTorch); key=s\n" in out


@pytest.mark.parametrize("name", ["conv", "linear", "dense", "FC", "batchnorm"])
def test_one_kind_by_keyword_or_alias(name, layers):
    code, out, _ = layers(name)
    assert code == 0
    heading = out.splitlines()[0]
    assert name.lower() in heading.split(":")[0].split(" | ")
    assert sum(1 for line in out.splitlines() if not line.startswith(" ")) == 1


def test_a_kind_named_twice_prints_once(layers):
    _, out, _ = layers("fc", "linear")
    assert out.count("fc | linear | dense:") == 1


def test_unknown_kind_is_a_usage_error_with_a_suggestion(layers):
    code, out, err = layers("cnv")
    assert code == 2 and out == ""
    assert "unknown layer kind 'cnv'; did you mean 'conv'" in err


def test_unknown_kind_without_a_close_match(layers):
    code, _, err = layers("xyzzy")
    assert code == 2
    assert "unknown layer kind 'xyzzy'; `archdsl layers` lists them all" in err


@pytest.mark.parametrize("value, text", [
    (None, "none"), (True, "true"), (False, "false"), (1e-05, "1e-5"), (1e20, "1e20"), (0.1, "0.1"),
    (1.0, "1.0"), (3, "3"), ((2, 2), "2x2"), ("same", "same"),
])
def test_spec_value(value, text):
    assert spec_value(value) == text
