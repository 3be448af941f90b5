"""Limits, input hygiene, atomic outputs and exit codes (the hardening issue)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import archdsl
from archdsl.atomic import atomic_path, write_atomic
from archdsl.cli import main
from archdsl.limits import Limits

from .conftest import SPECS

ALEXNET_224 = "network A {\n  input 3x224x224\n  conv 96 k=11 s=4\n}\n"


@pytest.fixture
def run(cli):
    return cli


# -- exit codes -------------------------------------------------------------------

def test_exit_0_on_a_good_spec(run):
    code, out, err = run("check", SPECS / "lenet_mnist.arch", "-f", "text")
    assert code == 0 and "1,256,080" in out and err == ""


def test_exit_1_on_a_spec_error(tmp_path, run):
    spec = tmp_path / "bad.arch"
    spec.write_text("network N {\n  input 3x8x8\n  conv 4 k=9\n}\n")
    code, out, err = run("check", spec)
    assert code == 1 and out == ""
    assert err.startswith(f"{spec}:3:3: error: conv output height and width collapse below 1")


@pytest.mark.parametrize("argv", [
    ["check"],
    ["check", "missing.arch"],
    ["check", "."],
    ["check", "SPEC", "--input", "3xfoo"],
    ["check", "SPEC", "--format", "yaml"],
    ["check", "SPEC", "--batch", "0"],
    ["check", "SPEC", "--max-nesting", "999999"],
    ["frobnicate"],
    [],
])
def test_exit_2_on_usage_errors(argv, capsys):
    argv = [str(SPECS / "lenet_mnist.arch") if a == "SPEC" else a for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_warnings_keep_exit_0_unless_strict(tmp_path, run):
    spec = tmp_path / "a.arch"
    spec.write_text(ALEXNET_224)
    code, out, err = run("check", spec, "-f", "json")
    assert code == 0
    assert "warning: conv output size is not whole" in err
    assert "(224 - 11 + 0)/4 + 1 = 54.25" in err
    code, _, _ = run("check", spec, "--strict")
    assert code == 1


# -- limits ---------------------------------------------------------------------

def test_huge_repeat_fails_fast():
    with pytest.raises(archdsl.ArchError, match="past the limit of 200,000 layers"):
        archdsl.loads("network R { input 3x8x8\n repeat 1000000000 { repeat 100000000 { relu } } }")


def test_repeat_that_grows_past_the_limit_stops_at_the_limit():
    text = "network R { input 3x8x8\n repeat 150000 { relu; relu } }"
    with pytest.raises(archdsl.ArchError, match="more than 200,000 layers"):
        archdsl.loads(text)
    net = archdsl.loads(text, limits=Limits(max_layers=400_000))
    assert len(net.layers) == 300_001


def test_empty_repeat_bodies_do_not_spin():
    net = archdsl.loads("network R { input 3x8x8\n repeat 100000 { repeat 100000 { } }\n relu }")
    assert [layer.op for layer in net.layers] == ["input", "relu"]


def test_huge_input_analyses_without_allocating():
    net = archdsl.loads("network B { input 3x100000x100000\n conv 64 k=3 p=1; relu; gap; flatten; fc 10 }")
    assert net.layers[1].output_shape == (64, 100000, 100000)
    assert net.totals.macs == 64 * 100000 * 100000 * 27 + 640


def test_sizes_above_the_dimension_limit_are_refused():
    with pytest.raises(archdsl.ArchError, match="exceeds the limit"):
        archdsl.loads("network B { input 3x10000000000000x2 }")
    with pytest.raises(archdsl.ArchError, match="too large"):
        archdsl.loads("network B { input 3x" + "9" * 40 + " }")


def test_deep_nesting_is_an_error_and_a_flag_raises_the_limit():
    depth = 150
    text = "network D {\n input 3x8x8\n" + "residual { " * depth + "relu" + " }" * depth + "\n}\n"
    with pytest.raises(archdsl.ArchError, match="more than 100 deep"):
        archdsl.loads(text)
    net = archdsl.loads(text, limits=Limits(max_nesting=400))
    assert net.output_shape == (3, 8, 8)


def test_deep_expressions_do_not_crash():
    text = "network D {\n input 3x8x8\n conv " + "(" * 5000 + "4" + ")" * 5000 + " k=1\n}\n"
    try:
        net = archdsl.loads(text)
        assert net.output_shape == (4, 8, 8)
    except archdsl.ArchError as err:
        assert "nested too deeply" in str(err)


def test_block_recursion_is_reported_not_followed():
    with pytest.raises(archdsl.ArchError, match="uses itself") as info:
        archdsl.loads("block A(c) { B(c) }\nblock B(c) { A(c) }\nnetwork N { input 3x8x8\n A(4) }")
    assert "cycle: A -> B -> A" in str(info.value)


# -- input hygiene ----------------------------------------------------------------

def test_bom_and_crlf_are_accepted(tmp_path):
    spec = tmp_path / "w.arch"
    spec.write_bytes(b"\xef\xbb\xbfnetwork W {\r\n  input 1x28x28\r\n  conv 8 k=3\r\n}\r\n")
    assert archdsl.load(spec).output_shape == (8, 26, 26)


def test_tabs_keep_the_caret_under_the_culprit():
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads("network T {\n\tinput 3x8x8\n\tconv 4 k=3 zz=1\n}\n", "t.arch")
    lines = str(info.value).splitlines()
    assert lines[0] == "t.arch:3:13: error: unknown parameter 'zz' for conv"
    quoted, caret = lines[1], lines[2]
    assert quoted.index("zz") == caret.index("^")


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"   \n# only a comment\n", "defines no network (it has only comments)"),
    (b"block B(c) { conv c k=1 }\n", "defines no network"),
    (b"network N {\n input 3x8x8 \xff\n}\n", "not UTF-8 text (byte 0xff)"),
])
def test_unusable_files_have_a_one_line_cause(tmp_path, content, message):
    spec = tmp_path / "u.arch"
    spec.write_bytes(content)
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.load(spec)
    assert message in str(info.value).splitlines()[0]
    assert info.value.line >= 1


def test_missing_use_target_and_use_cycles(tmp_path):
    (tmp_path / "a.arch").write_text('use "b.arch"\nnetwork N { input 3x8x8 }\n')
    (tmp_path / "b.arch").write_text('use "a.arch"\nblock B(c) { conv c k=1 }\n')
    with pytest.raises(archdsl.ArchError, match=r"`use` cycle: a.arch -> b.arch -> a.arch"):
        archdsl.load(tmp_path / "a.arch")
    (tmp_path / "c.arch").write_text('use "nowhere.arch"\nnetwork N { input 3x8x8 }\n')
    with pytest.raises(archdsl.ArchError, match='cannot find "nowhere.arch"') as info:
        archdsl.load(tmp_path / "c.arch")
    assert (info.value.line, info.value.col) == (1, 1)


def test_directory_as_spec_via_api(tmp_path):
    with pytest.raises(archdsl.ArchError, match="is a directory"):
        archdsl.load(tmp_path)


# -- atomic outputs -----------------------------------------------------------------

def test_write_atomic_replaces_the_file(tmp_path):
    target = tmp_path / "out.md"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.md"]


def test_a_write_failing_midway_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.md"
    target.write_text("previous")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomic(target, "x" * 100_000)
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["out.md"]


def test_an_interrupted_writer_leaves_the_previous_file(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"good")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            Path(tmp).write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_check_output_file_untouched_when_the_spec_fails(tmp_path, run):
    out = tmp_path / "table.md"
    out.write_text("keep me")
    bad = tmp_path / "bad.arch"
    bad.write_text("network N { input 3x8x8\n fc 10 }")
    code, _, err = run("check", bad, "-f", "markdown", "-o", out)
    assert code == 1 and "fc needs a flat vector" in err
    assert out.read_text() == "keep me"
    code, _, _ = run("check", SPECS / "lenet_mnist.arch", "-f", "markdown", "-o", out)
    assert code == 0 and "1,256,080" in out.read_text()
    assert sorted(os.listdir(tmp_path)) == ["bad.arch", "table.md"]


def test_atomic_write_keeps_permissions(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("a")
    os.chmod(target, 0o640)
    write_atomic(target, "b")
    assert (os.stat(target).st_mode & 0o777) == 0o640


# -- diagnostics that must not mislead --------------------------------------------------

def _errors(text: str) -> list:
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads(text, "t.arch")
    return [d for d in info.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("text", [
    "network N {\n  input 3x8x8\n  conv 16, k=3, s=2, p=1, d=1, g=1\n}\n",
    "network N {\n  input 3x8x8\n  conv 16 k=3 +\n}\n",
    "network N {\n  input 3x8x8\n  x:\n}\n",
    "network N {\n  input 3x8x8\n  residul { relu }\n}\n",
    "network N {\n  input 3x8x8\n  conv 4 k=3 $\n}\n",
    "network N {\n  input 3x8x8\n",
    "block B(c {\n}\n",
])
def test_expected_lists_are_never_cut_short(text):
    """What was expected is summarised in words, never truncated with 'or ...'."""
    (error,) = _errors(text)
    assert "..." not in error.format()
    assert "\\\\" not in error.format()


def test_braces_in_comments_and_strings_do_not_count():
    text = 'use "a{.arch"\nnetwork N { # }\n  input 3x8x8  # {\n  repeat 2 { relu\n  conv 3 k=1\n}\n'
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads(text, "t.arch")
    assert info.value.diagnostics[-1].hint == "the '{' of `repeat 2 {` at line 4:12 is never closed"


def test_no_error_is_invented_from_an_unknown_shape():
    """A bad stride leaves the conv's output unknown: the fc after it (which would
    need a flatten on any real output) is not blamed; the independent relu is."""
    errors = _errors("network N {\n  input 3x32x32\n  conv 16 k=3 s=0\n  fc 10\n  relu foo=2\n}\n")
    assert [(e.line, e.message) for e in errors] == [
        (3, "s must be positive, got 0"), (5, "unknown parameter 'foo' for relu")]


def test_errors_found_past_a_failed_layer_say_what_they_assume():
    errors = _errors("network N {\n  input 3x8x8\n  conv 8 k=3 p=1 g=2\n  bn eps=0\n  fc 10\n}\n")
    assert [e.line for e in errors] == [3, 4, 5]
    assert errors[2].message.startswith("fc needs a flat vector but its input is the feature map 8x8x8")
    assert errors[2].notes == ["assuming the conv at t.arch:3:3 gives 8x8x8 once its own error is fixed"]


def test_a_block_used_the_same_wrong_way_is_reported_once():
    errors = _errors("block B(c) {\n  conv c/4 k=1\n}\n"
                     "network N {\n  input 3x8x8\n  B(30)\n  B(30)\n  B(30)\n}\n")
    (error,) = errors
    assert error.notes == ["c / 4 = 30 / 4", "in block B, used at t.arch:6:3",
                           "the same error in the use at t.arch:7:3",
                           "the same error in the use at t.arch:8:3"]
