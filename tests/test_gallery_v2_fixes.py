"""Regression tests for what writing the v2 gallery and stdlib found in the
language implementation: `in` in a block parameter's default, `true`/`false`
as booleans in conditions, no echo error at `in.c` after an earlier error,
the receptive field of a broadcasting merge (an SE gate), and ONNX export of
networks with several (named) inputs and outputs."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import ArchError


def test_parameter_default_reads_the_block_input():
    net = archdsl.loads("block SE(sq=make_divisible(in.c // 4, 8)) { conv sq k=1 }\n"
                        "network N { input 96x7x7; SE; SE(sq=4) }")
    assert net.layer("se1.conv1").output_shape == (24, 7, 7)  # make_divisible(96 // 4, 8)
    assert net.layer("se2.conv1").output_shape == (4, 7, 7)


def test_parameter_default_sees_the_input_of_each_call():
    net = archdsl.loads("block Half(c=in.c // 2) { conv c k=1 }\n"
                        "network N { input 64x4x4; Half; Half; Half(c=5) }")
    assert [layer.output_shape[0] for layer in net.layers if layer.op == "conv"] == [32, 16, 5]


@pytest.mark.parametrize("arg, kind", [("true", "relu"), ("false", "sigmoid")])
def test_true_and_false_are_booleans_in_conditions(arg, kind):
    net = archdsl.loads("block B(se=false) {\n  if se { relu } else { sigmoid }\n"
                        "  if not se and true { tanh }\n  conv 4 k=1 bias=se\n}\n"
                        f"network N {{ input 8x4x4; B({arg}) }}")
    ops = [layer.op for layer in net.layers[1:]]
    assert ops[0] == kind
    assert ("tanh" in ops) == (arg == "false")
    assert net.totals.params == 32 + (4 if arg == "true" else 0)


def test_a_word_that_is_not_a_boolean_is_still_refused_by_if():
    with pytest.raises(ArchError) as info:
        archdsl.loads("block B(x=same) { if x { relu } }\nnetwork N { input 8x4x4; B }")
    assert "the condition of an if must be true or false, got same" in info.value.diagnostics[0].message


def test_no_echo_error_at_in_c_after_an_earlier_error():
    """`conv in.c` after a failed call: one error (the bad argument), not a second
    "the shape of @in is unknown" at the block that follows."""
    text = ("block A(c) { conv c k=3 p=1 }\nblock G { conv in.c k=1 }\n"
            "network N { input 8x4x4; A(c=4, g=2); G }")
    with pytest.raises(ArchError) as info:
        archdsl.loads(text)
    messages = [d.message for d in info.value.diagnostics if d.severity == "error"]
    assert messages == ["A has no parameter 'g'"]


def test_receptive_field_of_a_broadcast_gate_is_the_gates_not_inflated():
    """An SE gate (Cx1x1) is read at its one pixel by every output pixel: the
    mul's field is the whole 8x8 input, not a window that moves with the gate's jump."""
    net = archdsl.loads('use "std/se.arch"\nnetwork N { input 16x8x8; SE(4) }')
    assert net.layer("se1.branch2.avgpool").receptive_field == (8, 8)
    assert net.layer("se1.mul1").receptive_field == (8, 8)
    # A merge of equal-sized inputs is unchanged: the union of the two windows.
    net = archdsl.loads("network N { input 4x8x8; add { branch { conv 4 k=3 p=1 } branch { } } }")
    assert net.layer("add1").receptive_field == (3, 3)


TWO_IN_TWO_OUT = """
network Two {
  input image 3x16x16
  input meta 12
  conv 8 k=3 p=1
  features: gap
  flatten
  concat @ @meta
  fc 4
  output logits
  output pooled @features
}
"""


def test_onnx_export_names_every_input_and_output(tmp_path):
    pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from archdsl.backends.onnx.export import export, io_names
    net = archdsl.loads(TWO_IN_TWO_OUT)
    assert io_names(net) == (["image", "meta"], ["logits", "pooled"])
    out = tmp_path / "two.onnx"
    result = export(net, out, verify_batch=3)
    assert result.max_rel < 1e-5 and result.batch == 3
    model = onnx.load(str(out))

    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    assert [(v.name, dims(v)) for v in model.graph.input] == [("image", ["batch", 3, 16, 16]),
                                                              ("meta", ["batch", 12])]
    assert [(v.name, dims(v)) for v in model.graph.output] == [("logits", ["batch", 4]),
                                                               ("pooled", ["batch", 8, 1, 1])]


def test_onnx_cli_verifies_two_outputs(tmp_path, cli):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np
    spec = tmp_path / "two.arch"
    spec.write_text(TWO_IN_TWO_OUT, encoding="utf-8")
    out = tmp_path / "two.onnx"
    code, _, err = cli("export", spec, "-o", out, "--verify")
    assert code == 0, err
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    logits, pooled = session.run(None, {"image": np.zeros((5, 3, 16, 16), np.float32),
                                        "meta": np.zeros((5, 12), np.float32)})
    assert logits.shape == (5, 4) and pooled.shape == (5, 8, 1, 1)
