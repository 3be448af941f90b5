"""Exact shape / parameter / buffer / MAC counter for PyTorch modules (plain torch only).

Conventions (the ones archdsl uses):

* params   = sum(p.numel() for p in model.parameters())
* buffers  = BatchNorm running_mean + running_var elements (2C per BN);
             num_batches_tracked is never counted.  Every other registered
             buffer (e.g. Swin/MaxViT relative_position_index) is reported
             separately as ``other_buffers``.
* MACs     = multiply-accumulates of conv and linear weights only:
    - nn.Conv2d            numel(output) * (C_in/groups) * prod(kernel)
    - nn.ConvTranspose2d   numel(input)  * (C_out/groups) * prod(kernel)
    - nn.Linear            in_features * out_features * positions,
                           positions = numel(input) / in_features (all leading dims)
    - bias, pooling, normalisation, activations, adds: 0.
  Modules that use their children's weights *functionally* (so the children's
  forward hooks never fire) are counted by formula on the outer module:
    - nn.MultiheadAttention        in_proj (q, k, v) + out_proj
    - torchvision ShiftedWindowAttention(V2)   qkv + proj on the window-padded map
* attention MACs (reported apart from conv+linear): q@k^T and attn@v,
    full attention 2 * L_q * L_k * D per layer (times batch),
    windowed attention 2 * (padded positions) * (window area) * D.

Every figure obtained from the hooks is cross-checked by a second, independent
forward pass under ``torch.utils.flop_counter.FlopCounterMode`` (with the SDPA
math backend forced, so that attention shows up as aten.bmm):
    conv+linear  = (aten.convolution + aten.mm + aten.addmm) / 2
    attention    = (aten.bmm + aten.baddbmm + fused SDPA ops) / 2
FlopCounterMode counts 2 FLOPs per MAC.  bmm ops found inside an nn.Linear's
own scope (none, in practice) would be moved from attention to linear.
"""
from __future__ import annotations

import contextlib
import math
from collections import OrderedDict

import torch
from torch import nn

# classes whose weights are used functionally by the module itself (matched by
# name so this file needs no torchvision import)
_SWIN_ATTN = ("ShiftedWindowAttention", "ShiftedWindowAttentionV2")
_MAXVIT_ATTN = ("RelativePositionalMultiHeadAttention",)


def _shape(t):
    if isinstance(t, torch.Tensor):
        return "x".join(str(d) for d in t.shape) if t.dim() else "scalar"
    if isinstance(t, (tuple, list)):
        parts = [_shape(e) for e in t if e is not None]
        return "(" + ", ".join(p for p in parts if p) + ")"
    if isinstance(t, dict):
        return "{" + ", ".join(f"{k}: {_shape(v)}" for k, v in t.items()) + "}"
    return ""


def _first_tensor(t):
    if isinstance(t, torch.Tensor):
        return t
    if isinstance(t, (tuple, list)):
        for e in t:
            r = _first_tensor(e)
            if r is not None:
                return r
    if isinstance(t, dict):
        for e in t.values():
            r = _first_tensor(e)
            if r is not None:
                return r
    return None


def _direct_params(m):
    return sum(p.numel() for p in m.parameters(recurse=False))


def bn_buffers(model):
    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            n += m.running_mean.numel() + m.running_var.numel()
    return n


def other_buffers(model):
    out = OrderedDict()
    bn_ids = set()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            bn_ids.add(id(m.running_mean))
            bn_ids.add(id(m.running_var))
    for name, b in model.named_buffers():
        if name.endswith("num_batches_tracked") or id(b) in bn_ids:
            continue
        out[name] = b.numel()
    return out


def _conv_macs(m, inp, out):
    if isinstance(m, nn.ConvTranspose2d) or isinstance(m, nn.modules.conv._ConvTransposeNd):
        return inp.numel() * (m.out_channels // m.groups) * math.prod(m.kernel_size)
    return out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)


def _mha_macs(m, args, kwargs):
    names = ("query", "key", "value")
    qkv = [args[i] if i < len(args) else kwargs[n] for i, n in enumerate(names)]
    q, k, v = qkv
    E = m.embed_dim
    linear = (2 * q.numel() + k.numel() + v.numel()) * E  # in_proj q,k,v + out_proj
    if m.batch_first:
        N, Lq, Lk = q.shape[0], q.shape[1], k.shape[1]
    else:
        Lq, N, Lk = q.shape[0], q.shape[1], k.shape[0]
    attn = 2 * N * Lq * Lk * E
    return linear, attn


