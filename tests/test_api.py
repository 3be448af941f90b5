"""The Python API (archdsl.load/loads/load_all, Network, ArchError) and the
CLI's process-level contract: exit codes, `python -m archdsl`, and that
`check` never imports torch."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import archdsl
from archdsl.cli import main

from .conftest import ROOT, SPECS

TWO = """
block Stage(c) { conv c k=3 p=1; relu }
network Small { input 3x32x32; Stage(8); gap; flatten; fc 10 }
network Big { input 3x64x64; Stage(16); Stage(32); gap; flatten; fc 10 }
"""


def test_loads_returns_an_analysed_network():
    net = archdsl.loads("network N { input 1x28x28; conv 8 k=3; flatten; fc 10 }")
    assert isinstance(net, archdsl.Network)
    assert net.name == "N"
    assert net.input_shape == (1, 28, 28)
    assert net.output_shape == (10,)
    assert [layer.op for layer in net.layers] == ["input", "conv", "flatten", "fc"]
    assert net.layers[1].output_shape == (8, 26, 26)
    assert net.totals.params == 8 * 9 + 8 + 8 * 26 * 26 * 10 + 10
    assert net.totals.macs == 8 * 26 * 26 * 9 + 8 * 26 * 26 * 10
    assert net.totals.flops == 2 * net.totals.macs
    assert net.layer("conv1").params == 80
    with pytest.raises(KeyError):
        net.layer("nope")


def test_load_reads_a_file_and_summary_renders_every_format():
    net = archdsl.load(SPECS / "lenet_mnist.arch")
    assert net.totals.params == 1_256_080
    text = net.summary()
    assert "1,256,080" in text and "conv1" in text
    for fmt in ("text", "markdown", "latex", "csv", "html", "json", "table"):
        assert net.summary(fmt)
    assert json.loads(net.summary("json"))["totals"]["params"] == 1_256_080
    assert "1,256,080" in repr(net)


def test_load_all_and_network_selection(tmp_path):
    spec = tmp_path / "two.arch"
    spec.write_text(TWO, encoding="utf-8")
    nets = archdsl.load_all(spec)
    assert [n.name for n in nets] == ["Small", "Big"]
    assert archdsl.load(spec).name == "Big"  # the last one
    assert archdsl.load(spec, network="Small").input_shape == (3, 32, 32)
    with pytest.raises(archdsl.ArchError, match="no network named Nope"):
        archdsl.load(spec, network="Nope")
    assert [n.name for n in archdsl.loads_all(TWO)] == ["Small", "Big"]


def test_input_override():
    net = archdsl.load(SPECS / "alexnet.arch", input_shape=(3, 224, 224))
    assert net.input_shape == (3, 224, 224)
    assert net.layers[1].output_shape == (96, 54, 54)


def test_warnings_are_diagnostics():
    net = archdsl.loads("network N {\n  input 3x224x224\n  conv 96 k=11 s=4\n}\n", "a.arch")
    (w,) = net.warnings
    assert isinstance(w, archdsl.Diagnostic)
    assert w.severity == "warning"
    assert (w.line, w.col) == (3, 3)
    assert "54.25" in w.message
    assert w.to_dict()["file"] == "a.arch"


def test_arch_error_has_position_and_every_diagnostic():
    text = "network N {\n  input 3x8x8\n  convv 4 k=1\n  conv 4 k=1 stide=2\n}\n"
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads(text, "bad.arch")
    exc = info.value
    assert (exc.line, exc.col) == (3, 3)
    assert exc.file == "bad.arch"
    assert len(exc.diagnostics) == 2
    assert [(d.line, d.col) for d in exc.diagnostics] == [(3, 3), (4, 14)]
    assert "unknown layer 'convv'" in exc.message
    assert "bad.arch:3:3: error:" in str(exc)


def test_syntax_error_is_an_arch_error():
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads("network N {\n  input 3x8x8\n  conv 4 k=3 @\n}\n")
    assert (info.value.line, info.value.col) == (3, 14)


def test_use_paths_are_relative_to_the_using_file(tmp_path, monkeypatch):
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "stage.arch").write_text('use "inner.arch"\nblock Stage(c) { Inner(c); relu }\n')
    (tmp_path / "blocks" / "inner.arch").write_text("block Inner(c) { conv c k=3 p=1 }\n")
    (tmp_path / "net.arch").write_text('use "blocks/stage.arch"\nnetwork N { input 3x8x8; Stage(4) }\n')
    monkeypatch.chdir(ROOT)  # anywhere but tmp_path
    net = archdsl.load(tmp_path / "net.arch")
    assert net.output_shape == (4, 8, 8)
    assert [layer.name for layer in net.layers] == ["input", "stage1.inner1.conv1", "stage1.relu1"]


def test_use_std_library_from_a_string():
    net = archdsl.loads('use "std/resnet.arch"\nnetwork N { input 64x8x8; BasicBlock(64) }')
    assert net.output_shape == (64, 8, 8)


def test_check_does_not_import_torch():
    code = ("import sys; from archdsl.cli import main; "
            "rc = main(['check', 'specs/resnet50.arch', '-f', 'json']); "
            "assert rc == 0; assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 25_557_032


def test_python_dash_m_archdsl():
    result = subprocess.run([sys.executable, "-m", "archdsl", "check", "specs/lenet_mnist.arch", "-f", "csv"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("network,index,name")


@pytest.mark.parametrize("argv, code", [
    (["check", "specs/lenet_mnist.arch"], 0),
    (["check", "specs/alexnet.arch", "--input", "3x224x224"], 0),                # warnings only
    (["check", "specs/alexnet.arch", "--input", "3x224x224", "--strict"], 1),    # --strict
    (["check", "tests/errors/unknown_layer.arch"], 1),                            # spec error
    (["check", "specs/lenet_mnist.arch", "--format", "pdf"], 2),                  # bad flag value
    (["check", "specs/lenet_mnist.arch", "--input", "3xfoo"], 2),
    (["check", "specs/lenet_mnist.arch", "--batch", "0"], 2),
    (["check", "specs/nowhere.arch"], 2),                                         # missing file
    (["check"], 2),                                                               # no spec
    ([], 2),                                                                      # no command
])
def test_exit_codes(argv, code, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    try:
        result = main(argv)
    except SystemExit as exc:  # argparse exits by itself on a bad flag
        result = exc.code
    assert result == code
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_network_flag_picks_one(tmp_path, capsys):
    spec = tmp_path / "two.arch"
    spec.write_text(TWO, encoding="utf-8")
    assert main(["check", str(spec), "-f", "json"]) == 0
    assert [d["network"] for d in json.loads(capsys.readouterr().out)] == ["Small", "Big"]
    assert main(["check", str(spec), "-f", "json", "--network", "Small"]) == 0
    assert json.loads(capsys.readouterr().out)["network"] == "Small"
    # A network the file lacks is a usage error (exit 2) for every command.
    for command in (["check"], ["render", "-o", str(tmp_path / "x.svg")], ["report", "-o", str(tmp_path / "r.html")]):
        assert main([*command, str(spec), "--network", "Nope"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("archdsl: error: no network named Nope")
        assert "networks in the file: Small, Big" in err
    with pytest.raises(archdsl.ArchError, match="no network named Nope"):
        archdsl.load(spec, network="Nope")  # the API keeps raising ArchError


def test_input_of_another_rank_is_refused(tmp_path, capsys):
    """--input must keep the spec's rank: 3x64 on a 2-D spec would silently make it 1-D."""
    spec = tmp_path / "two.arch"
    spec.write_text(TWO, encoding="utf-8")
    assert main(["check", str(spec), "--network", "Small", "--input", "3x64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archdsl: error: --input 3x64 is a 1-D map (CxL), but network Small takes a 2-D map")
    assert "3x32x32" in err
    assert main(["check", str(spec), "--network", "Small", "--input", "3x64x64", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["input"] == [3, 64, 64]
    with pytest.raises(archdsl.ArchError, match="1-D map"):
        archdsl.load(spec, network="Small", input_shape=(3, 64))


def test_every_layer_kind_and_alias_is_documented():
    """docs/language.md is the reference: a new layer kind or alias must appear in it."""
    from archdsl.core.ops import REGISTRY
    doc = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    import re
    headings = " ".join(line for line in doc.splitlines() if line.startswith("###"))
    missing = [kw for kw in REGISTRY
               if f"`{kw}`" not in doc and not re.search(rf"\b{kw}\b", headings)]
    assert missing == []
    for cls in set(REGISTRY.values()):
        for attr in cls.attrs:
            assert f"`{attr.name}`" in doc, f"{cls.keywords[0]}.{attr.name} is not documented"
