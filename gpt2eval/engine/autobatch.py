"""``--batch-size auto``: the largest batch of full windows that fits, found before scoring.

Start at ``START[device type]`` windows of ``max_length`` tokens and halve on out-of-memory
until one forward pass (and its scoring) goes through. A full window scored at every
position is the most memory any request of a run needs (continuations are shorter), so
the batch found holds for the whole run. It is recorded in the result
(``config.window.batch_size``, with ``batch_size_auto: true``); numbers do not depend on
it. On a CPU a failed allocation may end the process instead of raising, so the CPU
start is small: there a larger batch gains little anyway.
"""
from __future__ import annotations

from gpt2eval.errors import UsageError

START = {"cuda": 64, "cpu": 8}


def is_oom(error: BaseException) -> bool:
    """Whether ``error`` is an out-of-memory failure of the device (CUDA, MPS or CPU)."""
    import torch

    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and ("out of memory" in str(error) or "can't allocate memory" in str(error))


def find_batch_size(scorer, length: int, eos_id: int, start: int | None = None) -> int:
    """Halve from ``start`` until ``scorer`` scores a batch of ``length``-token windows."""
    from gpt2eval.engine.scoring import Span

    size = start or START.get(scorer.device.type, START["cpu"])
    window = Span([eos_id] * length, [eos_id] * length)  # (L,) inputs, L targets: the worst case
    progress, scorer.progress = scorer.progress, None
    try:
        while True:
            scorer.batch_size = size
            try:
                scorer.score([window] * size)
                return size
            except Exception as e:  # noqa: BLE001 - anything but an OOM is re-raised
                if not is_oom(e):
                    raise
            _free(scorer)
            if size == 1:
                raise UsageError(f"one window of {length} tokens does not fit on {scorer.device}: "
                                 "lower --max-length, or use --dtype bf16 or a larger device")
            size //= 2
    finally:
        scorer.progress = progress


def _free(scorer) -> None:
    import gc

    import torch

    gc.collect()
    if scorer.device.type == "cuda":
        torch.cuda.empty_cache()
