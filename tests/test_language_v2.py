"""The tensor-graph language: named tensors, several inputs and outputs,
broadcasting merges, blocks that know their input, conditionals, functions,
defaults, layer kinds as arguments, shape assertions, allowed warnings and
the friction items of the 25-network review (issue 13)."""
from __future__ import annotations

import pytest

import archdsl


def net(text: str, **options) -> archdsl.Network:
    return archdsl.loads(text, "t.arch", **options)


def error(text: str, **options):
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads(text, "t.arch", **options)
    return info.value


def shapes(n: archdsl.Network) -> dict:
    return {layer.name: layer.output_shape for layer in n.layers}


# -- named tensors ---------------------------------------------------------------------

UNET_STEP = """
network U {
  input 1x64x64
  e1: conv 8 k=3; relu
  maxpool k=2
  conv 16 k=3; relu
  up: convtranspose 8 k=2 s=2
  skip: from @e1 { crop @up }
  concat @skip @up
  conv 8 k=3
}
"""


def test_a_decoder_concatenates_an_earlier_tensor_cropped_to_the_flow():
    n = net(UNET_STEP)
    s = shapes(n)
    assert s["relu1"] == (8, 62, 62) and s["up"] == (8, 58, 58)
    assert s["crop1"] == (8, 58, 58) and s["concat1"] == (16, 58, 58)
    concat = n.layer("concat1")
    assert [i.name for i in concat.node.inputs] == ["crop1", "up"]  # @skip is the crop's output
    assert n.layer("crop1").node.inputs[0].name == "e1"  # a label names its own statement: the conv


def test_one_tensor_merges_with_the_flow_several_merge_as_listed():
    n = net("network N { input 4x8x8; a: conv 4 k=1; relu; concat @a }")
    assert [i.name for i in n.layer("concat1").node.inputs] == ["relu1", "a"]
    n = net("network N { input 4x8x8; a: conv 4 k=1; relu; concat @a @ }")
    assert [i.name for i in n.layer("concat1").node.inputs] == ["a", "relu1"]
    n = net("network N { input 4x8x8; a: conv 4 k=1; b: relu; conv 4 k=1; concat @a @b }")
    assert [i.name for i in n.layer("concat1").node.inputs] == ["a", "b"]


def test_json_lists_each_layers_inputs():
    doc = net(UNET_STEP).to_dict()
    concat = next(layer for layer in doc["layers"] if layer["name"] == "concat1")
    assert concat["inputs"] == ["crop1", "up"]
    assert doc["inputs"] == [{"name": "input", "shape": [1, 64, 64], "dtype": "float"}]


def test_an_unknown_tensor_suggests_a_visible_one():
    e = error("network N {\n  input 4x8x8\n  enc: conv 4 k=1\n  concat @enk\n}")
    assert (e.message, e.line, e.col) == ("unknown tensor @enk", 4, 10)
    assert e.first.hint == "did you mean @enc?"


def test_a_tensor_inside_a_branch_is_not_visible_outside():
    e = error("network N {\n  input 4x8x8\n  add { branch { x: conv 4 k=1 } branch { } }\n  mul @x\n}")
    assert e.message == "@x is not visible here"
    assert "it is defined inside a branch at t.arch:3:18" in e.first.notes


def test_a_statement_cannot_refer_to_its_own_label():
    e = error("network N {\n  input 4x8x8\n  y: add { branch { conv 4 k=1 } branch { mul @y } }\n}")
    assert e.message == "@y refers to the statement it is part of"


def test_blocks_do_not_see_the_callers_tensors_but_take_them_as_arguments():
    e = error("block B { concat @e }\nnetwork N { input 4x8x8; e: conv 4 k=1; B }")
    assert e.message == "@e is not visible here"
    n = net("block B(skip) { concat @skip @ }\nnetwork N { input 4x8x8; e: conv 4 k=1; relu; B(@e) }")
    assert n.output_shape == (8, 8, 8)


def test_labels_inside_an_if_are_seen_after_it():
    n = net("network N { input 4x8x8; if 1 > 0 { x: conv 4 k=1 } else { x: conv 4 k=3 p=1 }; relu; add @x }")
    assert n.layer("x").hyper.startswith("1x1")


# -- several inputs and outputs ---------------------------------------------------------

TWO = """
network Two {
  input image 3x32x32
  input meta 12
  conv 8 k=3 p=1; relu; gap; flatten
  feat: fc 16
  from @meta { fc 16; relu }
  concat @feat @
  fc 10
  output logits
  from @feat { fc 2 }
  output aux
}
"""


def test_named_inputs_and_outputs():
    n = net(TWO)
    g = n.graph
    assert [i.local_name for i in g.inputs] == ["image", "meta"]
    assert g.output_names == ["logits", "aux"]
    assert [o.shape for o in g.outputs] == [(10,), (2,)]
    doc = n.to_dict()
    assert [o["name"] for o in doc["outputs"]] == ["logits", "aux"]
    assert "Outputs  logits 10 \u00b7 aux 2" in n.summary("text")


