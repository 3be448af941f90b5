"""Golden outputs of `archdsl check`: every format for every gallery spec, and
the options that change what is printed. `pytest --update-golden` rewrites the
files under tests/golden/check/; review the diff like code."""
from __future__ import annotations

import json
import re
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

import archdsl
from archdsl.backends.report import FORMATS, render_report
from archdsl.backends.report.rows import table_rows
from archdsl.text import count_text, count_with_rounding, human_bytes, wrap_words

from .conftest import GALLERY, ROOT, SPECS

EXT = {"table": "table", "text": "txt", "markdown": "md", "latex": "tex", "csv": "csv",
       "json": "json", "html": "html"}


@pytest.fixture(autouse=True)
def _plain(plain):
    pass  # goldens hold what a pipe receives


@pytest.fixture
def check(cli):
    return lambda *argv: cli("check", *argv)


def test_every_format_has_an_extension():
    assert set(EXT) == set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_gallery_golden(spec, fmt, check, golden):
    code, out, _ = check(f"specs/{spec.name}", "-f", fmt)
    assert code == 0
    golden(f"check/{spec.stem}.{EXT[fmt]}", out)


@pytest.mark.parametrize("name, argv", [
    ("alexnet_hwc", ["specs/alexnet.arch", "--layout", "hwc", "-f", "text"]),
    ("alexnet_hwc_csv", ["specs/alexnet.arch", "--layout", "hwc", "-f", "csv"]),
    ("resnet50_depth0", ["specs/resnet50.arch", "--depth", "0", "-f", "text"]),
    ("resnet50_depth1", ["specs/resnet50.arch", "--depth", "1", "-f", "text"]),
    ("vgg16_depth0_tex", ["specs/vgg16.arch", "--depth", "0", "-f", "latex"]),
    ("lenet5_textcnn_text", ["specs/lenet5.arch", "specs/textcnn.arch", "-f", "text"]),
    ("googlenet_depth0_md", ["specs/googlenet.arch", "--depth", "0", "-f", "markdown"]),
    ("googlenet_depth1", ["specs/googlenet.arch", "--depth", "1", "-f", "text"]),
    ("vgg16_batch8", ["specs/vgg16.arch", "--batch", "8", "-f", "text"]),
    ("vgg16_batch8_json", ["specs/vgg16.arch", "--batch", "8", "-f", "json"]),
    ("lenet_mnist_input_32", ["specs/lenet_mnist.arch", "--input", "1x32x32", "-f", "text"]),
    ("two_specs_json", ["specs/lenet5.arch", "specs/lenet_mnist.arch", "-f", "json"]),
    ("two_specs_text", ["specs/lenet5.arch", "specs/lenet_mnist.arch", "-f", "text"]),
])
def test_option_golden(name, argv, check, golden):
    code, out, _ = check(*argv)
    assert code == 0
    ext = {"json": "json", "csv": "csv", "markdown": "md", "latex": "tex"}.get(argv[argv.index("-f") + 1], "txt")
    golden(f"check/options/{name}.{ext}", out)


def test_alexnet_224_warning_goes_to_stderr(check, golden):
    code, out, err = check("specs/alexnet.arch", "--input", "3x224x224", "-f", "csv")
    assert code == 0
    assert "(224 - 11 + 0)/4 + 1 = 54.25" in err
    assert "warning" not in out
    golden("check/options/alexnet_224.stderr", err)
    code, _, _ = check("specs/alexnet.arch", "--input", "3x224x224", "-f", "csv", "--strict")
    assert code == 1


LAYER_KEYS = {"index", "name", "op", "block", "output_shape", "params", "buffers", "macs",
              "receptive_field", "hyper", "effective_stride", "inputs", "weight_shape", "neurons"}
TOTAL_KEYS = {"params", "trainable_params", "buffers", "macs", "flops", "activation_bytes", "param_bytes",
              "weight_layers", "neurons"}
DOC_KEYS = {"network", "input", "inputs", "outputs", "layers", "totals", "warnings", "allowed_warnings"}


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_json_contract(spec, check):
    code, out, _ = check(str(spec.relative_to(ROOT)), "-f", "json")
    assert code == 0
    doc = json.loads(out)
    docs = doc if isinstance(doc, list) else [doc]
    for d in docs:
        assert set(d) - {"train"} == DOC_KEYS
        assert isinstance(d["network"], str) and all(isinstance(v, int) for v in d["input"])
        # attention's matmuls are reported apart, only where a network has attention
        assert TOTAL_KEYS <= set(d["totals"]) <= TOTAL_KEYS | {"attention_macs", "macs_with_attention"}
        assert d["totals"]["flops"] == 2 * d["totals"]["macs"]
        assert [layer["index"] for layer in d["layers"]] == list(range(len(d["layers"])))
        for layer in d["layers"]:
            # token and attention layers say which axes they hold, and what attention keeps and costs
            assert LAYER_KEYS <= set(layer) <= LAYER_KEYS | {"output_axes", "attention_macs", "intermediates"}
            assert isinstance(layer["output_shape"], list)  # without the batch
        assert d["layers"][0]["op"] == "input" and d["layers"][0]["output_shape"] == d["input"]
        assert sum(layer["params"] for layer in d["layers"]) == d["totals"]["params"]
        for w in d["warnings"]:
            assert {"severity", "message", "file", "line", "col", "notes", "hint"} <= set(w)


