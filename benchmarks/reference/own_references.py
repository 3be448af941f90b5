"""Hand-written nn.Module references (plain torch, no torchvision) and their figures,
counted by the same hook counter as torchvision_figures.py (counter.py).

    python benchmarks/reference/own_references.py        # either venv

Writes <name>.txt (print(model)), <name>.layers.txt and own_figures.json next to
this file, and prints a table.

* unet        Ronneberger et al. 2015, Fig. 1: input 1x572x572, unpadded 3x3
              convs (bias) + ReLU, two per stage; 2x2 max pool s2; encoder
              64-128-256-512-1024; decoder 2x2 transposed conv s2 halving the
              channels, centre-crop of the encoder map, concat [cropped encoder,
              upsampled], two 3x3 convs; final 1x1 conv to 2 classes.
* dcgan_g     PyTorch DCGAN tutorial generator, nz=100, ngf=64, nc=3, input 100x1x1.
* yolov3_tiny YOLOv3-tiny-style detector, 3x416x416, two heads (13x13, 26x26).
              Every op is conv / BN / LeakyReLU(0.1) / maxpool(2, 2) / nearest
              upsample x2 / channel concat / 1x1 conv head with bias.  Darknet's
              stride-1 2x2 maxpool after the 512 conv (asymmetric zero pad, 13x13 ->
              13x13) is left out: it changes no shape, parameter or MAC.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from counter import analyse, layers_text  # noqa: E402

# -- U-Net ---------------------------------------------------------------------------

class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3), nn.ReLU(inplace=True))


def center_crop(x, h, w):
    H, W = x.shape[-2:]
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top:top + h, left:left + w]


class UNet(nn.Module):
    def __init__(self, in_ch=1, n_classes=2, widths=(64, 128, 256, 512, 1024)):
        super().__init__()
        self.enc = nn.ModuleList()
        c = in_ch
        for w in widths[:-1]:
            self.enc.append(DoubleConv(c, w))
            c = w
        self.pool = nn.MaxPool2d(2, 2)
        self.bottleneck = DoubleConv(c, widths[-1])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        c = widths[-1]
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, c // 2, 2, stride=2))
            self.dec.append(DoubleConv(2 * w, w))  # concat: w (cropped skip) + c//2 == w (upsampled)
            c = w
        self.head = nn.Conv2d(c, n_classes, 1)

    def forward(self, x):
        skips = []
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=False):
            x = up(x)
            x = torch.cat([center_crop(skip, *x.shape[-2:]), x], dim=1)
            x = dec(x)
        return self.head(x)


# -- DCGAN generator (PyTorch tutorial) -----------------------------------------------

class DCGANGenerator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


# -- YOLOv3-tiny-style ----------------------------------------------------------------

def cbl(cin, cout, k):
    """conv (no bias, pad k//2) + BN(eps 1e-5) + LeakyReLU(0.1), as darknet's batch_normalize=1 conv."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, k // 2, bias=False),
                         nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1), nn.LeakyReLU(0.1, inplace=True))


class YOLOv3Tiny(nn.Module):
    def __init__(self, num_classes=80, num_anchors=3):
        super().__init__()
        out = num_anchors * (5 + num_classes)  # 255
        self.b1 = nn.Sequential(                            # 3x416x416
            cbl(3, 16, 3), nn.MaxPool2d(2, 2),              # 16x208x208
            cbl(16, 32, 3), nn.MaxPool2d(2, 2),             # 32x104x104
            cbl(32, 64, 3), nn.MaxPool2d(2, 2),             # 64x52x52
            cbl(64, 128, 3), nn.MaxPool2d(2, 2),            # 128x26x26
            cbl(128, 256, 3),                               # 256x26x26  (route to head 2)
        )
        self.b2 = nn.Sequential(
            nn.MaxPool2d(2, 2),                             # 256x13x13
            cbl(256, 512, 3),                               # 512x13x13 (darknet: + maxpool k2 s1, shape kept)
            cbl(512, 1024, 3),                              # 1024x13x13
            cbl(1024, 256, 1),                              # 256x13x13  (route to branch)
        )
        self.head1 = nn.Sequential(cbl(256, 512, 3), nn.Conv2d(512, out, 1, bias=True))   # 255x13x13
        self.lateral = cbl(256, 128, 1)                     # 128x13x13
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")  # 128x26x26
        self.head2 = nn.Sequential(cbl(128 + 256, 256, 3), nn.Conv2d(256, out, 1, bias=True))  # 255x26x26

    def forward(self, x):
        r26 = self.b1(x)
        r13 = self.b2(r26)
        y1 = self.head1(r13)
        u = self.upsample(self.lateral(r13))
        y2 = self.head2(torch.cat([u, r26], dim=1))  # darknet route -1, 8: upsampled first, then backbone
        return y1, y2


REFERENCES = {
    "unet": (UNet, (1, 1, 572, 572), dict(params=31_030_658, output_shape="1x2x388x388")),
    "dcgan_g": (DCGANGenerator, (1, 100, 1, 1), dict(params=3_576_704, output_shape="1x3x64x64")),
    "yolov3_tiny": (YOLOv3Tiny, (1, 3, 416, 416), {}),
}


def main(argv):
    torch.manual_seed(0)
    torch.set_num_threads(2)
    figures = {}
    for name in argv or REFERENCES:
        cls, ishape, expected = REFERENCES[name]
        model = cls().eval()
        (HERE / f"{name}.txt").write_text(str(model) + "\n")
        res, records, extra = analyse(model, torch.randn(*ishape))
        (HERE / f"{name}.layers.txt").write_text(
            layers_text(name, res, records, extra, [f"torch {torch.__version__}; hand-written, see own_references.py"]))
        entry = dict(params=res["params"], buffers=res["buffers"], macs_conv_linear=res["macs_conv_linear"],
                     macs_attention=res["macs_attention"], output_shape=res["output_shape"],
                     input_shape=res["input_shape"], flopcounter_agrees=res["flopcounter_agrees"],
                     expected=expected,
                     expected_mismatch={k: [v, res[k]] for k, v in expected.items() if res[k] != v})
        figures[name] = entry
        print(f"{name:<12} in {res['input_shape']:<12} out {res['output_shape']:<26} params {res['params']:>11,}  "
              f"bn-buf {res['buffers']:>6,}  MACs {res['macs_conv_linear']:>15,}  "
              f"fc-agree {res['flopcounter_agrees']}  expected {'OK' if not entry['expected_mismatch'] else entry['expected_mismatch']}"
              if expected else
              f"{name:<12} in {res['input_shape']:<12} out {res['output_shape']:<26} params {res['params']:>11,}  "
              f"bn-buf {res['buffers']:>6,}  MACs {res['macs_conv_linear']:>15,}  fc-agree {res['flopcounter_agrees']}")
    (HERE / "own_figures.json").write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
