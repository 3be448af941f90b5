"""ONNX export: every gallery spec exports, passes onnx.checker, agrees with
PyTorch in onnxruntime, and ONNX's own shape inference finds archdsl's shapes."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import re  # noqa: E402

import numpy as np  # noqa: E402

import archdsl  # noqa: E402
from archdsl.backends.onnx.export import export, export_module, input_vocabs, io_names, verify  # noqa: E402
from archdsl.cli import main  # noqa: E402

from .conftest import GALLERY  # noqa: E402

# yolov1's 205M-parameter fc takes half a minute to serialise at 448x448; at
# 64x64 every layer kind and shape rule is still exercised.
SMALL_INPUT = {"yolov1": (3, 64, 64)}


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_gallery_exports_and_agrees(path, tmp_path):
    net = archdsl.load(path, input_shape=SMALL_INPUT.get(path.stem))
    model = archdsl.build(net, softmax="keep")
    out = tmp_path / "m.onnx"
    shapes_in, vocabs = [n.shape for n in net.graph.inputs], input_vocabs(net)  # token ids for an embedding
    export_module(model, shapes_in, out, names=io_names(net), vocabs=vocabs)
    result = verify(model, out, shapes_in, batch=3, vocabs=vocabs)
    assert result.max_rel <= 1e-4, result.format()

    # data_prop: a Reshape whose target comes from Shape (channel_shuffle's) is resolved too
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(out), load_external_data=False), data_prop=True)
    shapes = {v.name: _dims(v) for v in (*inferred.graph.value_info, *inferred.graph.output)}
    for name, node in zip(net.graph.output_names, net.graph.outputs, strict=True):  # yolov3_tiny has two
        assert shapes[name] == ["batch", *node.shape]
    # The exporter names each module call's nodes after the module's path
    # (`/inception3a/branch2/conv1/Conv`, a call repeated gets a suffix) in forward
    # order, so walking both in order pairs every conv, pool and fc with its ONNX output.
    groups = []
    for node in inferred.graph.node:
        scope = node.name.rsplit("/", 1)[0].strip("/")
        if not scope:
            continue
        if groups and groups[-1][0] == scope:
            groups[-1][1] = node.output[0]
        else:
            groups.append([scope, node.output[0]])
    j, checked = 0, 0
    wanted = [n for n in net.graph.nodes
              if n.keyword in ("conv", "maxpool", "avgpool", "gap", "gmp", "adaptiveavgpool", "fc")]
    for layer in wanted:
        path = layer.name.replace(".", "/")  # submodules are named after the layers, as state_dict keys
        while j < len(groups) and re.sub(r"_\d+$", "", groups[j][0]) != path:
            j += 1
        assert j < len(groups), f"no ONNX node for {layer.name}"
        dims = shapes[groups[j][1]]
        assert dims[1:] == list(layer.shape), layer.name
        assert isinstance(dims[0], str) or dims[0] == 0  # the batch stays symbolic
        checked += 1
        j += 1
    assert checked == len(wanted)


def test_cli_export_verify_dynamic_batch(tmp_path, capsys):
    out = tmp_path / "lenet.onnx"
    assert main(["export", "specs/lenet_mnist.arch", "-o", str(out), "--verify"]) == 0
    err = capsys.readouterr().err
    assert "max rel diff" in err and "dynamic batch" in err
    onnx.checker.check_model(str(out))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {"input": np.random.rand(5, 1, 28, 28).astype(np.float32)})
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)  # the trailing softmax is exported by default


def test_cli_export_options(tmp_path):
    out = tmp_path / "t.onnx"
    assert main(["export", "specs/textcnn.arch", "-o", str(out), "--opset", "13", "--static-batch",
                 "--softmax", "logits"]) == 0
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 13
    assert _dims(model.graph.input[0]) == [1, 300, 50]
    assert [n.op_type for n in model.graph.node][-1] != "Softmax"
    assert main(["export", "specs/textcnn.arch", "-o", str(out), "--opset", "9"]) == 2


def test_failed_export_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous")

    def broken(*args, **kwargs):
        with open(args[2], "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(torch.onnx, "export", broken)  # after writing half a file
    assert main(["export", "specs/lenet5.arch", "-o", str(out)]) == 1
    assert "ONNX export failed: exporter exploded" in capsys.readouterr().err
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    fresh = tmp_path / "new.onnx"
    assert main(["export", "specs/lenet5.arch", "-o", str(fresh)]) == 1
    assert not fresh.exists()


def test_same_padding_shapes_are_inferred(tmp_path):
    net = archdsl.loads("network P { input 3x9x8; conv 4 k=3 s=2 p=same; maxpool k=3 s=2 p=same;"
                        " minpool k=2 s=2 p=same; avgpool k=2 s=1 p=same }")
    model = archdsl.build(net)
    export_module(model, net.input_shape, tmp_path / "p.onnx", opset=13)
    assert verify(model, tmp_path / "p.onnx", net.input_shape).max_rel < 1e-5
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(tmp_path / "p.onnx")))
    shapes = {v.name: _dims(v) for v in inferred.graph.value_info}
    pads = [_dims(v) for name, v in ((v.name, v) for v in inferred.graph.value_info) if "/Pad" in name]
    # every Pad on the data path has a known size (the last pads the ones mask of the average)
    assert pads[0] == ["batch", 3, 11, 9] and all(isinstance(d, int) for p in pads[:-1] for d in p[1:])
    assert shapes["/conv1/Conv_output_0"] == ["batch", *net.layer("conv1").output_shape]


def test_export_refuses_over_budget(tmp_path):
    out = tmp_path / "v.onnx"
    assert main(["export", "specs/vgg16.arch", "-o", str(out), "--max-params-mb", "100"]) == 1
    assert not out.exists()


def test_adaptive_pool_that_does_not_divide_is_a_spec_error(tmp_path, capsys):
    out = tmp_path / "ax.onnx"
    assert main(["export", "specs/alexnet_torchvision.arch", "--input", "3x180x180", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert ("alexnet_torchvision.arch:49:3: error: ONNX has no adaptive pooling: this layer pools 4x4 to 6x6, "
            "which is not a fixed window") in err
    assert "= 4 is not a multiple of 6" in err
    # the nearest input that works and fits every window evenly
    assert "hint: --input 3x223x223 makes the sizes divisible" in err
    assert "graph(" not in err and "opset" not in err and len(err.splitlines()) < 20
    assert not out.exists()
    net = archdsl.load("specs/alexnet_torchvision.arch", input_shape=(3, 223, 223))
    assert net.layer("adaptiveavgpool1").output_shape == (256, 6, 6) and not net.warnings


def test_adaptive_upsampling_points_at_its_layer():
    from archdsl.errors import ArchError
    spec = "network AP {\n  input 3x8x8\n  conv 4 k=3 s=2 p=1\n  maxpool k=2 s=2\n  adaptivemaxpool 2x3\n  flatten\n}"
    with pytest.raises(ArchError) as info:
        export(spec, "unused.onnx")
    d = info.value.first
    assert (d.line, d.col) == (5, 3) and "pools 2x2 to 2x3" in d.message
    assert d.hint.startswith("--input 3x23x23")  # 23 -> 12 -> 6: 6x6 pools to 2x3 with fixed windows
    assert "fixed window instead" not in d.hint  # no fixed window can upsample


def test_adaptive_pool_hint_for_an_analysed_network_offers_a_fixed_window():
    from archdsl.backends.onnx.export import check_exportable
    from archdsl.errors import ArchError
    net = archdsl.loads("network A { input 3x13x13; adaptiveavgpool 6x6 }")
    with pytest.raises(ArchError) as info:
        check_exportable(net)  # no spec to re-analyse: no input suggestion
    assert info.value.first.hint == ("choose an input size that makes this map a multiple of 6x6 (--input); "
                                     "or pool with a fixed window instead: avgpool k=3 s=2")
    fixed = archdsl.loads("network A { input 3x13x13; avgpool k=3 s=2 }")
    assert fixed.output_shape == (3, 6, 6)


def test_adaptive_and_global_pools_that_divide_export(tmp_path):
    net = archdsl.loads("network A { input 3x12x12; adaptiveavgpool 3x4; adaptivemaxpool 3x2; "
                        "globalavgpool }")
    model = archdsl.build(net)
    export_module(model, net.input_shape, tmp_path / "a.onnx")
    assert verify(model, tmp_path / "a.onnx", net.input_shape).max_rel < 1e-5


def test_exporter_internals_are_not_dumped(tmp_path, monkeypatch, capsys):
    ir = "\n".join(f"  %{i} : Float(2, 3) = onnx::Constant()" for i in range(60))

    def noisy(*args, **kwargs):
        raise RuntimeError(f"Unsupported: ONNX export of operator foo.\n{ir}")

    monkeypatch.setattr(torch.onnx, "export", noisy)
    monkeypatch.delenv("ARCHDSL_DEBUG", raising=False)
    assert main(["export", "specs/lenet5.arch", "-o", str(tmp_path / "l.onnx")]) == 1
    err = capsys.readouterr().err
    assert "ONNX export failed: Unsupported: ONNX export of operator foo." in err
    assert "onnx::Constant" not in err and "--opset" not in err and "ARCHDSL_DEBUG=1" in err
    monkeypatch.setenv("ARCHDSL_DEBUG", "1")
    assert main(["export", "specs/lenet5.arch", "-o", str(tmp_path / "l.onnx")]) == 1
    assert err.count("\n") < capsys.readouterr().err.count("onnx::Constant")