def test_json_lists_several_networks(check):
    code, out, _ = check("specs/lenet5.arch", "specs/alexnet.arch", "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert [d["network"] for d in doc] == ["LeNet5", "AlexNet"]


def test_json_batch_scales_memory_only(check):
    _, one, _ = check("specs/lenet_mnist.arch", "-f", "json")
    _, eight, _ = check("specs/lenet_mnist.arch", "-f", "json", "--batch", "8")
    one, eight = json.loads(one), json.loads(eight)
    assert eight["totals"]["activation_bytes"] == 8 * one["totals"]["activation_bytes"]
    assert eight["totals"]["param_bytes"] == one["totals"]["param_bytes"]
    assert eight["layers"] == one["layers"]


def test_input_override_changes_shapes(check):
    _, out, _ = check("specs/lenet_mnist.arch", "-f", "json", "--input", "1x32x32")
    doc = json.loads(out)
    assert doc["input"] == [1, 32, 32]
    assert doc["layers"][1]["output_shape"] == [20, 32, 32]


def test_hwc_layout_prints_lecture_order(check):
    _, out, _ = check("specs/alexnet.arch", "-f", "text", "--layout", "hwc")
    assert "55x55x96" in out and "96x55x55" not in out
    assert "Output (HxWxC)" in out


def test_output_file_is_written(tmp_path, check):
    target = tmp_path / "t.md"
    code, out, _ = check("specs/lenet_mnist.arch", "-f", "markdown", "-o", str(target))
    assert code == 0 and out == ""
    assert "| " in target.read_text(encoding="utf-8")


# -- several specs: one bad spec must not hide the good ones ---------------------

BAD = "network Bad {\n  input 3x8x8\n  conv 4 k=11\n}\n"


@pytest.mark.parametrize("bad_first", [False, True])
def test_a_bad_spec_does_not_hide_the_good_ones(tmp_path, check, bad_first):
    bad = tmp_path / "bad.arch"
    bad.write_text(BAD, encoding="utf-8")
    specs = ["specs/lenet_mnist.arch", str(bad)]
    code, out, err = check(*(specs[::-1] if bad_first else specs), "-f", "text")
    assert code == 1
    assert out.startswith("LeNet: input 1x28x28") and "Parameters" in out
    assert "bad.arch:3:3: error: conv output height and width collapse below 1" in err
    assert "Bad" not in out


def test_output_file_is_all_or_nothing(tmp_path, check):
    bad = tmp_path / "bad.arch"
    bad.write_text(BAD, encoding="utf-8")
    target = tmp_path / "t.md"
    code, out, err = check("specs/lenet_mnist.arch", str(bad), "-o", str(target))
    assert code == 1 and out == ""
    assert not target.exists()
    assert f"nothing written to {target}: 1 of 2 specs failed" in err


def test_missing_spec_is_a_usage_error_before_any_output(check):
    code, out, err = check("specs/lenet_mnist.arch", "specs/nope.arch", "-f", "text")
    assert code == 2 and out == ""
    assert "specs/nope.arch: no such file" in err


# -- the Output header follows the input's rank ----------------------------------

@pytest.mark.parametrize("shape, chw, hwc", [
    ("784", "Output", "Output"),
    ("300x50", "Output (CxL)", "Output (LxC)"),
    ("1x28x28", "Output (CxHxW)", "Output (HxWxC)"),
    ("1x8x28x28", "Output (CxDxHxW)", "Output (DxHxWxC)"),
])
@pytest.mark.parametrize("fmt", ["text", "table", "markdown", "latex", "html"])
def test_output_header_follows_the_input_rank(shape, chw, hwc, fmt):
    net = archdsl.loads(f"network N {{\n  input {shape}\n  relu\n}}\n")
    for layout, header in (("chw", chw), ("hwc", hwc)):
        text = render_report([net], fmt, layout=layout)
        assert header in text
        assert re.search(r"Output \((?!" + re.escape(header[8:-1] or "-") + r"\))", text) is None


def test_each_network_gets_its_own_header(check):
    _, out, _ = check("specs/lenet5.arch", "specs/textcnn.arch", "-f", "text")
    assert out.count("Output (CxHxW)") == 1 and out.count("Output (CxL)") == 1
    assert out.index("Output (CxHxW)") < out.index("Output (CxL)")


# -- options a format cannot honour are usage errors, never ignored ---------------

@pytest.mark.parametrize("argv, message", [
    (["-f", "json", "--depth", "1"], "json always lists every layer in CxHxW; --depth/--layout apply to tables"),
    (["-f", "json", "--layout", "hwc"], "json always lists every layer in CxHxW"),
    (["-f", "csv", "--batch", "8"], "csv has no totals for --batch to scale"),
    (["--depth", "-1"], "expected 0 or more levels"),
])
def test_options_a_format_ignores_are_usage_errors(argv, message, check):
    code, out, err = check("specs/lenet_mnist.arch", *argv)
    assert code == 2 and out == ""
    assert message in err


def test_json_options_from_an_inferred_format_are_refused_too(tmp_path, check):
    target = tmp_path / "t.json"
    code, _, err = check("specs/lenet_mnist.arch", "-o", str(target), "--depth", "0")
    assert code == 2 and "json always lists every layer" in err
    assert not target.exists()


def test_json_keeps_layout_chw_and_batch(check):
    code, out, _ = check("specs/lenet_mnist.arch", "-f", "json", "--layout", "chw", "--batch", "2")
    assert code == 0 and json.loads(out)["input"] == [1, 28, 28]


def test_the_library_refuses_them_as_well():
    net = archdsl.load(SPECS / "lenet_mnist.arch")
    with pytest.raises(ValueError, match="json always lists every layer"):
        net.summary("json", depth=0)


# -- -o picks the format from the extension ---------------------------------------

@pytest.mark.parametrize("name, marker", [
    ("t.md", "| # | Layer |"),
    ("t.markdown", "| # | Layer |"),
    ("t.tex", r"\begin{tabular}"),
    ("t.csv", "network,index,name"),
    ("t.json", '"network": "LeNet"'),
    ("t.html", "<!DOCTYPE html>"),
    ("t.HTM", "<!DOCTYPE html>"),
    ("t.txt", "LeNet: input 1x28x28\n---"),
    ("table.out", "LeNet: input 1x28x28\n---"),  # unknown extension: plain text, no box drawing
])
def test_output_format_follows_the_extension(name, marker, tmp_path, check):
    target = tmp_path / name
    code, out, _ = check("specs/lenet_mnist.arch", "-o", str(target))
    assert code == 0 and out == ""
    text = target.read_text(encoding="utf-8")
    assert marker in text
    assert "─" not in text and "\033" not in text


def test_an_explicit_format_wins_over_the_extension(tmp_path, check):
    target = tmp_path / "t.md"
    code, _, _ = check("specs/lenet_mnist.arch", "-o", str(target), "-f", "csv")
    assert code == 0 and target.read_text(encoding="utf-8").startswith("network,index,name")


def test_stdout_defaults_to_the_terminal_table(check):
    _, out, _ = check("specs/lenet_mnist.arch")
    assert "─" in out


# -- numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("n, text", [
    (0, "0"), (144, "144"), (999, "999"), (1_000, "1.00K"), (21_024, "21.0K"), (34_944, "34.9K"),
    (999_499, "999K"), (999_500, "1.00M"), (4_089_184_256, "4.09G"), (25_557_032, "25.6M"),
    (640_000_020_000_000_000, "640P"), (5 * 10 ** 18, "5.00E"), (5 * 10 ** 21, "5000E"),
])
def test_count_text_has_three_significant_figures(n, text):
    """One rounding everywhere: tables, diagrams and messages."""
    assert count_text(n) == text


