"""Many processes through PyTorch's own engine: torchrun starts them, this
module joins the process group (gloo on CPU, NCCL on GPU), shards the data
with a DistributedSampler, wraps the model in DistributedDataParallel and
sums metrics over ranks. Rank 0 alone prints, draws and writes files.

One process (no torchrun, or WORLD_SIZE=1) uses the same code paths with a
world of one, so a single run and a distributed one differ only where they
must."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from archdsl.records import dataclass

from .package import UsageError


@dataclass(frozen=True)
class Context:
    """This process's place in the run."""
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one process that logs, draws and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def from_environment() -> Context:
    """The context torchrun's variables describe (a world of one without them)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    return Context(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def join(ctx: Context, device: torch.device) -> None:
    """Join the process group: NCCL between GPUs, gloo between CPU processes."""
    if not ctx.distributed or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")


def leave(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(ctx: Context, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel for a world of several; the module itself for one."""
    if not ctx.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel
    # A conv over one input channel gets gradients whose size-1 axis has another
    # (meaningless) stride than its weight; DDP copies them into its buckets all
    # the same but warns on every process, which reads like a fault; it is silenced.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def sampler(ctx: Context, n: int, seed: int) -> DistributedSampler:
    """Each rank's share of a shuffled epoch. One process uses it too (a world of
    one), so its order is the very permutation a distributed run splits.
    drop_last: an uneven tail is dropped rather than padded with repeats, so
    every rank sees as many samples and the global batch is exact."""
    return DistributedSampler(range(n), num_replicas=ctx.world, rank=ctx.rank, shuffle=True,
                              seed=seed, drop_last=ctx.distributed)


def shard(ctx: Context, n: int) -> torch.Tensor:
    """This rank's part of an evaluation set: every world-th sample, no padding,
    so the summed metrics count each sample once."""
    return torch.arange(ctx.rank, n, ctx.world)


def all_sum(ctx: Context, values: torch.Tensor) -> torch.Tensor:
    """The element-wise sum over ranks (in float64, so counts stay exact)."""
    values = values.detach().to(torch.float64)
    if ctx.distributed:
        device = values.device if dist.get_backend() != "gloo" else torch.device("cpu")
        moved = values.to(device)
        dist.all_reduce(moved)
        values = moved
    return values.cpu()


def gather(ctx: Context, obj) -> list:
    """Every rank's `obj`, in rank order (small things only: RNG states)."""
    if not ctx.distributed:
        return [obj]
    out = [None] * ctx.world
    dist.all_gather_object(out, obj)
    return out


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast_flag(ctx: Context, flag: bool) -> bool:
    """Rank 0's decision (stop early) for everyone."""
    if not ctx.distributed:
        return flag
    box = [flag]
    dist.broadcast_object_list(box, src=0)
    return bool(box[0])


def launch(nproc: int, argv: list[str]) -> int:
    """`archdsl train --nproc N ...`: run the same command under torchrun on this
    machine (--standalone picks a free port), and return its exit code."""
    if nproc < 1:
        raise UsageError("--nproc must be at least 1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "archdsl.train", "train", *argv]
    return subprocess.call(command)


def strip_nproc(argv: list[str]) -> list[str]:
    """The arguments without `--nproc N` / `--nproc=N`, for the processes torchrun starts."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out
