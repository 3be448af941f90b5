"""Plain-PyTorch references for the transformer gallery (specs/vit_*.arch,
convnext_tiny, swin_t, swin_v2_t, maxvit_t), written from the papers and torchvision's
source without torchvision or archdsl, and the translation of torchvision's
state_dict keys to the specs' layer names.

tests/test_gallery_vit.py measures these modules (forward hooks) for the
per-layer checks where torchvision is absent, loads their weights into the
module archdsl builds and compares the outputs; where torchvision imports,
it checks that they hold exactly torchvision's parameters. Their parameters
are registered in the order the specs' modules hold theirs (the order they
run), so `parameters()` of both line up one to one.
"""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

# -- ViT ----------------------------------------------------------------------------------


class MLPBlock(nn.Sequential):
    def __init__(self, dim, hidden, p=0.0):
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(p), nn.Linear(hidden, dim), nn.Dropout(p))


class EncoderBlock(nn.Module):
    def __init__(self, heads, dim, mlp, p=0.0, eps=1e-6):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=eps)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.dropout = nn.Dropout(p)
        self.ln_2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLPBlock(dim, mlp, p)

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + self.dropout(y)
        return x + self.mlp(self.ln_2(x))


class Holder(nn.Module):
    """One learned tensor as a module of its own, so that it is registered in the order it runs."""

    def __init__(self, *shape, std=0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(*shape).normal_(std=std))


class ViT(nn.Module):
    def __init__(self, image=224, patch=16, dim=768, depth=12, heads=12, mlp=3072, classes=1000):
        super().__init__()
        self.patch, self.dim = patch, dim
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        length = (image // patch) ** 2 + 1
        self.class_token = Holder(1, 1, dim)
        self.pos_embedding = Holder(1, length, dim)
        self.layers = nn.Sequential(*[EncoderBlock(heads, dim, mlp) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.conv_proj(x)
        n = x.shape[0]
        x = x.reshape(n, self.dim, -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.weight.expand(n, -1, -1), x], dim=1) + self.pos_embedding.weight
        x = self.ln(self.layers(x))
        return self.head(x[:, 0])


class TextTransformer(nn.Module):
    """specs/text_transformer.arch: embedding, sin-cos positions, 2 encoder layers, mean, fc."""

    def __init__(self, vocab=10000, length=64, dim=128, heads=4, mlp=512, classes=2, p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        pos = torch.arange(length, dtype=torch.float32)[:, None]
        rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(1, length, dim)
        table[0, :, 0::2], table[0, :, 1::2] = torch.sin(pos * rate), torch.cos(pos * rate)
        self.register_buffer("table", table, persistent=False)
        self.dropout = nn.Dropout(p)
        self.layers = nn.Sequential(*[EncoderBlock(heads, dim, mlp, p) for _ in range(2)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Sequential(nn.Dropout(p), nn.Linear(dim, classes))

    def forward(self, ids):
        x = self.dropout(self.embedding(ids) + self.table)
        return self.head(self.ln(self.layers(x)).mean(1))


# -- ConvNeXt -----------------------------------------------------------------------------


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim), LayerNorm2d(dim, eps=1e-6),
                                   nn.Conv2d(dim, 4 * dim, 1), nn.GELU(), nn.Conv2d(4 * dim, dim, 1))
        self.layer_scale = Holder(dim, 1, 1)

    def forward(self, x):
        return x + self.layer_scale.weight * self.block(x)


class ConvNeXt(nn.Module):
    def __init__(self, dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), classes=1000):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))]
        for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
            if i:
                layers.append(nn.Sequential(LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], dim, 2, 2)))
            layers.append(nn.Sequential(*[CNBlock(dim) for _ in range(depth)]))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(LayerNorm2d(dims[-1], eps=1e-6), nn.Flatten(1), nn.Linear(dims[-1], classes))

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1))


# -- Swin -----------------------------------------------------------------------------------


