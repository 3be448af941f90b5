"""Weights in and out of built modules: torchvision checkpoints through
--key-map torchvision (state_dicts of the torchvision-named references in
benchmarks/bench_torch.py; nothing is downloaded), every mismatch named by
layer with both shapes, rule files, checkpoints shared by both code forms,
trained-weight ONNX export, pickling across processes, summary() and the
input check."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _references():
    spec = importlib.util.spec_from_file_location("bench_torch", ROOT / "benchmarks" / "bench_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.REFERENCES


REFERENCES = _references()


def trained(cls):
    """A reference module with weights and BatchNorm statistics that are not the defaults."""
    torch.manual_seed(0)
    model = cls()
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_(0, 0.1)
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize("flat", [False, True], ids=["structured", "flat"])
@pytest.mark.parametrize("spec", ["resnet50", "googlenet", "alexnet_torchvision"])
def test_torchvision_checkpoint_loads_and_computes_the_same(spec, flat, tmp_path):
    reference = trained(REFERENCES[spec])
    state = reference.state_dict()
    if spec == "googlenet":  # torchvision's googlenet checkpoint carries the auxiliary heads
        state["aux1.conv.conv.weight"] = torch.zeros(128, 512, 1, 1)
        state["aux2.fc2.bias"] = torch.zeros(1000)
    path = tmp_path / "ckpt.pth"
    torch.save(state, path)
    model = archdsl.build(ROOT / "specs" / f"{spec}.arch", weights=path, key_map="torchvision", flat=flat).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-4)


def test_a_mismatch_names_the_layer_and_both_shapes(tmp_path):
    state = trained(REFERENCES["resnet50"]).state_dict()
    text = (ROOT / "specs" / "resnet50.arch").read_text().replace("  fc 1000\n", "  fc 10\n")
    spec = tmp_path / "resnet10.arch"
    spec.write_text(text)
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.build(spec, weights=state, key_map="torchvision")
    messages = [d.message for d in info.value.diagnostics]
    assert messages == ["fc1.weight: the spec gives 10x2048, the checkpoint (fc.weight) has 1000x2048",
                        "fc1.bias: the spec gives 10, the checkpoint (fc.bias) has 1000"]
    line = text.splitlines().index("  fc 10") + 1
    assert info.value.diagnostics[0].span.line == line


def test_missing_and_unexpected_keys_are_reported_not_raised(tmp_path):
    text = "network T { input 1x8x8; conv 4 k=3; bn; relu; flatten; fc 3 }"
    state = archdsl.build(text).state_dict()
    state["extra.weight"] = state.pop("conv1.weight")
    del state["bn1.num_batches_tracked"]  # old checkpoints lack it: not an error
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.build(text, weights=state)
    messages = [d.message for d in info.value.diagnostics]
    assert messages == ["conv1.weight (4x1x3x3): the checkpoint has no such tensor",
                        "the checkpoint's extra.weight (4x1x3x3) belongs to no layer of the spec"]


def test_a_rule_file_renames_and_drops(tmp_path):
    text = "network T { input 1x8x8; conv 4 k=3; relu; flatten; fc 3 }"
    model = archdsl.build(text)
    state = {f"net.{k}": v for k, v in model.state_dict().items()} | {"head.extra": torch.zeros(2)}
    rules = tmp_path / "map.txt"
    rules.write_text("# strip the wrapper\ndrop ^head\\.\n^net\\.(.*)  \\1\n")
    loaded = archdsl.build(text, weights=state, key_map=rules)
    torch.testing.assert_close(loaded.fc1.weight, model.fc1.weight)
    rules.write_text("^net\\.(.*)\ndrop (\n")
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.build(text, weights=state, key_map=rules)
    assert [(d.span.line, d.message.split(":")[0]) for d in info.value.diagnostics] == \
        [(1, "a key-map rule is `drop REGEX`, `REGEX REPLACEMENT` or `order`"), (2, "not a regular expression")]


def test_a_checkpoint_of_one_form_loads_into_the_other():
    flat = archdsl.build("specs/googlenet.arch", flat=True).eval()
    structured = archdsl.build("specs/googlenet.arch", weights=flat.state_dict()).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(structured(x), flat(x))


def test_archdsl_train_checkpoints_load(tmp_path):
    model = archdsl.build("specs/lenet_mnist.arch")
    torch.save({"format": "archdsl-checkpoint/1", "model": model.state_dict(), "epoch": 3}, tmp_path / "c.pt")
    loaded = archdsl.build("specs/lenet_mnist.arch", weights=tmp_path / "c.pt")
    torch.testing.assert_close(loaded.fc1.weight, model.fc1.weight)


def test_build_command_converts_a_checkpoint(tmp_path, capsys):
    torch.save(trained(REFERENCES["alexnet_torchvision"]).state_dict(), tmp_path / "alexnet.pth")
    out = tmp_path / "alexnet.py"
    assert main(["build", "specs/alexnet_torchvision.arch", "--weights", str(tmp_path / "alexnet.pth"),
                 "--key-map", "torchvision", "-o", str(out)]) == 0
    state = torch.load(tmp_path / "alexnet.pt", weights_only=True)
    assert list(state)[:2] == ["conv1.weight", "conv1.bias"]
    spec = tmp_path / "bad.arch"
    spec.write_text((ROOT / "specs" / "alexnet_torchvision.arch").read_text().replace("fc 1000", "fc 10"))
    assert main(["build", str(spec), "--weights", str(tmp_path / "alexnet.pth"), "--key-map", "torchvision",
                 "-o", str(tmp_path / "bad.py")]) == 1
    err = capsys.readouterr().err
    assert "fc3.weight: the spec gives 10x4096, the checkpoint (classifier.6.weight) has 1000x4096" in err
    assert "Traceback" not in err and not (tmp_path / "bad.py").exists()


# -- trained weights out -------------------------------------------------------------------

def test_export_writes_the_trained_weights(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    reference = trained(REFERENCES["alexnet_torchvision"])
    torch.save(reference.state_dict(), tmp_path / "ckpt.pth")
    assert main(["export", "specs/alexnet_torchvision.arch", "--weights", str(tmp_path / "ckpt.pth"),
                 "--key-map", "torchvision", "-o", str(tmp_path / "a.onnx")]) == 0
    model = archdsl.build("specs/alexnet_torchvision.arch", weights=tmp_path / "ckpt.pth", key_map="torchvision")
    model.train()
    archdsl.export(model, tmp_path / "b.onnx")
    assert model.training  # left as it was
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        want = reference(x).numpy()
    for name in ("a.onnx", "b.onnx"):
        session = ort.InferenceSession(str(tmp_path / name), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        assert abs(got - want).max() <= 1e-4 * abs(want).max()


# -- pickling, summary, the input check --------------------------------------------------------

@pytest.mark.parametrize("flat", [False, True], ids=["structured", "flat"])
def test_torch_save_loads_in_a_new_process(flat, tmp_path):
    model = archdsl.build("specs/miniresnet.arch", flat=flat).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.save({"model": model, "x": x, "y": model(x)}, tmp_path / "whole.pt")
    script = f"""
