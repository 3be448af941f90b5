"""Where and in what precision a run computes: `--device auto|cpu|cuda|mps`,
`--precision fp32|bf16|fp16`, `--channels-last`, `--compile`."""
from __future__ import annotations

import contextlib

import torch

from archdsl.records import dataclass

from .package import UsageError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(choice: str, local_rank: int | None = None) -> torch.device:
    """`auto`: CUDA, else Apple's MPS, else the CPU. Under torchrun each process
    takes the GPU of its local rank."""
    kind, _, index = choice.partition(":")
    if kind not in DEVICES:
        raise UsageError(f"--device: unknown device '{choice}'; one of: {', '.join(DEVICES)} (or cuda:N)")
    if kind == "auto":
        if torch.cuda.is_available():
            kind = "cuda"
        elif _mps_available():
            kind = "mps"
        else:
            kind = "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: this PyTorch sees no CUDA device "
                             f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
        if index:
            return torch.device("cuda", int(index))
        return torch.device("cuda", local_rank or 0)
    if kind == "mps" and not _mps_available():
        raise UsageError("--device mps: Apple's Metal backend is not available here")
    return torch.device(kind)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


@dataclass(frozen=True)
class Precision:
    """Autocast settings: `dtype` None is plain fp32; fp16 needs a GradScaler."""
    name: str
    dtype: torch.dtype | None

    @property
    def needs_scaler(self) -> bool:
        return self.dtype is torch.float16

    def autocast(self, device: torch.device):
        """The context a forward pass and its loss run in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)

    def scaler(self, device: torch.device):
        """A gradient scaler for fp16 (small gradients would underflow), else None."""
        return torch.amp.GradScaler(device.type) if self.needs_scaler else None


def resolve_precision(name: str, device: torch.device) -> Precision:
    if name not in PRECISIONS:
        raise UsageError(f"--precision: one of {', '.join(PRECISIONS)}, got '{name}'")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UsageError("--precision bf16: this GPU has no bfloat16; use fp16")
    return Precision(name, PRECISIONS[name])


def memory_format(channels_last: bool, rank: int):
    """channels_last applies to 4-d (image) tensors only."""
    return torch.channels_last if channels_last and rank == 4 else torch.contiguous_format


def compile_model(model: torch.nn.Module) -> torch.nn.Module:
    """torch.compile; the checkpoint still saves the uncompiled module, so its
    keys carry no `_orig_mod.` prefix. Compilation happens at the first step."""
    return torch.compile(model)
