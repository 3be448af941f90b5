"""Training memory, statically: the saved-activation estimate equals what
`torch.autograd.graph.saved_tensors_hooks` sees during one training forward
pass of the built module on CPU -- to the byte, both counted as the hooks see
them (each time a tensor is saved) and as memory holds them (each storage
once) -- on the gallery and on the random specs of test_torch_property. Also
the backward-MACs convention, the optimiser state, the batch that fits and
the checkpointing advice."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.core.memory import (
    OPTIMIZERS,
    backward_macs,
    checkpoint_candidates,
    optimizer_of,
    training_memory,
    with_checkpoints,
)
from archdsl.core.ops import MERGES, REGISTRY
from archdsl.core.saved import rule_for
from tests.conftest import GALLERY

KINDS = sorted(set(REGISTRY.values()) | set(MERGES.values()), key=lambda cls: cls.keywords[0])
GIB = 1 << 30


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.keywords[0])
def test_every_kind_says_what_it_saves(cls):
    assert rule_for(cls) is not None, f"{cls.__name__} has no entry in archdsl/core/saved.py SAVES"


def test_backward_is_twice_forward_except_where_no_input_gradient_flows():
    net = archdsl.load("specs/alexnet.arch")
    back = backward_macs(net)
    conv1, conv2, fc6 = (net.layer(n) for n in ("conv1", "conv2", "fc6"))
    assert back[conv1.node] == conv1.macs  # the input needs no gradient: weights only
    assert back[conv2.node] == 2 * conv2.macs
    assert back[fc6.node] == 2 * fc6.macs
    assert sum(back.values()) == 2 * net.totals.macs - conv1.macs


def test_parts_of_the_total():
    net = archdsl.load("specs/alexnet.arch")
    params = net.totals.params * 4
    sgd = training_memory(net, 32, "sgd")
    adam = training_memory(net, 32, "adam")
    assert sgd.fixed_bytes == 2 * params  # weights and gradients; AlexNet has no BN
    assert adam.fixed_bytes == 4 * params and training_memory(net, 32, "momentum").fixed_bytes == 3 * params
    assert sgd.total_bytes(64) - sgd.total_bytes(32) == 32 * sgd.per_sample_bytes
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adam", "adamw"}


def test_largest_batch_fits_and_one_more_does_not():
    net = archdsl.load("specs/resnet50.arch")
    mem = training_memory(net, 1, "adam", "cuda")
    b = mem.largest_batch(24 * GIB)
    assert b > 0 and mem.total_bytes(b) <= 24 * GIB < mem.total_bytes(b + 1)
    assert mem.largest_batch(mem.fixed_bytes) == 0


def test_checkpointing_frees_what_only_the_block_saves():
    net = archdsl.load("specs/resnet50.arch")
    mem = training_memory(net, 1)
    ranked = checkpoint_candidates(mem)
    assert ranked and all(s.freed_per_sample > 0 for s in ranked)
    assert all(s.freed_per_sample <= s.held_per_sample for s in ranked)
    assert with_checkpoints(mem, ranked) < mem.per_sample_bytes


def test_optimizer_from_the_train_section():
    net = archdsl.loads("network N { input 3x8x8\n conv 4 k=3 }\n"
                        "train { optimizer sgd lr=0.1 momentum=0.9 }")
    assert optimizer_of(net) == "momentum"
    assert optimizer_of(archdsl.loads("network N { input 3x8x8\n conv 4 k=3 }")) == "sgd"


def test_shared_storage_counts_once():
    """conv -> relu (in place) -> conv: the relu's output and the next conv's
    input are one tensor, saved twice, held once."""
    net = archdsl.loads("network N { input 3x8x8\n conv 4 k=3\n relu\n conv 4 k=3 }")
    mem = training_memory(net, 1)
    x, c1 = 3 * 8 * 8 * 4, 4 * 6 * 6 * 4
    assert mem.packed_bytes(1) == x + c1 + c1 and mem.saved_bytes(1) == x + c1


# -- torch is the oracle ---------------------------------------------------------------------------

torch = pytest.importorskip("torch")


def _same(net, batch=2):
    from archdsl.backends.measure import measure_saved
    measured = measure_saved(net, batch)
    est = training_memory(net, batch)
    assert (est.packed_bytes(batch), est.saved_bytes(batch)) == (measured.packed_bytes, measured.held_bytes)


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_gallery_estimate_equals_the_hooks(spec):
    for net in archdsl.load_all(spec):
        _same(net)


@pytest.mark.parametrize("body", [
    "conv 4 k=1; pad 1 mode=reflect; conv 3 k=1", "conv 4 k=1; pad 1 mode=replicate; conv 3 k=1",
    "conv 4 k=1; pad 1 mode=circular; conv 3 k=1", "conv 4 k=1; upsample 2 mode=bilinear; conv 3 k=1",
    "conv 4 k=1; avgpool k=3 s=2 p=same; conv 3 k=1", "conv 4 k=1; conv 4 k=4 s=2 p=same",
    "conv 4 k=1; maxpool k=2 s=2 p=same; conv 3 k=1", "conv 4 k=1; minpool k=3 s=2 p=1 ceil=true; conv 3 k=1",
    "maxpool k=2; relu; conv 3 k=1; leakyrelu 0.1; maxpool k=2; leakyrelu 0.1; conv 2 k=1",
    "conv 4 k=1; softmax; conv 2 k=1", "conv 4 k=1; relu6; conv 4 k=1; gap; relu6; conv 2 k=1",
    "conv 4 k=1; dropout 0.0; conv 2 k=1; stochasticdepth 0.0; conv 2 k=1",
    "conv 4 k=1; adaptiveavgpool 3; conv 2 k=1; adaptivemaxpool 2; flatten; fc 3",
    "conv 4 k=1; instancenorm running=true affine=true; conv 2 k=1",
    "conv 4 k=1; permute (1, 2, 0); flatten; fc 3",
])
def test_corner_cases_equal_the_hooks(body):
    _same(archdsl.loads("network N { input 4x9x9\n" + body.replace(";", "\n") + " }"))


def test_caffe_pooling_and_token_ids_equal_the_hooks():
    _same(archdsl.loads("network N { input 4x9x9\n conv 4 k=1\n maxpool k=2 s=2 round=caffe p=1\n"
                        " avgpool k=3 s=2 round=caffe\n conv 2 k=1 }"))
    _same(archdsl.loads("network N { input words 12 dtype=long\n embedding 50 8\n conv 4 k=3\n gmp\n"
                        " flatten\n fc 2 }"))


from hypothesis import HealthCheck, assume, given, settings  # noqa: E402

from tests.test_torch_property import specs  # noqa: E402


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_random_specs_equal_the_hooks(text):
    try:
        net = archdsl.loads(text)
    except archdsl.ArchError:
        assume(False)  # the shared generator's rare invalid spec (a window past a tiny map): not this test's
    try:
        _same(net)
    except ValueError as exc:
        # torch refuses to train instance norm over a single position; `check` (eval) accepts it
        assume("more than 1 spatial element" not in str(exc))
        raise