import torch
saved = torch.load({str(tmp_path / 'whole.pt')!r}, weights_only=False)
model = saved["model"]
with torch.no_grad():
    assert torch.equal(model(saved["x"]), saved["y"])
model.summary()
torch.save(model, {str(tmp_path / 'again.pt')!r})
print(type(model).__name__, sum(p.numel() for p in model.parameters()))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "MiniResNet 867142"
    assert "MiniResNet" in run.stdout and "867,142" in run.stdout  # the table
    again = torch.load(tmp_path / "again.pt", weights_only=False)
    assert type(again) is type(model)  # the same source: the same class in this process


def test_deepcopy_keeps_the_class():
    import copy
    model = archdsl.build("specs/googlenet.arch")
    twin = copy.deepcopy(model)
    assert type(twin) is type(model) and type(twin.inception3a) is type(model.inception3a)


def test_summary_prints_the_check_table(capsys):
    archdsl.build("specs/lenet_mnist.arch").summary()
    out = capsys.readouterr().out
    assert out.startswith("LeNet") and "1,256,080" in out
    archdsl.build("specs/lenet_mnist.arch").summary("markdown")
    assert capsys.readouterr().out.startswith("### LeNet")


@pytest.mark.parametrize("flat", [False, True], ids=["structured", "flat"])
def test_forward_checks_its_input(flat):
    model = archdsl.build("network Small { input 1x8x8; conv 4 k=3; flatten; fc 2 }", flat=flat)
    with pytest.raises(ValueError, match=r"^Small: expected input N×1×8×8, got 3×1×28×28$"):
        model(torch.randn(3, 1, 28, 28))
    model.check_input = False  # off: PyTorch's own error
    with pytest.raises(RuntimeError):
        model(torch.randn(3, 1, 28, 28))
    assert archdsl.build("network Small { input 1x8x8; conv 4 k=3; flatten; fc 2 }", flat=flat,
                         check_input=False).check_input is False


def test_the_input_check_is_cheap():
    """A tuple comparison per call: well under a millisecond on a tiny model."""
    import time
    model = archdsl.build("network Tiny { input 4; fc 2 }").eval()
    x = torch.randn(1, 4)
    timings = {}
    with torch.no_grad():
        for check in (True, False, True, False):
            model.check_input = check
            t = time.perf_counter()
            for _ in range(2000):
                model(x)
            timings[check] = min(timings.get(check, 1e9), time.perf_counter() - t)
    assert (timings[True] - timings[False]) / 2000 < 20e-6
