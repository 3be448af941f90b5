"""Built modules vs hand-written PyTorch: forward and forward+backward time of
resnet50 and googlenet, in both generated forms (structured: a class per
block; flat: unrolled), interleaved with the hand-written module (same
weights' shapes, same input); build time, `archdsl build` whole-process time
and ONNX export time for resnet50.

    python benchmarks/bench_torch.py [--batch 4] [--repeats 5] [--device cpu]

The hand-written networks follow torchvision's resnet.py and googlenet.py,
names included (torchvision itself is not a dependency)."""
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
# Written as torchvision's resnet.py, googlenet.py and alexnet.py write them,
# attribute names included, so their state_dicts are torchvision checkpoints
# in all but the values (tests/test_torch_weights.py loads them with
# --key-map torchvision). torchvision itself is not a dependency.

class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet50(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, 2)
        self.layer3 = self._make_layer(256, 6, 2)
        self.layer4 = self._make_layer(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2048, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class BasicConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return torch.relu_(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for name in ("4a", "4b", "4c", "4d", "4e"):
            x = getattr(self, f"inception{name}")(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


REFERENCES = {"resnet50": ResNet50, "googlenet": GoogLeNet, "alexnet_torchvision": AlexNet}


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
    ap.add_argument("--forms", default="structured,flat",
                    help="which generated code to time: structured (a class per block, the default) and/or flat")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    # Untrained deep nets decay towards denormal floats in eval mode, which makes
    # CPU kernels erratically slow for whichever model gets there first.
    torch.set_flush_denormal(True)
    rows = []
    for name, hand_cls in (("resnet50", ResNet50), ("googlenet", GoogLeNet)):
        spec = ROOT / "specs" / f"{name}.arch"
        hand = hand_cls().to(args.device)
        x = torch.randn(args.batch, 3, 224, 224, device=args.device)
        for form in args.forms.split(","):
            built = archdsl.build(spec, flat=form == "flat").to(args.device)
            rows += [(name, form, *row[1:]) for row in compare(name, built, hand, x, args.repeats, args.device)]
    print(f"device {args.device}, batch {args.batch}, median of {args.repeats} (ms), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")
    print("| network | code | pass | archdsl build | hand-written | ratio |\n|---|---|---|---:|---:|---:|")
    for name, form, kind, b, h, r in rows:
        print(f"| {name} | {form} | {kind} | {b:.1f} | {h:.1f} | {r:.3f} |")

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
