"""The lecture columns of `archdsl check --columns`: the weight shape
(kh×kw×Cin×Cout), neurons (the outputs of each weight layer, as the AlexNet
paper counts), per-layer memory, and the weight-layer count; goldens in every
table format, figures from the papers, and rows that add up to the totals."""
from __future__ import annotations

import json
import re
from math import prod

import pytest

import archdsl
from archdsl.backends.report import FORMATS, render_report
from archdsl.backends.report.columns import (
    ColumnsError,
    activations,
    neurons,
    parse_columns,
    select,
    total_neurons,
    weight_layer_count,
    weight_shape,
)
from archdsl.backends.report.rows import table_rows

from .conftest import GALLERY, SPECS

EXT = {"table": "table", "text": "txt", "markdown": "md", "latex": "tex", "csv": "csv", "html": "html"}
LECTURE = "+weights,+neurons,+memory"


@pytest.fixture(autouse=True)
def _plain(plain):
    pass


@pytest.fixture
def check(cli):
    return lambda *argv: cli("check", *argv)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "json"])
def test_lecture_columns_golden(fmt, check, golden):
    code, out, err = check("specs/alexnet.arch", "--columns", LECTURE, "-f", fmt)
    assert code == 0, err
    golden(f"check/columns/alexnet_lecture.{EXT[fmt]}", out)


@pytest.mark.parametrize("name, argv", [
    ("vgg16_depth0_weights", ["specs/vgg16.arch", "--depth", "0", "--columns", "name,weights,output,params",
                              "-f", "text"]),
    ("alexnet_hwc_weights_md", ["specs/alexnet_hwc.arch", "--columns", "+weights,+neurons,-rf", "-f", "markdown"]),
    ("googlenet_depth1_weights", ["specs/googlenet.arch", "--depth", "1", "--columns", "+weights,+neurons",
                                  "-f", "text"]),
])
def test_column_option_golden(name, argv, check, golden):
    code, out, err = check(*argv)
    assert code == 0, err
    ext = {"markdown": "md", "csv": "csv"}.get(argv[argv.index("-f") + 1], "txt")
    golden(f"check/columns/{name}.{ext}", out)


GENERATOR = """network Generator {
  input 100x1x1
  convtranspose 256 k=4 bias=false; bn; relu
  convtranspose 128 k=4 s=2 p=1 g=2 bias=false; bn; relu
  convtranspose 3 k=4 s=2 p=1
  tanh
}
"""


def test_transposed_convs_in_csv_golden(tmp_path, check, golden):
    spec = tmp_path / "generator.arch"
    spec.write_text(GENERATOR, encoding="utf-8")
    code, out, err = check(str(spec), "--columns", "+weights,+neurons,+memory", "--batch", "64", "-f", "csv")
    assert code == 0, err
    golden("check/columns/generator_weights.csv", out)


# -- the figures the lecture notes quote ---------------------------------------------------

def test_alexnet_weights_and_neurons_as_the_notes_write_them():
    net = archdsl.load(SPECS / "alexnet.arch")
    shapes = {layer.name: weight_shape(layer) for layer in net.layers if weight_shape(layer)}
    assert shapes == {
        "conv1": (11, 11, 3, 96), "conv2": (5, 5, 96, 256), "conv3": (3, 3, 256, 384),
        "conv4": (3, 3, 384, 384), "conv5": (3, 3, 384, 256),
        "fc6": (9216, 4096), "fc7": (4096, 4096), "fc8": (4096, 1000),
    }
    assert weight_layer_count(net) == 8
    # The paper's "650,000 neurons": the outputs of the five convs and three fc layers.
    assert [neurons(layer) for layer in net.layers if neurons(layer)] == \
        [290_400, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000]
    assert total_neurons(net) == 659_272
    text = net.summary("text", columns=("+weights", "+neurons"))
    assert "11×11×3×96" in text and re.search(r"Weight layers \(conv, fc\) +8\n", text)
    assert "659,272 (659K)" in text


@pytest.mark.parametrize("spec, layers", [("vgg16", 16), ("alexnet", 8), ("lenet5", 5), ("resnet50", 54)])
def test_weight_layers(spec, layers):
    """VGG's "16 weight layers"; ResNet-50 counts its four projection convs too (53 + fc)."""
    assert weight_layer_count(archdsl.load(SPECS / f"{spec}.arch")) == layers