@pytest.mark.parametrize("n, text", [
    (512, "512 B"), (1536, "1.50 KiB"), (16 * 2 ** 30, "16.00 GiB"), (3 * 2 ** 50, "3.00 PiB"),
    (2 ** 62, "4.00 EiB"), (2 ** 72, "4096.00 EiB"),
])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_small_totals_print_no_redundant_rounding():
    assert count_with_rounding(144) == "144"
    assert count_with_rounding(1_500) == "1,500 (1.50K)"
    net = archdsl.loads("network N {\n  input 16\n  fc 9 bias=false\n}\n")
    text = net.summary("text")
    assert re.search(r"^MACs +144$", text, re.M), text
    assert re.search(r"^FLOPs \(2 x MACs\) +288$", text, re.M), text


# -- LaTeX typesets sizes and arrows; one-layer folds show one index ---------------

def test_latex_typesets_every_size_and_arrow(check):
    _, out, _ = check("specs/alexnet.arch", "-f", "latex")
    assert r"$11\times11$, s4, p0" in out
    assert r"9216 $\rightarrow$ 4096" in out
    assert r"$96\times55\times55$" in out
    assert r"FLOPs ($2\times$ MACs)" in out
    body = re.sub(r"\$[^$]*\$", "", out)  # outside mathematics: no raw 3x3 or ->
    assert not re.search(r"\d+x\d+", body) and "->" not in body


