"""Measuring what the static estimates predict, in torch: the tensors autograd
saves during one training forward pass of the built module, through
`torch.autograd.graph.saved_tensors_hooks` (`archdsl cost --measure`, and the
oracle of tests/test_memory.py). Imports torch lazily, like every backend."""
from __future__ import annotations

from archdsl.records import dataclass, field


@dataclass(slots=True)
class Measured:
    """What the hooks saw: every tensor packed (parameters and buffers aside,
    which the estimate counts as such), its bytes counted each time it is
    packed, and its storage's bytes counted once."""

    batch: int
    packed_bytes: int = 0
    held_bytes: int = 0
    tensors: list = field(default_factory=list)  # (module, shape, dtype, bytes, storage bytes)
    by_module: dict = field(default_factory=dict)  # module path -> packed bytes


def measure_saved(net, batch: int = 2, seed: int = 0) -> Measured:
    """Run one forward pass of `archdsl.build(net)` in training mode on CPU and
    record what autograd saves."""
    import torch

    from archdsl.backends.torch.build import build
    torch.manual_seed(seed)
    model = build(net)
    model.train()
    owned = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    names = {m: name for name, m in model.named_modules()}
    stack: list[str] = []
    handles = []
    def enter(module, args):
        stack.append(names[module])

    def leave(module, args, output):
        stack.pop()

    for module in model.modules():
        if next(module.children(), None) is None:  # leaf modules: the layers
            handles.append(module.register_forward_pre_hook(enter))
            handles.append(module.register_forward_hook(leave))
    result = Measured(batch)
    storages: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in owned:
            size = t.numel() * t.element_size()
            where = stack[-1] if stack else ""
            result.packed_bytes += size
            result.by_module[where] = result.by_module.get(where, 0) + size
            storages.setdefault(storage.data_ptr(), storage.nbytes())
            result.tensors.append((where, tuple(t.shape), str(t.dtype).replace("torch.", ""), size,
                                   storage.nbytes()))
        return t

    inputs = []
    for node in net.graph.inputs:
        shape = (batch, *node.shape)
        vocab = net.graph.input_vocab(node)
        if vocab is not None:
            inputs.append(torch.randint(0, vocab, shape))
        else:
            inputs.append(torch.randn(shape))
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    result.held_bytes = sum(storages.values())
    return result