def _swin_macs(m, x):
    B, H, W, C = x.shape
    ws = m.window_size
    pH = math.ceil(H / ws[0]) * ws[0]
    pW = math.ceil(W / ws[1]) * ws[1]
    P = B * pH * pW
    N = ws[0] * ws[1]
    linear = P * C * m.qkv.out_features + P * m.proj.in_features * m.proj.out_features
    attn = 2 * P * N * C
    eff = (m.shift_size[0] if ws[0] < pH else 0, m.shift_size[1] if ws[1] < pW else 0)
    return linear, attn, dict(padded=f"{pH}x{pW}", windows=(pH // ws[0]) * (pW // ws[1]), window_area=N, shift=eff)


def _maxvit_attn_macs(m, x):
    B, G, P, D = x.shape
    return 2 * B * G * P * P * D


class Recorder:
    """Forward hooks on every module; records leaf (and functional-weight) calls in order."""

    def __init__(self, model):
        self.model = model
        self.names = {m: n for n, m in model.named_modules()}
        self.records = []
        self.called = set()
        self.handles = []
        self.functional = set()
        for m in model.modules():
            if isinstance(m, nn.MultiheadAttention) or type(m).__name__ in _SWIN_ATTN:
                self.functional.add(m)
        self.inside_functional = set()
        for f in self.functional:
            for c in f.modules():
                if c is not f:
                    self.inside_functional.add(c)
        for m in model.modules():
            self.handles.append(m.register_forward_hook(self._hook, with_kwargs=True))

    def close(self):
        for h in self.handles:
            h.remove()

    def _hook(self, m, args, kwargs, out):
        self.called.add(m)
        leaf = len(list(m.children())) == 0
        is_attn = type(m).__name__ in _MAXVIT_ATTN
        if not (leaf or m in self.functional or is_attn):
            return
        inp = args[0] if args else next(iter(kwargs.values()), None)
        rec = dict(name=self.names.get(m, "?"), cls=type(m).__name__, module=m,
                   inp=_shape(inp) if inp is not None else "", out=_shape(out),
                   macs=0, attn=0, note="", row=leaf or m in self.functional)
        if isinstance(m, nn.modules.conv._ConvNd):
            rec["macs"] = _conv_macs(m, inp, _first_tensor(out))
            k = "x".join(map(str, m.kernel_size))
            s = "x".join(map(str, m.stride))
            p = m.padding if isinstance(m.padding, str) else "x".join(map(str, m.padding))
            extra = f" g{m.groups}" if m.groups != 1 else ""
            d = "x".join(map(str, m.dilation))
            extra += f" d{d}" if d not in ("1x1", "1") else ""
            if isinstance(m, nn.modules.conv._ConvTransposeNd):
                op = "x".join(map(str, m.output_padding))
                extra += f" op{op}" if op not in ("0x0", "0") else ""
            rec["note"] = f"k{k} s{s} p{p}{extra} bias={m.bias is not None}"
        elif isinstance(m, nn.Linear):
            rec["macs"] = m.in_features * m.out_features * (inp.numel() // m.in_features)
            rec["note"] = f"{m.in_features}->{m.out_features} positions={inp.numel() // m.in_features} bias={m.bias is not None}"
        elif isinstance(m, nn.MultiheadAttention):
            lin, att = _mha_macs(m, args, kwargs)
            rec["macs"], rec["attn"] = lin, att
            rec["note"] = f"E={m.embed_dim} heads={m.num_heads} (in_proj+out_proj by formula)"
        elif type(m).__name__ in _SWIN_ATTN:
            lin, att, info = _swin_macs(m, inp)
            rec["macs"], rec["attn"] = lin, att
            rec["note"] = (f"window={tuple(m.window_size)} shift={tuple(m.shift_size)} (effective {info['shift']}) heads={m.num_heads} "
                           f"padded={info['padded']} windows={info['windows']} (qkv+proj by formula)")
        elif is_attn:
            rec["attn"] = _maxvit_attn_macs(m, inp)
            rec["note"] = f"heads={m.n_heads} head_dim={m.head_dim} (attention matmuls only; to_qkv/merge are hooked)"
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            rec["note"] = f"eps={m.eps:g} momentum={m.momentum}"
        elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
            rec["note"] = f"eps={m.eps:g}"
        elif isinstance(m, (nn.Dropout, nn.Dropout2d)):
            rec["note"] = f"p={m.p}"
        elif type(m).__name__ == "StochasticDepth":
            rec["note"] = f"p={m.p} mode={m.mode}"
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            rec["note"] = f"k{m.kernel_size} s{m.stride} p{m.padding} ceil={m.ceil_mode}"
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            rec["note"] = f"out={m.output_size}"
        elif isinstance(m, (nn.LeakyReLU,)):
            rec["note"] = f"slope={m.negative_slope}"
        elif isinstance(m, nn.Upsample):
            rec["note"] = f"scale={m.scale_factor} mode={m.mode}"
        self.records.append(rec)


def flop_counter_macs(model, x):
    """Second, independent count by torch.utils.flop_counter.FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
        sdpa_ctx = sdpa_kernel(SDPBackend.MATH)
    except Exception:  # pragma: no cover - older torch
        sdpa_ctx = contextlib.nullcontext()
    fast = getattr(torch.backends, "mha", None)
    prev = fast.get_fastpath_enabled() if fast else None
    if fast:
        fast.set_fastpath_enabled(False)
    try:
        fc = FlopCounterMode(display=False)
        with torch.no_grad(), sdpa_ctx, fc:
            model(x)
    finally:
        if fast:
            fast.set_fastpath_enabled(prev)
    counts = fc.get_flop_counts()
    glob = {str(k): v for k, v in counts.get("Global", {}).items()}
    conv = sum(v for k, v in glob.items() if "conv" in k)
    lin = sum(v for k, v in glob.items() if k in ("aten.mm", "aten.addmm"))
    att = sum(v for k, v in glob.items() if k in ("aten.bmm", "aten.baddbmm") or "attention" in k)
    # bmm issued from inside an nn.Linear's own scope belongs to linear, not attention
    lin_names = set()
    for n, m in model.named_modules():
        if isinstance(m, nn.Linear):
            lin_names.add(n)
    bmm_in_linear = 0
    for scope, ops in counts.items():
        if scope == "Global":
            continue
        # FlopCounterMode scope names are "<RootClass>.<dotted.module.path>"
        path = scope.split(".", 1)[1] if "." in scope else ""
        if path in lin_names:
            bmm_in_linear += sum(v for k, v in ops.items() if str(k) in ("aten.bmm", "aten.baddbmm"))
    other = {k: v for k, v in glob.items()
             if not ("conv" in k or k in ("aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm") or "attention" in k)}
    return dict(conv=conv // 2, linear=(lin + bmm_in_linear) // 2, attention=(att - bmm_in_linear) // 2,
                bmm_in_linear=bmm_in_linear // 2, other=other, ops={k: v // 2 for k, v in glob.items()})


def analyse(model, x, *, flop_check=True):
    """Returns a dict of figures and the per-call records."""
    model.eval()
    rec = Recorder(model)
    fast = getattr(torch.backends, "mha", None)
    prev = fast.get_fastpath_enabled() if fast else None
    if fast:
        fast.set_fastpath_enabled(False)  # keep nn.MultiheadAttention on the documented python path
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        rec.close()
        if fast:
            fast.set_fastpath_enabled(prev)

    # params attributed once per module: leaf modules their own params; functional-weight
    # modules their own params plus those of children whose forward never ran
    seen = set()
    for r in rec.records:
        m = r["module"]
        if m in seen:
            r["params"] = 0
            r["repeat"] = True
            continue
        seen.add(m)
        r["repeat"] = False
        p = _direct_params(m)
        if m in rec.functional:
            for c in m.modules():
                if c is not m and c not in rec.called:
                    p += _direct_params(c)
                    seen.add(c)
        r["params"] = p
    nonleaf_direct = []
    for n, m in model.named_modules():
        if m in seen:
            continue
        dp = _direct_params(m)
        if dp:
            nonleaf_direct.append((n, type(m).__name__,
                                   [(pn, "x".join(map(str, p.shape)), p.numel()) for pn, p in m.named_parameters(recurse=False)],
                                   dp, m in rec.called))
    never_called = [(n, type(m).__name__, _direct_params(m)) for n, m in model.named_modules()
                    if m not in rec.called and m not in rec.inside_functional
                    and (_direct_params(m) or not list(m.children()))]
    funct_children = [(n, type(m).__name__, _direct_params(m)) for n, m in model.named_modules()
                      if m in rec.inside_functional and m not in rec.called]

    total_params = sum(p.numel() for p in model.parameters())
    attributed = sum(r["params"] for r in rec.records) + sum(d[3] for d in nonleaf_direct)
    res = OrderedDict(
        input_shape=_shape(x),
        output_shape=_shape(out),
        params=total_params,
        buffers=bn_buffers(model),
        other_buffers=dict(other_buffers(model)),
        macs_conv_linear=sum(r["macs"] for r in rec.records),
        macs_attention=sum(r["attn"] for r in rec.records),
        macs_conv=sum(r["macs"] for r in rec.records if isinstance(r["module"], nn.modules.conv._ConvNd)),
        params_attribution_ok=(attributed == total_params),
    )
    res["macs_linear"] = res["macs_conv_linear"] - res["macs_conv"]
    if flop_check:
        fc = flop_counter_macs(model, x)
        res["flopcounter"] = dict(conv=fc["conv"], linear=fc["linear"], attention=fc["attention"],
                                  bmm_in_linear=fc["bmm_in_linear"], ops=fc["ops"])
        res["flopcounter_agrees"] = (fc["conv"] + fc["linear"] == res["macs_conv_linear"]
                                     and fc["attention"] == res["macs_attention"])
    extra = dict(nonleaf_direct=nonleaf_direct, never_called=never_called, funct_children=funct_children)
    return res, rec.records, extra


def layers_text(title, res, records, extra, notes=()):
    L = []
    L.append(f"# {title}")
    L.append(f"# input {res['input_shape']}  ->  output {res['output_shape']}")
    L.append(f"# params {res['params']:,}   BN running-stat buffers {res['buffers']:,}"
             f"   other buffers {sum(res['other_buffers'].values()):,}")
    L.append(f"# MACs conv+linear {res['macs_conv_linear']:,} (conv {res['macs_conv']:,}, linear {res['macs_linear']:,})"
             f"   attention matmuls {res['macs_attention']:,}")
    if "flopcounter" in res:
        fc = res["flopcounter"]
        L.append(f"# FlopCounterMode cross-check: conv {fc['conv']:,} linear {fc['linear']:,} attention {fc['attention']:,}"
                 f"  -> {'AGREES' if res['flopcounter_agrees'] else 'DISAGREES'}")
    L.append(f"# params attributed to the rows + non-leaf direct params below == total: {res['params_attribution_ok']}")
    for n in notes:
        L.append(f"# {n}")
    L.append("# rows: every forward call of a leaf module (plus modules that use their children's weights")
    L.append("# functionally), in execution order. A module called more than once (e.g. a shared ReLU) appears")
    L.append("# once per call; its params are listed on the first call only ('*' marks repeats).")
    L.append("# Functional ops with no module (residual adds, torch.cat, flatten, F.relu, F.interpolate, F.avg_pool2d,")
    L.append("# class-token concat, pos-embedding add, permutes, window partition) do not appear as rows.")
    L.append("")
    hdr = f"{'#':>4}  {'name':<48} {'class':<26} {'input':<22} {'output':<22} {'params':>11} {'MACs':>15} {'attn MACs':>13}  note"
    L.append(hdr)
    L.append("-" * len(hdr))
    for i, r in enumerate(records):
        if not r["row"]:
            continue
        L.append(f"{i:>4}  {r['name']:<48} {r['cls']:<26} {r['inp']:<22} {r['out']:<22} "
                 f"{(format(r['params'], ',') if not r['repeat'] else '*'):>11} {r['macs']:>15,} {r['attn']:>13,}  {r['note']}")
    attn_only = [r for r in records if not r["row"]]
    if attn_only:
        L.append("")
        L.append("# attention-matmul MACs of non-leaf attention modules (their Linear children are rows above):")
        for r in attn_only:
            L.append(f"  {r['name']:<48} {r['cls']:<36} in {r['inp']:<20} attn MACs {r['attn']:>13,}  {r['note']}")
    if extra["nonleaf_direct"]:
        L.append("")
        L.append("# parameters owned directly by non-leaf modules (not in any row above):")
        for n, c, plist, dp, _called in extra["nonleaf_direct"]:
            ps = ", ".join(f"{pn} {sh} ({k:,})" for pn, sh, k in plist)
            L.append(f"  {n or '<root>':<48} {c:<28} {dp:>10,}   {ps}")
    if extra["funct_children"]:
        L.append("")
        L.append("# children whose weights are used functionally by their parent (their params are in the parent's row):")
        for n, c, dp in extra["funct_children"]:
            L.append(f"  {n:<48} {c:<28} {dp:>10,}")
    if extra["never_called"]:
        L.append("")
        L.append("# modules whose forward never ran (not counted in MACs):")
        for n, c, dp in extra["never_called"]:
            L.append(f"  {n or '<root>':<48} {c:<28} params {dp:,}")
    if res["other_buffers"]:
        L.append("")
        L.append("# non-BN buffers (not counted in 'buffers'):")
        for n, k in res["other_buffers"].items():
            L.append(f"  {n:<60} {k:>8,}")
    return "\n".join(L) + "\n"
