"""`archdsl cost`: the training cost of one step as a table and JSON --
forward and backward MACs, memory by part, per layer what autograd saves,
the largest batch that fits a GPU and the blocks worth checkpointing."""
from __future__ import annotations

import json

from archdsl.core.memory import (
    OPTIMIZER_NAMES,
    TrainingMemory,
    checkpoint_candidates,
    with_checkpoints,
)
from archdsl.text import count_text, count_with_rounding, human_bytes

SHOWN_CHECKPOINTS = 5


def _what(layer) -> str:
    names = []
    for s in layer.saved:
        if s.what not in names:
            names.append(s.what)
    return ", ".join(names)


def _per_sample(layer) -> int:
    return sum(s.packed(1) for s in layer.saved if s.per_sample)


def render_text(mem: TrainingMemory, budget: int | None = None, per_layer: bool = True) -> str:
    net, b = mem.net, mem.batch
    fwd = net.totals.macs
    lines = [f"{net.name} \u00b7 one training step \u00b7 batch {b} \u00b7 {OPTIMIZER_NAMES[mem.optimizer]} "
             f"\u00b7 fp32 \u00b7 {mem.device} rules", ""]
    lines += _pairs([
        ("Forward MACs", count_with_rounding(fwd)),
        ("Backward MACs", count_with_rounding(mem.backward_macs) + "  (2x forward; 1x where the input needs no "
                                                                  "gradient)"),
        ("Step MACs (per sample)", count_with_rounding(fwd + mem.backward_macs)),
        ("Step MACs (batch)", count_with_rounding((fwd + mem.backward_macs) * b)),
    ])
    lines.append("")
    lines += _pairs([
        ("Parameters", human_bytes(mem.params_bytes) + f"  ({net.totals.params:,} x 4 B)"),
        ("Gradients", human_bytes(mem.grads_bytes)),
        (f"Optimizer state ({OPTIMIZER_NAMES[mem.optimizer]})", human_bytes(mem.optimizer_bytes)),
        ("Buffers (BN running stats)", human_bytes(mem.buffers_bytes)),
        (f"Saved activations (batch {b})", human_bytes(mem.saved_bytes(b)) +
         f"  ({human_bytes(mem.saved_per_sample)} per sample; {human_bytes(mem.packed_bytes(b))} as saved, "
         "shared tensors counted once above)"),
        ("Backward working memory", human_bytes(mem.working_per_sample * b) +
         "  (the largest layer's input and output gradients)"),
        ("Total", human_bytes(mem.total_bytes(b))),
    ])
    if budget is not None:
        lines += [""] + fit_lines(mem, budget)
    if per_layer:
        lines += ["", "What autograd saves, per layer (per sample; BN's batch statistics are per batch):", ""]
        lines += layer_table(mem)
    lines += ["", "Not counted: the CUDA context and cuDNN workspaces, the allocator's rounding, the data batch "
                  "beyond what the first layer saves, and the loss."]
    return "\n".join(lines) + "\n"


def _pairs(pairs: list[tuple[str, str]]) -> list[str]:
    width = max(len(k) for k, _ in pairs)
    value = max(len(v.split("  (")[0]) for _, v in pairs)
    out = []
    for k, v in pairs:
        head, _, rest = v.partition("  (")
        out.append(f"  {k.ljust(width)}  {head.rjust(value)}" + (f"  ({rest}" if rest else ""))
    return out


def layer_table(mem: TrainingMemory) -> list[str]:
    rows = [("#", "Layer", "Op", "Saves", "Per sample", "Backward MACs")]
    for layer in mem.layers:
        node = layer.node
        if not layer.saved and not layer.backward_macs:
            continue
        rows.append((str(node.index), node.name, node.keyword, _what(layer),
                     human_bytes(_per_sample(layer)) if layer.saved else "",
                     f"{layer.backward_macs:,}" if layer.backward_macs else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {0, 4, 5}
    out = []
    for k, r in enumerate(rows):
        out.append("  " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                                    for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
        if k == 0:
            out.append("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    return out


def fit_lines(mem: TrainingMemory, budget: int) -> list[str]:
    best = mem.largest_batch(budget)
    lines = [f"GPU memory {human_bytes(budget)}: the largest batch that fits is {best:,} "
             f"({human_bytes(mem.per_sample_bytes)} per sample on top of {human_bytes(mem.fixed_bytes)})"]
    ranked = checkpoint_candidates(mem)[:SHOWN_CHECKPOINTS]
    if not ranked:
        return lines + ["No block frees memory when checkpointed."]
    lines.append("Worth checkpointing (torch.utils.checkpoint), most memory freed per recomputed MAC:")
    rows = []
    room = budget - mem.fixed_bytes
    for k, seg in enumerate(ranked, start=1):
        per = with_checkpoints(mem, ranked[:k])
        rows.append((seg.name, seg.label, f"frees {human_bytes(seg.freed_per_sample)}/sample",
                     f"recomputes {count_text(seg.recompute_macs)} MACs",
                     f"batch {max(room // per, 0):,} with the first {k}" if per > 0 else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def to_dict(mem: TrainingMemory, budget: int | None = None) -> dict:
    """The JSON of `archdsl cost -f json` (bytes as integers)."""
    b = mem.batch
    doc = {
        "network": mem.net.name, "batch": b, "optimizer": mem.optimizer, "device": mem.device,
        "macs": {"forward": mem.net.totals.macs, "backward": mem.backward_macs},
        "memory": {"params": mem.params_bytes, "grads": mem.grads_bytes, "optimizer": mem.optimizer_bytes,
                   "buffers": mem.buffers_bytes, "saved": mem.saved_bytes(b), "saved_as_packed": mem.packed_bytes(b),
                   "saved_per_sample": mem.saved_per_sample, "working": mem.working_per_sample * b,
                   "total": mem.total_bytes(b), "fixed": mem.fixed_bytes, "per_sample": mem.per_sample_bytes},
        "layers": [{"name": layer.node.name, "op": layer.node.keyword, "backward_macs": layer.backward_macs,
                    "saved": [{"what": s.what, "elements": s.elements, "bytes_per_element": s.itemsize,
                               "per_sample": s.per_sample} for s in layer.saved]}
                   for layer in mem.layers],
    }
    if budget is not None:
        doc["gpu_memory"] = budget
        doc["largest_batch"] = mem.largest_batch(budget)
        doc["checkpoint"] = [{"segment": s.name, "label": s.label, "freed_per_sample": s.freed_per_sample,
                              "recompute_macs": s.recompute_macs} for s in checkpoint_candidates(mem)]
    return doc


def render_json(mem: TrainingMemory, budget: int | None = None) -> str:
    return json.dumps(to_dict(mem, budget), indent=2) + "\n"