def _windows(x, w):
    n, h, wd, c = x.shape
    return x.view(n, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


class WindowAttention(nn.Module):
    """Swin's (shifted) window attention, v1 (table) or v2 (cosine, cpb MLP), on N x H x W x C."""

    def __init__(self, dim, window, shift, heads, v2=False):
        super().__init__()
        self.window, self.shift, self.heads, self.v2 = window, shift, heads, v2
        if v2:
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
            axis = torch.arange(-(window - 1), window, dtype=torch.float32) / (window - 1) * 8
            grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1)[None]
            self.register_buffer("coords", torch.sign(grid) * torch.log2(grid.abs() + 1.0) / 3.0)
        else:
            self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.02)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        if v2:
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, heads, bias=False))
        pos = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (pos[:, :, None] - pos[:, None, :]) + window - 1
        self.register_buffer("index", (rel[0] * (2 * window - 1) + rel[1]).flatten())

    def bias(self):
        table = 16 * torch.sigmoid(self.cpb_mlp(self.coords).view(-1, self.heads)) if self.v2 else \
            self.relative_position_bias_table
        n = self.window ** 2
        return table[self.index].view(n, n, -1).permute(2, 0, 1)  # v2: the sigmoid on the table, as torchvision

    def forward(self, x):
        n, h, w, c = x.shape
        win = self.window
        x = F.pad(x, (0, 0, 0, (win - w % win) % win, 0, (win - h % win) % win))
        ph, pw = x.shape[1:3]
        sh, sw = (0 if win >= ph else self.shift), (0 if win >= pw else self.shift)
        if sh or sw:
            x = torch.roll(x, (-sh, -sw), (1, 2))
        t = _windows(x, win)
        bias = self.qkv.bias
        if self.v2:
            bias = torch.cat([bias[:c], torch.zeros_like(bias[c:2 * c]), bias[2 * c:]])
        qkv = F.linear(t, self.qkv.weight, bias).view(t.shape[0], win * win, 3, self.heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if self.v2:
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        else:
            attn = q * (c // self.heads) ** -0.5 @ k.transpose(-2, -1)
        attn = attn + self.bias()[None]
        if sh or sw:
            label = torch.zeros(1, ph, pw, 1)
            count = 0
            for hs in (slice(0, -win), slice(-win, -sh), slice(-sh, None)):
                for ws in (slice(0, -win), slice(-win, -sw), slice(-sw, None)):
                    label[:, hs, ws, :] = count
                    count += 1
            label = _windows(label, win).squeeze(-1)
            mask = (label[:, None, :] != label[:, :, None]).float() * -100.0
            attn = (attn.view(n, -1, self.heads, win * win, win * win) + mask[None, :, None]).view_as(attn)
        t = (attn.softmax(-1) @ v).transpose(1, 2).reshape(t.shape[0], win * win, c)
        t = self.proj(t).view(n, ph // win, pw // win, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(n, ph, pw, c)
        if sh or sw:
            t = torch.roll(t, (sh, sw), (1, 2))
        return t[:, :h, :w]


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, window, shift, v2=False):
        super().__init__()
        self.v2 = v2
        attn, norm1 = WindowAttention(dim, window, shift, heads, v2), nn.LayerNorm(dim)
        mlp, norm2 = MLPBlock(dim, 4 * dim), nn.LayerNorm(dim)
        order = (("attn", attn), ("norm1", norm1), ("mlp", mlp), ("norm2", norm2)) if v2 else \
            (("norm1", norm1), ("attn", attn), ("norm2", norm2), ("mlp", mlp))
        for name, module in order:  # registered in the order they run: post-norm in v2
            self.add_module(name, module)

    def forward(self, x):
        if self.v2:
            x = x + self.norm1(self.attn(x))
            return x + self.norm2(self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim, v2=False):
        super().__init__()
        self.v2 = v2
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim if v2 else 4 * dim)

    def forward(self, x):
        h, w = x.shape[1:3]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(x)) if self.v2 else self.reduction(self.norm(x))