FOLDS = """
block Conv3(c) { conv c k=3 p=1; relu }
block One(c) { conv c k=1 }
network Folds {
  input 3x32x32
  stage1: repeat 2 { Conv3(16) }
  repeat 2 { Conv3(32) }
  One(8)
  maxpool k=2
}
"""


@pytest.mark.parametrize("fmt, cell", [("text", " 9  one1 "), ("markdown", "| 9 | *one1* |"),
                                       ("latex", r"9 & \textit{one1} &"), ("csv", "Folds,9,one1,")])
def test_a_one_layer_fold_shows_one_index(fmt, cell):
    net = archdsl.loads(FOLDS)
    text = net.summary(fmt, depth=0)
    assert cell in text
    assert "9-9" not in text and "9--9" not in text


# -- --depth counts block instances and labelled repeats --------------------------

def _rows(net, depth):
    return [(str(r.index), r.name, r.op, r.hyper) for r in table_rows(net, depth)]


def test_depth_counts_blocks_and_labelled_repeats_only():
    net = archdsl.loads(FOLDS)
    assert _rows(net, 0)[1:4] == [("1-4", "stage1", "repeat", "2 x Conv3(16)"),
                                  ("5-6", "conv31", "block", "Conv3(32)"),
                                  ("7-8", "conv32", "block", "Conv3(32)")]
    assert _rows(net, 1)[1:4] == [("1-2", "stage1.conv31", "block", "Conv3(16)"),
                                  ("3-4", "stage1.conv32", "block", "Conv3(16)"),
                                  ("5", "conv31.conv1", "conv", "3x3, s1, p1")]
    assert not any(r.folded for r in table_rows(net, 2))


def test_resnet50_depth_treats_every_bottleneck_alike():
    net = archdsl.load(SPECS / "resnet50.arch")
    folded = [r for r in table_rows(net, 0) if r.folded]
    assert [r.name for r in folded] == [f"bottleneck{i}" for i in range(1, 17)]
    assert {r.op for r in folded} == {"block"}
    assert not any(r.folded for r in table_rows(net, 1))  # bottleneck1 and bottleneck2 alike


def test_keras_style_total_counts_bn_moving_statistics():
    """The lecture's Keras ResNet: model.summary() says 879,250 (12,108 non-trainable)."""
    text = archdsl.load(SPECS / "miniresnet.arch").summary("text")
    assert re.search(r"^Keras-style total \(with BN moving statistics\) +879,250$", text, re.M)
    assert "Keras's model.summary() counts BatchNorm's moving mean and variance" in text
    plain = archdsl.load(SPECS / "alexnet.arch").summary("text")
    assert "Keras" not in plain


TWO_INPUTS = """network Two {
  input image 3x32x32
  input meta 12
  conv 8 k=3 p=1
  gap; flatten
  f: fc 4
  from @meta { fc 4 }
  add @f
}
"""


def test_input_option_sets_a_named_input(cli, tmp_path):
    spec = tmp_path / "two.arch"
    spec.write_text(TWO_INPUTS)
    code, out, _ = cli("check", str(spec), "-f", "json", "--input", "image=3x64x64", "--input", "meta=20")
    assert code == 0
    doc = json.loads(out)
    assert [(i["name"], i["shape"]) for i in doc["inputs"]] == [("image", [3, 64, 64]), ("meta", [20])]
    code, out, _ = cli("check", str(spec), "-f", "json", "--input", "3x16x16")  # unnamed: the first input
    assert code == 0 and json.loads(out)["inputs"][0]["shape"] == [3, 16, 16]


def test_input_option_with_an_unknown_name_is_a_usage_error(cli, tmp_path):
    spec = tmp_path / "two.arch"
    spec.write_text(TWO_INPUTS)
    code, _, err = cli("check", str(spec), "--input", "imag=3x64x64")
    assert code == 2 and "no input named imag (its inputs: image, meta)" in err
    code, _, err = cli("check", str(spec), "--input", "3x8x8", "--input", "3x9x9")
    assert code == 2 and "name the others" in err


@given(words=st.lists(st.text("ab-;.", min_size=1, max_size=12), max_size=30), width=st.integers(1, 40))
def test_notes_wrap_between_words_as_textwrap_does_without_splitting_words(words, width):
    text = " ".join(words)
    assert wrap_words(text.split(), width) == textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
