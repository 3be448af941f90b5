"""The structured form on the constructs that shape it: blocks whose calls
need a projection or not, calls an `if` or a kind argument sends to other
bodies (a class each), tensor arguments, labelled and unlabelled repeats,
nested blocks, optional residuals. Torch is the oracle, as for the gallery."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.backends.torch import generate_source  # noqa: E402

from .test_torch_build import assert_matches_analysis  # noqa: E402

SPEC = """
block B(c, s=1) {
  residual { conv c k=3 s=s p=1; bn; relu; conv c k=3 p=1; bn } shortcut { conv c k=1 s=s; bn }
  relu
}
block Mixed(c, n=2, act=relu) {
  repeat n { conv c k=3 p=1; act }
  if c > 16 { maxpool k=2 } else { identity }
}
block Tw(c, other) {
  concat @ @other
  conv c k=1
}
block Pair(c) { B(c); B(c) }
network N {
  input 3x32x32
  stem: conv 16 k=3 p=1
  stage1: repeat 3 { B(16) }
  stage2: repeat 2 { B(32, s=2) }
  repeat 3 { B(32) }
  t: Mixed(8)
  Mixed(8, n=3, act=sigmoid)
  Mixed(32)
  Mixed(32)
  u: Mixed(32)
  Tw(12, other=@u)
  Pair(12)
  residual optional { conv 12 k=1 }
  residual optional { conv 14 k=1 }
  gap; flatten; fc 10
}
"""


@pytest.fixture(scope="module")
def net():
    return archdsl.loads(SPEC)


def test_every_shape_and_count_is_the_analysis(net):
    assert_matches_analysis(net)
    assert_matches_analysis(net, flat=True)


def test_what_the_file_makes_of_each_construct(net):
    source = generate_source(net)
    assert "class B(nn.Module):" in source and "    def __init__(self, in_c, c, s=1):" in source
    assert "        if s != 1:\n            self.shortcut1 = nn.Sequential(OrderedDict(" in source
    assert 'self.stage1 = nn.Sequential(OrderedDict((f"b{i}", B(16, 16)) for i in range(1, 4)))' in source
    assert 'setattr(self, f"b{i}", B(32, 32))' in source  # the unlabelled repeat: a loop
    assert "class Mixed2(nn.Module):" in source and "the calls with act=sigmoid" in source
    assert "    def forward(self, x, other):" in source  # a tensor argument
    assert "class Pair(nn.Module):" in source and "self.b1 = B(in_c, c)" in source  # a class inside a class
    compile(source, "n.py", "exec")


def test_flat_and_structured_compute_the_same(net):
    flat = archdsl.build(net, flat=True).eval()
    structured = archdsl.build(net, weights=flat.state_dict()).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(structured(x), flat(x))


def test_a_block_used_once_reads_with_its_parameters():
    source = generate_source(archdsl.load("specs/googlenet.arch"))
    assert "    def __init__(self, in_c, c1, c3r, c3, c5r, c5, pp):" in source
    assert "self.branch2 = nn.Sequential(OrderedDict(\n" in source
    assert "basicconv1=BasicConv(in_c, c3r), basicconv2=BasicConv(c3r, c3, k=3, p=1)," in source