def test_an_input_can_be_set_by_name():
    n = net(TWO, input_shape={"image": (3, 64, 64)})
    assert n.graph.inputs[0].shape == (3, 64, 64) and n.graph.inputs[1].shape == (12,)


def test_inputs_come_first():
    e = error("network N {\n  input 3x8x8\n  relu\n  input 4\n}")
    assert e.message == "input statements come first in a network, before any layer"


def test_outputs_belong_to_the_network():
    e = error("block B { relu; output x }\nnetwork N { input 3x8x8; B }")
    assert e.message == "outputs belong to the network, not to a block"


# -- broadcasting merges ------------------------------------------------------------------

SE = """
block SE(r=4) {
  x: identity
  gap; conv in.c // r k=1; relu; conv in.c k=1; hardsigmoid
  mul @x
}
network N { input 16x8x8; SE(); SE(r=2) }
"""


def test_squeeze_and_excitation_multiplies_by_a_broadcast_gate():
    n = net(SE)
    assert n.output_shape == (16, 8, 8)
    assert n.totals.params == (16 * 4 + 4 + 4 * 16 + 16) + (16 * 8 + 8 + 8 * 16 + 16)


def test_shapes_that_do_not_broadcast_are_listed():
    e = error("network N {\n  input 16x8x8\n  mul { branch { } branch { gap; conv 8 k=1 } }\n}")
    assert e.message == "mul inputs do not broadcast"
    assert "input shapes: 16x8x8, 8x1x1" in e.first.notes


# -- blocks that know their input; conditionals; functions ------------------------------------

INVERTED = """
block Body(c, s, t) {
  conv in.c * t k=1 bias=false; bn; relu6
  conv in.c * t k=3 s=s p=1 g=in.c * t bias=false; bn; relu6
  conv c k=1 bias=false; bn
}
block Inverted(c, s=1, t=6) {
  if s == 1 and in.c == c {
    residual { Body(c, s, t) }
  } else {
    Body(c, s, t)
  }
}
network M { input 16x16x16; Inverted(16); Inverted(24, s=2); Inverted(24) }
"""


def test_mobilenet_v2s_rule_in_one_block():
    n = net(INVERTED)
    adds = [layer.name for layer in n.layers if layer.op == "add"]
    assert adds == ["inverted1.add1", "inverted3.add1"]  # stride 2 and a channel change: no skip
    assert n.output_shape == (24, 8, 8)


def test_residual_optional_skips_only_where_the_shape_holds():
    n = net("network N { input 4x8x8; residual optional { conv 4 k=3 p=1 }; residual optional { conv 8 k=1 } }")
    assert [layer.op for layer in n.layers] == ["input", "conv", "add", "conv"]


def test_conditions_must_be_booleans():
    e = error("block B(s=1) {\n  if s { relu }\n}\nnetwork N { input 3x8x8; B }")
    assert e.message == "the condition of an if must be true or false, got 1"


def test_in_has_the_axes_of_its_rank():
    n = net("block B { conv in.c * 2 k=1; conv in.l k=1 }\nnetwork N { input 4x10; B }")
    assert n.output_shape == (10, 10)  # `in` is the block's input, whatever the flow is by then
    e = error("block B { conv in.h k=1 }\nnetwork N { input 4x10; B }")
    assert e.message == "the input is 4x10: it has no axis 'h'"


def test_make_divisible_is_torchvisions():
    from archdsl.lowering.expressions import make_divisible
    assert [make_divisible(v, 8) for v in (60, 30, 36, 96 / 4, 576 / 4, 20)] == [64, 32, 40, 24, 144, 24]
    n = net("block SE(c) { conv make_divisible(c / 4, 8) k=1 }\nnetwork N { input 240x4x4; SE(240) }")
    assert n.output_shape == (64, 4, 4)


def test_min_max_and_the_conditional_expression():
    n = net("block B(c) { conv max(8, c // 2) k=1; conv 3 if c > 4 else 5 k=1 }\nnetwork N { input 4x4x4; B(6) }")
    assert [layer.output_shape[0] for layer in n.layers[1:]] == [8, 3]


def test_an_unknown_function_suggests_a_known_one():
    e = error("network N { input 4x4x4; conv mx(8, 4) k=1 }")
    assert e.message == "unknown function 'mx'" and e.first.hint.startswith("did you mean 'max'?")


# -- defaults, kinds as arguments, zero-parameter blocks -------------------------------------------

