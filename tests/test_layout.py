"""Channels-last specs: `layout hwc` (for a file) and `input ... layout=hwc`
read shapes HxWxC while the analysis stays CxHxW; tables print the spec's
layout unless --layout says otherwise; a channels-first shape that looks
channels-last warns with the fix (code channels-last)."""
from __future__ import annotations

import json

import pytest

import archdsl
from archdsl.backends.report import render_report
from archdsl.lowering.layout import channels_first, looks_channels_last

from .conftest import ROOT, SPECS


@pytest.fixture
def check(cli):
    return lambda *argv: cli("check", *argv)


def test_the_hwc_alexnet_is_the_alexnet():
    """Written HxWxC with an `expect` at every size of the lecture table, the
    same network as alexnet.arch, figure for figure."""
    hwc, chw = archdsl.load(SPECS / "alexnet_hwc.arch"), archdsl.load(SPECS / "alexnet.arch")
    assert hwc.graph.layout == "hwc" and chw.graph.layout == "chw"
    assert hwc.input_shape == (3, 227, 227)
    assert [layer.output_shape for layer in hwc.layers] == [layer.output_shape for layer in chw.layers]
    assert (hwc.totals.params, hwc.totals.macs) == (62_378_344, 1_135_256_096)
    assert hwc.warnings == []


def test_tables_print_the_spec_layout_and_the_option_wins(check):
    _, out, _ = check("specs/alexnet_hwc.arch", "-f", "text")
    assert "AlexNet: input 227x227x3" in out and "Output (HxWxC)" in out and "55x55x96" in out
    _, out, _ = check("specs/alexnet_hwc.arch", "-f", "text", "--layout", "chw")
    assert "input 3x227x227" in out and "Output (CxHxW)" in out and "96x55x55" in out


