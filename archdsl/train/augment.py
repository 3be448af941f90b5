"""Training-time augmentation: random crop with zero padding, horizontal flip.

The random choices are drawn per epoch for every sample of the training set
from a generator seeded by (seed, epoch), and a batch looks its samples up.
So a sample is cropped the same way whichever process or batch it lands in:
a distributed run augments exactly like a single one, and a resumed run like
an uninterrupted one, with no generator state to save."""
from __future__ import annotations

import torch
import torch.nn.functional as F


class Augmenter:
    """`crop`: padding in pixels (0 is off); `flip`: random horizontal flips."""

    def __init__(self, crop: int, flip: bool, seed: int, n: int):
        self.crop, self.flip, self.seed, self.n = crop, flip, seed, n
        self.offsets = self.flips = None

    @property
    def active(self) -> bool:
        return bool(self.crop or self.flip)

    def start_epoch(self, epoch: int) -> None:
        """Draw this epoch's crop offsets and flips for all n samples."""
        if not self.active:
            return
        gen = torch.Generator().manual_seed((self.seed + 1) * 1_000_003 + epoch)
        self.offsets = torch.randint(0, 2 * self.crop + 1, (self.n, 2), generator=gen)
        self.flips = torch.rand(self.n, generator=gen) < 0.5

    def __call__(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Batch `x` (B x C x H x W) of the samples `index` (CPU indices), augmented."""
        if not self.active:
            return x
        index = index.cpu()
        if self.crop:
            x = random_crop(x, self.crop, self.offsets[index].to(x.device))
        if self.flip:
            flips = self.flips[index].to(x.device).reshape(-1, 1, 1, 1)
            x = torch.where(flips, x.flip(3), x)
        return x


def random_crop(x: torch.Tensor, pad: int, offsets: torch.Tensor) -> torch.Tensor:
    """Pad by `pad` zeros (the mean, after normalisation) and cut each sample's
    H x W window at its (dy, dx) offset, all in one gather."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = offsets[:, 0:1] + torch.arange(h, device=x.device)        # B x H
    cols = offsets[:, 1:2] + torch.arange(w, device=x.device)        # B x W
    batch = torch.arange(b, device=x.device).reshape(b, 1, 1)
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]       # B x H x W x C
    return out.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def _format_of(x: torch.Tensor):
    return torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and \
        not x.is_contiguous() else torch.contiguous_format