def test_defaults_apply_to_what_follows_and_to_called_blocks():
    n = net("""
defaults { bn eps=1e-3 }
block CBA(c, act=relu) { conv c k=3 p=half; bn; act }
network D { input 3x16x16; defaults { conv bias=false }; CBA(8); CBA(8, act=hardswish); conv 4 k=1 bias=true }
""")
    assert n.layer("cba1.conv1").params == 8 * 3 * 9  # no bias, from the network's defaults
    assert n.layer("cba1.bn1").hyper == "eps 0.001"  # from the file's defaults
    assert n.layer("cba2.hardswish1").op == "hardswish"  # the kind passed as an argument
    assert n.layer("conv1").params == 8 * 4 + 4  # explicit bias=true wins


def test_a_bad_default_is_positioned():
    e = error("network N {\n  input 3x8x8\n  defaults { bn eps=-1 }\n}")
    assert (e.message, e.line) == ("eps must be positive, got -1", 3)


def test_a_parameterless_block_is_called_by_name():
    n = net("block Stem { conv 8 k=3 p=1; relu }\nnetwork N { input 3x8x8; Stem; Stem() }")
    assert [layer.block for layer in n.layers[1:]] == ["stem1", "stem1", "stem2", "stem2"]
    e = error("block Stage(c) { conv c k=1 }\nnetwork N { input 3x8x8; Stage }")
    assert e.first.hint == "call it with its arguments in parentheses, right after the name: Stage(c)"


def test_a_parameter_that_is_not_a_kind_is_no_statement():
    e = error("block B(act=3) { act }\nnetwork N { input 3x8x8; B }")
    assert e.message == "'act' is a parameter holding 3, not a layer kind"


# -- expect, allowed warnings, padding words -----------------------------------------------------

def test_expect_checks_a_shape_with_the_arithmetic():
    net("network N { input 3x227x227; conv 96 k=11 s=4; expect 96x55x55 }")
    e = error("network N {\n  input 3x224x224\n  conv 96 k=11 s=4\n  expect 96x55x55\n}")
    assert e.message == "expected 96x55x55, got 96x54x54"
    assert "height and width: (224 - 11 + 0)/4 + 1 = 54.25" in e.first.notes


def test_an_allowed_warning_is_silenced_but_recorded():
    text = "network N {\n  input 3x224x224\n  conv 96 k=11 s=4   # archdsl: allow not-whole\n}"
    n = net(text)
    assert n.warnings == [] and [w.code for w in n.allowed] == ["not-whole"]
    assert n.to_dict()["allowed_warnings"][0]["line"] == 3
    assert "Allowed warning (not-whole) at line 3" in n.summary("text")
    assert net(text.replace("  # archdsl: allow not-whole", "")).warnings[0].code == "not-whole"


def test_p_half_is_pytorchs_symmetric_padding():
    n = net("network N { input 3x9x9; conv 4 k=5 d=2 p=half; conv 4 k=1x3 p=half }")
    assert n.layers[1].hyper == "5x5, s1, p4, d2" and n.layers[1].output_shape == (4, 9, 9)
    assert n.layers[2].output_shape == (4, 9, 9)


def test_non_finite_numbers_are_refused():
    e = error("network N {\n  input 3x8x8\n  bn eps=1e309\n}")
    assert e.message == "the number 1e309 is too large"


# -- hints that do not mislead (issue 13) -----------------------------------------------------------

def test_names_from_pytorch_get_what_archdsl_calls_them():
    e = error("network N { input 3x8x8; hsigmoid }")
    assert e.first.hint == "'hsigmoid' is what PyTorch or Keras call it; archdsl writes `hardsigmoid`"
    e = error("network N { input 3x8x8; mish }")
    assert e.message == "'mish' is not a layer kind of archdsl"
    assert "sigmoid" not in e.first.hint


def test_the_not_whole_hint_on_a_conv_offers_no_ceil():
    (w,) = net("network N { input 3x224x224; conv 96 k=11 s=4 }").warnings
    assert w.hint == "an input of 223 or 227 divides evenly, or use p=same"


def test_an_unknown_name_in_a_block_without_parameters_says_so():
    e = error("block B { conv in2 // 2 k=1 }\nnetwork N { input 3x8x8; B }")
    assert e.first.hint == "block B has no parameters; names stand for block parameters"


def test_a_hint_never_proposes_rounding_to_zero():
    e = error("block B(w, gw) { conv w k=1 g=w / gw }\nnetwork N { input 80x8x8; B(80, 120) }")
    assert e.message == "80/120 is not a whole number"
    assert "w / gw = 80 / 120" in e.first.notes
    assert "//" not in e.first.hint.split(":")[0] or "0" in e.first.hint


def test_a_computed_value_shows_what_it_was_made_of():
    e = error("block B(w, gw) { conv w k=1 g=w // gw }\nnetwork N { input 80x8x8; B(80, 120) }")
    assert e.message == "g must be positive, got 0"
    assert "w // gw = 80 // 120 = 0" in e.first.notes