def test_json_stays_channels_first_for_an_hwc_spec(check):
    code, out, err = check("specs/alexnet_hwc.arch", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["input"] == [3, 227, 227] and doc["layers"][1]["output_shape"] == [96, 55, 55]


def test_an_input_may_say_its_own_layout():
    net = archdsl.loads("network N {\n  input 32x32x3 layout=hwc\n  conv 16 k=3 p=1\n  expect 32x32x16\n}\n")
    assert net.input_shape == (3, 32, 32) and net.output_shape == (16, 32, 32)
    assert net.graph.layout == "hwc"
    assert "Output (HxWxC)" in net.summary("text") and "32x32x16" in net.summary("text")
    assert "16x32x32" in render_report([net], "text", layout="chw")


def test_a_chw_input_in_an_hwc_file():
    net = archdsl.loads("layout hwc\nnetwork N {\n  input 3x32x32 layout=chw\n  relu\n  expect 3x32x32\n}\n")
    assert net.input_shape == (3, 32, 32) and net.graph.layout == "chw"


@pytest.mark.parametrize("written, shape", [("100x3", (3, 100)), ("16x112x112x3", (3, 16, 112, 112)),
                                            ("784", (784,))])
def test_every_rank_reads_channels_last(written, shape):
    net = archdsl.loads(f"layout hwc\nnetwork N {{\n  input {written}\n  relu\n}}\n")
    assert net.input_shape == shape


def test_the_input_option_is_written_in_the_spec_layout(check):
    net = archdsl.loads("layout hwc\nnetwork N {\n  input 32x32x3\n  conv 8 k=3\n}\n", input_shape=(64, 64, 3))
    assert net.input_shape == (3, 64, 64) and net.output_shape == (8, 62, 62)
    code, out, err = check("specs/alexnet_hwc.arch", "--input", "227x227x3", "-f", "csv")
    assert code == 0 and "AlexNet,1,conv1,conv" in out and ",55x55x96," in out


def test_blocks_read_shapes_in_the_layout_of_their_own_file(tmp_path):
    """A block from a channels-first file keeps its `expect`s channels first
    when an HWC network uses it; a block of the HWC file reads HWC."""
    (tmp_path / "blocks.arch").write_text("block Down(c) {\n  conv c k=3 s=2 p=1\n  expect 16x8x8\n}\n")
    spec = tmp_path / "net.arch"
    spec.write_text('use "blocks.arch"\nlayout hwc\n\nblock Same(c) {\n  conv c k=3 p=1\n  expect 8x8x16\n}\n\n'
                    "network N {\n  input 16x16x3\n  Down(16)\n  Same(16)\n}\n")
    net = archdsl.load(spec)
    assert net.output_shape == (16, 8, 8)


# -- the warning -------------------------------------------------------------------

@pytest.mark.parametrize("shape, looks", [
    ((224, 224, 3), True), ((28, 28, 1), True), ((227, 227, 3), True), ((64, 64, 4), True), ((128, 3), True),
    ((3, 224, 224), False), ((1, 28, 28), False), ((16, 4, 4), False), ((4, 32, 2), False), ((784,), False),
    ((300, 50), False), ((64, 8, 8), False), ((32, 32, 5), False),
])
def test_what_looks_channels_last(shape, looks):
    assert looks_channels_last(shape) is looks


def test_channels_first_turns_the_last_axis_to_the_front():
    assert channels_first((227, 227, 3)) == (3, 227, 227) and channels_first((10,)) == (10,)


def test_the_warning_has_a_code_and_a_fix_that_reads_the_intent():
    text = "network N {\n  input 224x224x3\n  conv 16 k=3\n}\n"
    (w,) = archdsl.loads(text).warnings
    assert w.code == "channels-last" and "input 3x224x224" in w.hint
    fixed = text[: _offset(text, w.fix.span)] + w.fix.text + text[_offset(text, w.fix.span, end=True):]
    assert "input 224x224x3 layout=hwc" in fixed
    net = archdsl.loads(fixed)
    assert net.warnings == [] and net.input_shape == (3, 224, 224)


def test_the_warning_comes_before_the_error_it_explains():
    with pytest.raises(archdsl.ArchError) as exc:
        archdsl.loads("network N {\n  input 28x28x1\n  conv 20 k=5\n}\n")
    first, second = exc.value.diagnostics
    assert first.severity == "warning" and first.code == "channels-last"
    assert second.severity == "error" and "(1 - 5 + 0)" in second.notes[0]


def test_allow_channels_last_silences_it_and_keeps_the_record(check, tmp_path):
    spec = tmp_path / "rgba.arch"
    spec.write_text("network N {\n  input 64x64x4   # archdsl: allow channels-last\n  relu\n}\n")
    net = archdsl.load(spec)
    assert net.warnings == [] and [w.code for w in net.allowed] == ["channels-last"]
    code, out, err = check(str(spec), "--strict", "-f", "text")
    assert code == 0 and err == "" and "Allowed warning (channels-last) at line 2" in out


def test_an_input_option_is_not_second_guessed():
    net = archdsl.loads("network N {\n  input 3x32x32\n  relu\n}\n", input_shape=(32, 32, 3))
    assert net.warnings == []


def _offset(text: str, span, end: bool = False) -> int:
    line, col = (span.end_line, span.end_col) if end else (span.line, span.col)
    return sum(len(x) + 1 for x in text.split("\n")[: line - 1]) + col - 1


def test_the_gallery_spec_is_documented_in_specs_readme():
    assert "alexnet_hwc.arch" in (ROOT / "specs" / "README.md").read_text(encoding="utf-8")


def test_the_readme_shows_the_hwc_table_as_check_prints_it(check):
    """Every line of the README's HWC excerpt is a line of the real table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ archdsl check specs/alexnet_hwc.arch --columns +weights,+neurons\n"
    block = readme.split(command, 1)[1].split("```", 1)[0]
    code, out, _ = check("specs/alexnet_hwc.arch", "--columns", "+weights,+neurons", "-f", "table")
    assert code == 0
    shown = [line for line in block.splitlines() if line.strip() and line.strip() != "..."]
    assert len(shown) > 10 and all(line in out.splitlines() for line in shown)
