"""Data-parallel processes through ``torch.distributed``, configured by torchrun's variables.

``torchrun`` (and ``accelerate launch``, or ``srun torchrun`` under SLURM) starts one
process per device and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``. Every rank runs the same command on the same data and model; only the
work units are shared out (``units.Runner``), and every rank ends with every unit's
results, so code after a request (a greedy search step, the task's sums) runs identically
everywhere. Rank 0 alone writes files and prints. Without these variables everything here
is a no-op for a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from gpt2eval.errors import UsageError


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # set once the process group is up

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> str:
        """The device of this rank: ``cuda:LOCAL_RANK`` for auto/cuda, else as requested."""
        if self.world_size == 1:
            return requested
        import torch

        if requested == "auto":
            requested = "cuda" if torch.cuda.is_available() else "cpu"
        if requested == "cuda":
            return f"cuda:{self.local_rank}"
        if requested.startswith("cuda:"):
            raise UsageError(f"--device {requested} under torchrun: pass --device cuda (each rank takes cuda:LOCAL_RANK)")
        return requested

    def init(self, device: str) -> None:
        """Start the process group: nccl between GPUs, gloo between CPU processes."""
        if self.world_size == 1 or self.backend is not None:
            return
        import torch
        import torch.distributed as dist

        self.backend = "nccl" if device.startswith("cuda") else "gloo"
        if self.backend == "nccl":
            torch.cuda.set_device(torch.device(device))
        dist.init_process_group(backend=self.backend, rank=self.rank, world_size=self.world_size)

    def all_gather(self, obj) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if self.world_size == 1:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if self.world_size == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.backend is not None:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.backend = None


def from_env() -> Dist:
    """This process's place in a torchrun launch (rank 0 of 1 without one)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and "MASTER_ADDR" not in os.environ:
        raise UsageError("WORLD_SIZE is set but MASTER_ADDR is not: launch with torchrun (see README, Running on many GPUs)")
    return Dist(rank=int(os.environ.get("RANK", "0")), world_size=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