class Swin(nn.Module):
    def __init__(self, v2=False, dim=96, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), classes=1000):
        super().__init__()
        window = 8 if v2 else 7
        self.stem = nn.Conv2d(3, dim, 4, 4)
        self.stem_norm = nn.LayerNorm(dim)
        stages = []
        for i, (depth, h) in enumerate(zip(depths, heads, strict=True)):
            d = dim * 2 ** i
            if i:
                stages.append(PatchMerging(d // 2, v2))
            stages += [SwinBlock(d, h, window, 0 if j % 2 == 0 else window // 2, v2) for j in range(depth)]
        self.stages = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dim * 8)
        self.head = nn.Linear(dim * 8, classes)

    def forward(self, x):
        x = self.stem_norm(self.stem(x).permute(0, 2, 3, 1))
        x = self.norm(self.stages(x))
        return self.head(x.mean((1, 2)))


# -- MaxViT ---------------------------------------------------------------------------------
# torchvision/models/maxvit.py, class by class. torchvision partitions the N x C x H x W map
# into windows (or a grid) around the whole PartitionAttentionLayer; here the partition is
# done around the attention alone (PartitionAttention), on N x H x W x C as the spec's tokens:
# the norms and the MLP act on each token, so that is the same computation, and each unit's
# output has the spec's shape for the per-layer comparison.


def _relative_position_index(size):
    coords = torch.stack(torch.meshgrid([torch.arange(size), torch.arange(size)], indexing="ij"))
    coords_flat = torch.flatten(coords, 1)
    relative = (coords_flat[:, :, None] - coords_flat[:, None, :]).permute(1, 2, 0).contiguous()
    relative[:, :, 0] += size - 1
    relative[:, :, 1] += size - 1
    relative[:, :, 0] *= 2 * size - 1
    return relative.sum(-1)


class RelativePositionalMultiHeadAttention(nn.Module):
    def __init__(self, feat_dim, head_dim, max_seq_len):
        super().__init__()
        self.n_heads, self.head_dim = feat_dim // head_dim, head_dim
        self.size, self.max_seq_len = int(math.sqrt(max_seq_len)), max_seq_len
        self.to_qkv = nn.Linear(feat_dim, self.n_heads * self.head_dim * 3)
        self.scale_factor = feat_dim ** -0.5
        self.merge = nn.Linear(self.head_dim * self.n_heads, feat_dim)
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * self.size - 1) ** 2, self.n_heads) * 0.02)
        self.register_buffer("relative_position_index", _relative_position_index(self.size))

    def forward(self, x):  # B x G x P x D
        b, g, p, d = x.shape
        h, dh = self.n_heads, self.head_dim
        q, k, v = torch.chunk(self.to_qkv(x), 3, dim=-1)
        q, k, v = (t.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4) for t in (q, k, v))
        k = k * self.scale_factor
        dot = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(self.max_seq_len, self.max_seq_len, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        dot = F.softmax(dot + bias, dim=-1)
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", dot, v)
        return self.merge(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, d))


def _window_partition(x, p):  # B x C x H x W -> B x (H/P * W/P) x P*P x C
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p, c)


def _window_departition(x, p, hp, wp):  # B x (HP * WP) x P*P x C -> B x C x H x W
    b, _, _, c = x.shape
    return x.reshape(b, hp, wp, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, hp * p, wp * p)


class PartitionAttention(nn.Module):
    """torchvision's partition, swap, RelativePositionalMultiHeadAttention, swap and
    departition, on N x H x W x C."""

    def __init__(self, dim, partition, size=7, grid=(56, 56), head_dim=32):
        super().__init__()
        self.partition = partition
        n_partitions = grid[0] // size
        self.p = size if partition == "window" else n_partitions
        self.attn = RelativePositionalMultiHeadAttention(dim, head_dim, size ** 2)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        gh, gw = x.shape[2] // self.p, x.shape[3] // self.p
        x = _window_partition(x, self.p)
        if self.partition == "grid":
            x = torch.swapaxes(x, -2, -3)
        x = self.attn(x)
        if self.partition == "grid":
            x = torch.swapaxes(x, -2, -3)
        return _window_departition(x, self.p, gh, gw).permute(0, 2, 3, 1)