def test_grouped_depthwise_and_transposed_weights():
    net = archdsl.loads("network N {\n  input 32x16x16\n  dw: conv 32 k=3 p=1 g=32\n  gc: conv 64 k=1 g=4\n"
                        "  up: convtranspose 16 k=4 s=2 p=1 g=2\n  flatten\n  fc 10\n}\n")
    assert weight_shape(net.layer("dw")) == (3, 3, 1, 32)
    assert weight_shape(net.layer("gc")) == (1, 1, 8, 64)
    assert weight_shape(net.layer("up")) == (4, 4, 32, 16)
    assert weight_shape(net.layer("fc1")) == (16 * 32 * 32, 10)


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_weight_shapes_count_the_weights(spec):
    """The product of a weight shape is the layer's parameters less its bias."""
    for net in archdsl.load_all(spec):
        for layer in net.layers:
            shape = weight_shape(layer)
            if shape is not None:
                bias = layer.params - prod(shape)
                assert bias in (0, shape[-1]), layer.name


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_folded_rows_add_up_to_the_lecture_totals(spec):
    for net in archdsl.load_all(spec):
        for depth in (None, 0, 1):
            rows = table_rows(net, depth)
            assert sum(r.neurons if r.folded else neurons(r) for r in rows) == total_neurons(net)
            assert sum(r.activations if r.folded else activations(r) for r in rows) == \
                net.totals.activation_elements


def test_memory_column_is_the_activation_memory_per_layer(check):
    code, out, _ = check("specs/lenet_mnist.arch", "--columns", "name,memory", "--batch", "2", "-f", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "network,name,memory_bytes"
    assert lines[1] == "LeNet,input,0" and lines[2] == "LeNet,conv1,125440"  # 20x28x28 x 4 bytes x 2
    total = sum(int(line.rsplit(",", 1)[1]) for line in lines[1:])
    net = archdsl.load(SPECS / "lenet_mnist.arch")
    assert total == net.to_dict(batch=2)["totals"]["activation_bytes"]


def test_json_has_every_figure(check):
    code, out, _ = check("specs/alexnet.arch", "-f", "json")
    doc = json.loads(out)
    assert doc["totals"]["weight_layers"] == 8 and doc["totals"]["neurons"] == 659_272
    conv1 = doc["layers"][1]
    assert conv1["weight_shape"] == [11, 11, 3, 96] and conv1["neurons"] == 290_400
    assert doc["layers"][2]["weight_shape"] is None and doc["layers"][2]["neurons"] == 0


# -- choosing columns --------------------------------------------------------------------

def test_plus_adds_in_place_minus_drops_a_list_is_exact():
    keys = lambda spec: [c.key for c in select(parse_columns(spec))]  # noqa: E731
    assert keys("+weights,+memory") == ["index", "name", "op", "hyper", "weights", "output", "memory", "params",
                                        "macs", "rf"]
    assert keys("-rf,-macs") == ["index", "name", "op", "hyper", "output", "params"]
    assert keys("output, NAME,kernel") == ["output", "name", "hyper"]
    assert keys("+mem,+weight_shape") == keys("+memory,+weights")


@pytest.mark.parametrize("spec, message", [
    ("+wieghts", "unknown column 'wieghts'; did you mean 'weights'?"),
    ("name,+weights", "either a list of columns or +/- changes to the defaults, not both"),
    ("", "--columns needs column names"),
])
def test_bad_columns(spec, message):
    with pytest.raises(ColumnsError, match=message.replace("?", r"\?").replace("+", r"\+")):
        parse_columns(spec)


def test_removing_every_column_is_refused():
    with pytest.raises(ColumnsError, match="removes every column"):
        select(parse_columns(",".join(f"-{k}" for k in ("index", "name", "op", "hyper", "output", "params", "macs",
                                                          "rf"))))


@pytest.mark.parametrize("argv, message", [
    (["--columns", "+wieghts"], "did you mean 'weights'?"),
    (["--columns", "+weights", "-f", "json"], "json always has every figure"),
    (["-f", "csv", "--batch", "4"], "csv has no totals for --batch to scale"),
])
def test_columns_usage_errors(argv, message, check):
    code, out, err = check("specs/lenet_mnist.arch", *argv)
    assert code == 2 and out == "" and message in err


def test_the_defaults_are_unchanged():
    net = archdsl.load(SPECS / "alexnet.arch")
    for fmt in ("text", "markdown", "latex", "csv", "html"):
        assert render_report([net], fmt) == render_report([net], fmt, columns=None)
    assert "Weights" not in render_report([net], "text") and "Weight layers" not in render_report([net], "text")
