"""Small modules and functions the generated file defines for itself when a
spec uses them: layers torch.nn lacks (channel LayerNorm, layer scale,
stochastic depth, channel shuffle). They are written into the file, so it
still imports nothing but torch."""
from __future__ import annotations

HELPERS = {
    "ChannelLayerNorm": '''
class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of an N x C x ... map (ConvNeXt's LayerNorm2d)."""

    def forward(self, x):
        # permute with non-negative axes: movedim(1, -1) exports an ONNX Transpose onnxruntime refuses
        last = x.ndim - 1
        y = super().forward(x.permute(0, *range(2, x.ndim), 1))
        return y.permute(0, last, *range(1, last))
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """A learned scale per channel, initialised to `init` (CaiT, ConvNeXt)."""

    def __init__(self, channels, init, rank):
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,) + (1,) * rank, float(init)))

    def forward(self, x):
        return x * self.scale
''',
    "StochasticDepth": '''
class StochasticDepth(nn.Module):
    """Drop the branch with probability p while training (torchvision.ops.StochasticDepth)."""

    def __init__(self, p, mode):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1) if self.mode == "row" else (1,) * x.ndim
        noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * noise.div_(survival) if survival > 0.0 else x * noise
''',
    "make_divisible": '''
def make_divisible(v, divisor, min_value=None):
    """torchvision's _make_divisible: the nearest multiple of divisor, never 10% below v."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new
''',
    "channel_shuffle": '''
def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle: g groups of C/g channels, interleaved."""
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
''',
}


from archdsl.backends.torch.helpers_attention import ATTENTION_HELPERS  # noqa: E402

HELPERS.update(ATTENTION_HELPERS)


def helper_source(names) -> list[str]:
    """The definitions for the helpers used, in a fixed order (deterministic files)."""
    lines: list[str] = []
    for name in HELPERS:
        if name in names:
            lines += ["", "", *HELPERS[name].strip("\n").split("\n")]
    return lines
