"""Reference figures of torchvision models for archdsl spec writers.

Run with a venv that has torchvision (not the project's .venv), e.g.

    /work/tvenv/bin/python benchmarks/reference/torchvision_figures.py [model ...]

(the reference venv: torch==2.14.1, torchvision==0.29.1, CPU only).

For each model (weights=None, eval mode, batch 1, input 3x224x224 unless noted)
it writes, next to this file:

    <model>.txt         print(model)
    <model>.layers.txt  every leaf-module call in order: name, class, input,
                        output, params, MACs (see counter.py)
    figures.json        {model: {params, buffers, macs_conv_linear,
                         macs_attention, output_shape, ...}}

Conventions are in counter.py's docstring.  Models are run one at a time.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import torchvision  # noqa: E402
from counter import analyse, layers_text  # noqa: E402
from torchvision import models  # noqa: E402
from torchvision.models import segmentation  # noqa: E402


def _build(name):
    """name[+aux][@SIZE]: +aux keeps the auxiliary head (inception_v3 / fcn_resnet50),
    @SIZE runs the model on a SIZExSIZE input."""
    size = None
    if "@" in name:
        name, size = name.split("@")
        size = int(size)
    aux = name.endswith("+aux")
    name = name.removesuffix("+aux")
    if name == "inception_v3":
        model, s = models.inception_v3(weights=None, aux_logits=aux, init_weights=False), 299
    elif name == "fcn_resnet50":
        model, s = segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=aux), 224
    else:
        model, s = getattr(models, name)(weights=None), 224
    s = size or s
    return model, (1, 3, s, s)


def _tv_meta(name):
    """num_params and _ops (GMACs incl. attention) from torchvision's first weights entry
    (metadata only; nothing is downloaded), with the input size those _ops refer to."""
    base = name.split("@")[0].removesuffix("+aux")
    w = list(models.get_model_weights(base))[0]
    t = w.transforms()
    size = (getattr(t, "crop_size", None) or getattr(t, "resize_size", None) or [None])[0]
    return dict(weights=w.name, num_params=w.meta["num_params"], ops=w.meta.get("_ops"), ops_input=size)


MODELS = [
    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0",
    "convnext_tiny", "vit_b_16", "vit_b_32", "swin_t", "swin_v2_t", "maxvit_t",
    "regnet_x_400mf", "densenet121", "inception_v3", "fcn_resnet50",
    "swin_v2_t@256",  # swin_v2_t's own eval size: no window padding at 256 (64/32/16/8 are multiples of 8)
    # to explain torchvision's metadata for the two models built here without their aux heads:
    "inception_v3+aux", "fcn_resnet50+aux@520",
]

# published figures (torchvision docs / the brief) to compare against
PUBLISHED = {
    "mobilenet_v3_small": dict(params=2_542_856),
    "efficientnet_b0": dict(params=5_288_548),
    "shufflenet_v2_x1_0": dict(params=2_278_604),
    "vit_b_16": dict(params=86_567_656, macs_conv_linear=16_848_500_736, macs_attention=715_327_488),
    "vit_b_32": dict(params=88_224_232),
    "swin_t": dict(params=28_288_354, macs_conv_linear=4_350_425_088, macs_attention=140_141_568),
    "swin_v2_t": dict(params=28_351_570),
    "maxvit_t": dict(params=30_919_624, buffers=47_616),
    "convnext_tiny": dict(params=28_589_128, macs_conv_linear=4_455_531_264),
}

NOTES = {
    "inception_v3": ["inception_v3(weights=None, aux_logits=False, init_weights=False); input 299x299;"
                     " transform_input=False; branch pools are F.avg_pool2d/F.max_pool2d (no rows)"],
    "fcn_resnet50": ["segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False);"
                     " backbone = resnet50 with replace_stride_with_dilation=[False, True, True] (output stride 8);"
                     " final F.interpolate(bilinear, align_corners=False) back to the input size (no row)"],
    "vit_b_16": ["nn.MultiheadAttention rows: in_proj (q,k,v) + out_proj counted by formula; attention"
                 " measured with SDPA math backend (aten.bmm) under FlopCounterMode"],
    "vit_b_32": ["nn.MultiheadAttention rows: in_proj (q,k,v) + out_proj counted by formula"],
    "inception_v3+aux": ["inception_v3 with aux_logits=True (the AuxLogits head does not run in eval mode,"
                         " so it adds params but no MACs)"],
    "fcn_resnet50+aux@520": ["fcn_resnet50 with aux_loss=True on 520x520 (torchvision's metadata setting);"
                             " the aux FCNHead on layer3 runs in eval mode too"],
    "swin_v2_t@256": ["swin_v2_t at its published eval size 256x256 (no window padding)"],
    "swin_t": ["ShiftedWindowAttention rows: qkv/proj are applied with F.linear to the window-padded map"],
    "swin_v2_t": ["ShiftedWindowAttentionV2 rows: qkv/proj applied with F.linear to the map padded to a multiple"
                  " of the 8x8 window (28->32, 14->16, 7->8); cpb_mlp Linear rows run once per block per forward"
                  " on the 15x15 relative-coordinate table"],
}


def main(argv):
    names = argv or MODELS
    torch.manual_seed(0)
    torch.set_num_threads(2)
    fig_path = HERE / "figures.json"
    figures = json.loads(fig_path.read_text()) if fig_path.exists() else {}
    for name in names:
        t0 = time.time()
        model, ishape = _build(name)
        model.eval()
        fname = name.replace("@", "_").replace("+", "_")  # swin_v2_t@256 -> swin_v2_t_256.*
        (HERE / f"{fname}.txt").write_text(str(model) + "\n")
        x = torch.randn(*ishape)
        res, records, extra = analyse(model, x)
        notes = [f"torch {torch.__version__}, torchvision {torchvision.__version__}, weights=None, eval mode"]
        notes += NOTES.get(name, [])
        (HERE / f"{fname}.layers.txt").write_text(layers_text(name, res, records, extra, notes))
        entry = dict(params=res["params"], buffers=res["buffers"], macs_conv_linear=res["macs_conv_linear"],
                     macs_attention=res["macs_attention"], output_shape=res["output_shape"],
                     input_shape=res["input_shape"], macs_conv=res["macs_conv"], macs_linear=res["macs_linear"],
                     other_buffers_total=sum(res["other_buffers"].values()),
                     flopcounter_conv_linear=res["flopcounter"]["conv"] + res["flopcounter"]["linear"],
                     flopcounter_attention=res["flopcounter"]["attention"],
                     flopcounter_agrees=res["flopcounter_agrees"],
                     params_attribution_ok=res["params_attribution_ok"])
        meta = _tv_meta(name)
        entry["torchvision_meta"] = meta
        entry["torchvision_meta_params_match"] = meta["num_params"] == res["params"]
        if meta["ops"] is not None and meta["ops_input"] == ishape[-1]:
            entry["torchvision_meta_ops_match"] = (
                round((res["macs_conv_linear"] + res["macs_attention"]) / 1e9, 3) == meta["ops"])
        pub = PUBLISHED.get(name, {})
        entry["published"] = pub
        entry["published_mismatch"] = {k: [v, entry[k]] for k, v in pub.items() if entry[k] != v}
        figures[name] = entry
        fig_path.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"{name:<20} params {res['params']:>12,}  bn-buf {res['buffers']:>8,}  "
              f"MACs {res['macs_conv_linear']:>15,}  attn {res['macs_attention']:>13,}  out {res['output_shape']}  "
              f"fc-agree {res['flopcounter_agrees']}  attr-ok {res['params_attribution_ok']}  "
              f"mismatch {entry['published_mismatch'] or '-'}  "
              f"tv-meta params {entry['torchvision_meta_params_match']} ops {entry.get('torchvision_meta_ops_match', 'n/a')}  ({time.time() - t0:.1f}s)", flush=True)
        del model, records, extra


if __name__ == "__main__":
    main(sys.argv[1:])
