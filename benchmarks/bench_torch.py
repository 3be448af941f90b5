"""Built modules vs hand-written PyTorch: forward and forward+backward time of
resnet50 and googlenet (interleaved, same weights' shapes, same input), build
time, `archdsl build` whole-process time and ONNX export time for resnet50.

    python benchmarks/bench_torch.py [--batch 4] [--repeats 5] [--device cpu]

The hand-written networks follow torchvision's resnet.py and googlenet.py
(torchvision itself is not a dependency)."""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import archdsl

ROOT = Path(__file__).resolve().parent.parent


# -- hand-written references ----------------------------------------------------------

class Bottleneck(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        mid = c // 4
        self.conv1, self.bn1 = nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv2, self.bn2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv3, self.bn3 = nn.Conv2d(mid, c, 1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != c:
            self.down = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for c, n, s in ((256, 3, 1), (512, 4, 2), (1024, 6, 2), (2048, 3, 2)):
            for i in range(n):
                layers.append(Bottleneck(cin, c, s if i == 0 else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(2048, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class BasicConv2d(nn.Module):
    def __init__(self, cin, c, **kw):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, c, bias=False, **kw), nn.BatchNorm2d(c, eps=0.001)

    def forward(self, x):
        return torch.relu_(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.b1 = BasicConv2d(cin, c1, kernel_size=1)
        self.b2 = nn.Sequential(BasicConv2d(cin, c3r, kernel_size=1), BasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.b3 = nn.Sequential(BasicConv2d(cin, c5r, kernel_size=1), BasicConv2d(c5r, c5, kernel_size=3, padding=1))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv2d(cin, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3),
                                  nn.MaxPool2d(3, 2, ceil_mode=True), BasicConv2d(64, 64, kernel_size=1),
                                  BasicConv2d(64, 192, kernel_size=3, padding=1), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.body = nn.Sequential(
            Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
            Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
            Inception(528, 256, 160, 320, 32, 128, 128), nn.MaxPool2d(2, 2, ceil_mode=True),
            Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128))
        self.pool, self.dropout, self.fc = nn.AdaptiveAvgPool2d(1), nn.Dropout(0.2), nn.Linear(1024, 1000)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(self.pool(self.body(self.stem(x))), 1)))


# -- timing ---------------------------------------------------------------------------------

def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def _once(model, x, backward, device) -> float:
    _sync(device)
    t = time.perf_counter()
    if backward:
        model(x).sum().backward()
    else:
        with torch.no_grad():
            model(x)
    _sync(device)
    return time.perf_counter() - t


def compare(name, built, hand, x, repeats, device):
    """Median times, interleaving built and hand-written runs so drift hits both."""
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in hand.parameters())
    rows = []
    for backward in (False, True):
        for m in (built, hand):
            m.train(backward)
            _once(m, x, backward, device)  # warm-up
        times = {"built": [], "hand": []}
        for i in range(repeats):
            # Alternate which goes first, so neither side always runs on the
            # caches and clocks the other one left behind.
            order = (("built", built), ("hand", hand)) if i % 2 == 0 else (("hand", hand), ("built", built))
            for key, m in order:
                times[key].append(_once(m, x, backward, device))
        b, h = statistics.median(times["built"]), statistics.median(times["hand"])
        rows.append((name, "fwd+bwd" if backward else "fwd", b * 1e3, h * 1e3, b / h))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    # Untrained deep nets decay towards denormal floats in eval mode, which makes
    # CPU kernels erratically slow for whichever model gets there first.
    torch.set_flush_denormal(True)
    rows = []
    for name, hand_cls in (("resnet50", ResNet50), ("googlenet", GoogLeNet)):
        spec = ROOT / "specs" / f"{name}.arch"
        built = archdsl.build(spec).to(args.device)
        hand = hand_cls().to(args.device)
        x = torch.randn(args.batch, 3, 224, 224, device=args.device)
        rows += compare(name, built, hand, x, args.repeats, args.device)
    print(f"device {args.device}, batch {args.batch}, median of {args.repeats} (ms), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")
    print("| network | pass | archdsl build | hand-written | ratio |\n|---|---|---:|---:|---:|")
    for name, kind, b, h, r in rows:
        print(f"| {name} | {kind} | {b:.1f} | {h:.1f} | {r:.3f} |")

    spec = ROOT / "specs" / "resnet50.arch"
    t = time.perf_counter()
    archdsl.build(spec)
    build_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archdsl", "build", str(spec), "-o", f"{tmp}/r.py"], check=True)
        cli_s = time.perf_counter() - t
        from archdsl.backends.onnx.export import export_module
        model = archdsl.build(spec)
        t = time.perf_counter()
        export_module(model, (3, 224, 224), f"{tmp}/r.onnx")
        onnx_s = time.perf_counter() - t
    print("\n| resnet50 | seconds |\n|---|---:|")
    print(f"| archdsl.build() in process (parse, analyse, generate, exec, init) | {build_s:.2f} |")
    print(f"| `archdsl build -o r.py` whole process | {cli_s:.2f} |")
    print(f"| ONNX export (TorchScript exporter, opset 17, checked) | {onnx_s:.2f} |")


if __name__ == "__main__":
    main()
