"""Golden outputs of `archdsl check`: every format for every gallery spec, and
the options that change what is printed. `pytest --update-golden` rewrites the
files under tests/golden/check/; review the diff like code."""
from __future__ import annotations

import json

import pytest

from archdsl.cli import main
from archdsl.report import FORMATS
from .conftest import GALLERY, ROOT, SPECS

EXT = {"table": "table", "text": "txt", "markdown": "md", "latex": "tex", "csv": "csv",
       "json": "json", "html": "html"}


@pytest.fixture(autouse=True)
def _plain(monkeypatch):
    # Goldens hold what a pipe receives: no colour, whatever the test runner's terminal.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.chdir(ROOT)  # spec paths in the output stay relative


def check(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_format_has_an_extension():
    assert set(EXT) == set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_gallery_golden(spec, fmt, capsys, golden):
    code, out, _ = check(capsys, f"specs/{spec.name}", "-f", fmt)
    assert code == 0
    golden(f"check/{spec.stem}.{EXT[fmt]}", out)


@pytest.mark.parametrize("name, argv", [
    ("alexnet_hwc", ["specs/alexnet.arch", "--layout", "hwc", "-f", "text"]),
    ("alexnet_hwc_csv", ["specs/alexnet.arch", "--layout", "hwc", "-f", "csv"]),
    ("resnet50_depth0", ["specs/resnet50.arch", "--depth", "0", "-f", "text"]),
    ("resnet50_depth1", ["specs/resnet50.arch", "--depth", "1", "-f", "text"]),
    ("googlenet_depth0_md", ["specs/googlenet.arch", "--depth", "0", "-f", "markdown"]),
    ("googlenet_depth1", ["specs/googlenet.arch", "--depth", "1", "-f", "text"]),
    ("vgg16_batch8", ["specs/vgg16.arch", "--batch", "8", "-f", "text"]),
    ("vgg16_batch8_json", ["specs/vgg16.arch", "--batch", "8", "-f", "json"]),
    ("lenet_mnist_input_32", ["specs/lenet_mnist.arch", "--input", "1x32x32", "-f", "text"]),
    ("two_specs_json", ["specs/lenet5.arch", "specs/lenet_mnist.arch", "-f", "json"]),
    ("two_specs_text", ["specs/lenet5.arch", "specs/lenet_mnist.arch", "-f", "text"]),
])
def test_option_golden(name, argv, capsys, golden):
    code, out, _ = check(capsys, *argv)
    assert code == 0
    ext = {"json": "json", "csv": "csv", "markdown": "md"}.get(argv[argv.index("-f") + 1], "txt")
    golden(f"check/options/{name}.{ext}", out)


def test_alexnet_224_warning_goes_to_stderr(capsys, golden):
    code, out, err = check(capsys, "specs/alexnet.arch", "--input", "3x224x224", "-f", "csv")
    assert code == 0
    assert "(224 - 11 + 0)/4 + 1 = 54.25" in err
    assert "warning" not in out
    golden("check/options/alexnet_224.stderr", err)
    code, _, _ = check(capsys, "specs/alexnet.arch", "--input", "3x224x224", "-f", "csv", "--strict")
    assert code == 1


LAYER_KEYS = {"index", "name", "op", "block", "output_shape", "params", "buffers", "macs",
              "receptive_field", "hyper", "effective_stride"}
TOTAL_KEYS = {"params", "trainable_params", "buffers", "macs", "flops", "activation_bytes", "param_bytes"}


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_json_contract(spec, capsys):
    code, out, _ = check(capsys, str(spec.relative_to(ROOT)), "-f", "json")
    assert code == 0
    doc = json.loads(out)
    docs = doc if isinstance(doc, list) else [doc]
    for d in docs:
        assert set(d) == {"network", "input", "layers", "totals", "warnings"}
        assert isinstance(d["network"], str) and all(isinstance(v, int) for v in d["input"])
        assert set(d["totals"]) == TOTAL_KEYS
        assert d["totals"]["flops"] == 2 * d["totals"]["macs"]
        assert [layer["index"] for layer in d["layers"]] == list(range(len(d["layers"])))
        for layer in d["layers"]:
            assert set(layer) == LAYER_KEYS
            assert isinstance(layer["output_shape"], list)  # without the batch
        assert d["layers"][0]["op"] == "input" and d["layers"][0]["output_shape"] == d["input"]
        assert sum(layer["params"] for layer in d["layers"]) == d["totals"]["params"]
        for w in d["warnings"]:
            assert {"severity", "message", "file", "line", "col", "notes", "hint"} <= set(w)


def test_json_lists_several_networks(capsys):
    code, out, _ = check(capsys, "specs/lenet5.arch", "specs/alexnet.arch", "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert [d["network"] for d in doc] == ["LeNet5", "AlexNet"]


def test_json_batch_scales_memory_only(capsys):
    _, one, _ = check(capsys, "specs/lenet_mnist.arch", "-f", "json")
    _, eight, _ = check(capsys, "specs/lenet_mnist.arch", "-f", "json", "--batch", "8")
    one, eight = json.loads(one), json.loads(eight)
    assert eight["totals"]["activation_bytes"] == 8 * one["totals"]["activation_bytes"]
    assert eight["totals"]["param_bytes"] == one["totals"]["param_bytes"]
    assert eight["layers"] == one["layers"]


def test_input_override_changes_shapes(capsys):
    _, out, _ = check(capsys, "specs/lenet_mnist.arch", "-f", "json", "--input", "1x32x32")
    doc = json.loads(out)
    assert doc["input"] == [1, 32, 32]
    assert doc["layers"][1]["output_shape"] == [20, 32, 32]


def test_hwc_layout_prints_lecture_order(capsys):
    _, out, _ = check(capsys, "specs/alexnet.arch", "-f", "text", "--layout", "hwc")
    assert "55x55x96" in out and "96x55x55" not in out
    assert "Output (HxWxC)" in out


def test_output_file_is_written(tmp_path, capsys):
    target = tmp_path / "t.md"
    code, out, _ = check(capsys, "specs/lenet_mnist.arch", "-f", "markdown", "-o", str(target))
    assert code == 0 and out == ""
    assert "| " in target.read_text(encoding="utf-8")