class PartitionAttentionLayer(nn.Module):
    def __init__(self, dim, partition, grid):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = PartitionAttention(dim, partition, grid=grid)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):  # N x H x W x C; stochastic depth is the identity in eval
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))


class MaxVitMBConv(nn.Module):
    """torchvision's maxvit.MBConv (expansion 4, squeeze 0.25 of the output channels).
    The projection is registered and run after the body, as the spec's shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        mid, squeeze = 4 * cout, cout // 4
        self.layers = nn.Sequential(
            _bn(cin), nn.Conv2d(cin, mid, 1, bias=False), _bn(mid), nn.GELU(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), _bn(mid), nn.GELU(),
            SqueezeExcitation(mid, squeeze), nn.Conv2d(mid, cout, 1))
        proj = [nn.Conv2d(cin, cout, 1)]
        if stride == 2:
            proj = [nn.AvgPool2d(3, stride, 1), *proj]
        self.proj = nn.Sequential(*proj) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        y = self.layers(x)
        return self.proj(x) + y


class MaxVitLayer(nn.Module):
    def __init__(self, cin, cout, stride, grid):
        super().__init__()
        self.mbconv = MaxVitMBConv(cin, cout, stride)
        self.window_attention = PartitionAttentionLayer(cout, "window", grid)
        self.grid_attention = PartitionAttentionLayer(cout, "grid", grid)

    def forward(self, x):
        x = self.mbconv(x).permute(0, 2, 3, 1)
        return self.grid_attention(self.window_attention(x)).permute(0, 3, 1, 2)


class MaxVit(nn.Module):
    def __init__(self, image=224, stem=64, channels=(64, 128, 256, 512), depths=(2, 2, 5, 2), classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), _bn(stem), nn.GELU(),
                                  nn.Conv2d(stem, stem, 3, 1, 1))
        layers, cin, size = [], stem, image // 2
        for c, depth in zip(channels, depths, strict=True):
            size //= 2
            layers += [MaxVitLayer(cin if i == 0 else c, c, 2 if i == 0 else 1, (size, size)) for i in range(depth)]
            cin = c
        self.blocks = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(channels[-1]),
                                        nn.Linear(channels[-1], channels[-1]), nn.Tanh(),
                                        nn.Linear(channels[-1], classes, bias=False))

    def forward(self, x):
        return self.classifier(self.blocks(self.stem(x)))


REFERENCES = {
    "vit_b_16": (lambda: ViT(patch=16), (3, 224, 224)),
    "vit_b_32": (lambda: ViT(patch=32), (3, 224, 224)),
    "vit_tiny_cifar": (lambda: ViT(image=32, patch=4, dim=192, depth=6, heads=3, mlp=768, classes=10), (3, 32, 32)),
    "text_transformer": (TextTransformer, (64,)),
    "convnext_tiny": (ConvNeXt, (3, 224, 224)),
    "swin_t": (lambda: Swin(False), (3, 224, 224)),
    "swin_v2_t": (lambda: Swin(True), (3, 224, 224)),
    "maxvit_t": (MaxVit, (3, 224, 224)),
}


# -- torchvision's keys as the specs name them ----------------------------------------------------

def _vit_key(key: str) -> str:
    key = re.sub(r"^encoder\.layers\.encoder_layer_(\d+)\.",
                 lambda m: f"encoder.encoderblock{int(m.group(1)) + 1}.", key)
    return (key.replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
            .replace("class_token", "class_token.token").replace("encoder.pos_embedding", "pos_embedding.weight")
            .replace("encoder.ln.", "ln.").replace("heads.head.", "head."))


_CONVNEXT_STAGES = {1: 0, 3: 3, 5: 6, 7: 15}  # features index -> the spec's first block number


def _convnext_key(key: str) -> str:
    parts = key.split(".")
    if parts[0] == "classifier":
        return {"0": "layernorm2", "2": "fc1"}[parts[1]] + "." + parts[-1]
    stage = int(parts[1])
    if stage == 0:
        return {"0": "conv1", "1": "layernorm1"}[parts[2]] + "." + parts[-1]
    if stage in _CONVNEXT_STAGES:
        block = f"b{_CONVNEXT_STAGES[stage] + int(parts[2])}"
        if parts[3] == "layer_scale":
            return f"{block}.layerscale1.scale"
        return f"{block}.{ {'0': 'conv1', '2': 'layernorm1', '3': 'conv2', '5': 'conv3'}[parts[4]] }.{parts[-1]}"
    return f"down{stage // 2}." + {"0": "layernorm1", "1": "conv1"}[parts[2]] + "." + parts[-1]


_SWIN_STAGES = {1: 1, 3: 2, 5: 3, 7: 4}


def _swin_key(key: str) -> str:
    parts = key.split(".")
    if parts[0] != "features":
        return key
    stage = int(parts[1])
    if stage == 0:
        return {"0": "conv1", "2": "layernorm1"}[parts[2]] + "." + parts[-1]
    if stage in _SWIN_STAGES:
        rest = re.sub(r"^mlp\.([03])\.", lambda m: f"mlp.fc{1 if m.group(1) == '0' else 2}.", ".".join(parts[3:]))
        return f"s{_SWIN_STAGES[stage]}b{parts[2]}.{rest}"
    return f"merge{stage // 2}." + ".".join(parts[2:])


_MAXVIT_PARTS = {"MBconv.proj.1.": "mbconv.shortcut1.conv1.", "MBconv.layers.pre_norm.": "mbconv.pre_norm.",
                 "MBconv.layers.conv_a.0.": "mbconv.conv_a.", "MBconv.layers.conv_a.1.": "mbconv.bn1.",
                 "MBconv.layers.conv_b.0.": "mbconv.conv_b.", "MBconv.layers.conv_b.1.": "mbconv.bn2.",
                 "MBconv.layers.squeeze_excitation.": "mbconv.squeeze_excitation.branch2.",
                 "MBconv.layers.conv_c.": "mbconv.conv_c.", "attn_layer.0.": "norm1.", "attn_layer.1.": "attn.",
                 "mlp_layer.0.": "norm2.", "mlp_layer.1.": "mlp.fc1.", "mlp_layer.3.": "mlp.fc2."}


def _maxvit_key(key: str) -> str:
    fixed = {"stem.0.0.": "stem.", "stem.0.1.": "bn1.", "stem.1.0.": "conv1.", "classifier.2.": "norm.",
             "classifier.3.": "fc1.", "classifier.5.": "head."}
    for old, new in fixed.items():
        if key.startswith(old):
            return new + key[len(old):]
    m = re.match(r"^blocks\.(\d+)\.layers\.(\d+)\.layers\.(.*)$", key)
    rest = m.group(3)
    for old, new in _MAXVIT_PARTS.items():
        rest = rest.replace(old, new)
    return f"s{int(m.group(1)) + 1}l{m.group(2)}.{rest}"


TORCHVISION_KEYS = {"vit_b_16": _vit_key, "vit_b_32": _vit_key, "convnext_tiny": _convnext_key,
                    "swin_t": _swin_key, "swin_v2_t": _swin_key, "maxvit_t": _maxvit_key}


def torchvision_state(name: str, model) -> dict:
    """torchvision's state_dict under the spec's names (tensors reshaped where the
    spec writes a Linear as a 1x1 conv)."""
    rename = TORCHVISION_KEYS[name]
    return {rename(k): v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
