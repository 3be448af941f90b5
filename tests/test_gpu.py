"""GPU paths: `.to("cuda")` is all a built module needs. Skipped without CUDA."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("spec", ["resnet50", "googlenet", "textcnn", "minigooglenet"])
def test_cuda_forward_matches_cpu(spec):
    net = archdsl.load(f"specs/{spec}.arch")
    model = archdsl.build(net).eval()
    x = torch.randn(4, *net.input_shape)
    with torch.no_grad():
        ref = model(x)
        got = model.to("cuda")(x.cuda()).cpu()
    torch.testing.assert_close(got, ref, rtol=1e-3, atol=1e-3)


def test_cuda_training_step_channels_last_autocast():
    net = archdsl.load("specs/miniresnet.arch")
    model = archdsl.build(net).to("cuda").to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(8, *net.input_shape, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (8,), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
