"""``--batch-size auto``: the batch size to score with, found before scoring.

On a GPU, the largest batch of full windows that fits: start at ``START`` windows of
``max_length`` tokens and halve on out-of-memory until one forward pass (and its scoring)
goes through. A full window scored at every position is the most memory any request of a
run needs (continuations are shorter), so the batch found holds for the whole run. With
the chunked output layer (``head.py``) a row costs its activations only, not its (T, V)
logits, so the start is reached on far smaller devices than before.

On a CPU, memory is rarely the limit and a larger batch is not always faster (2 cores are
busy at batch 1 on long windows; with the allocator kept, ``allocator.py``, a batch of long
windows runs at batch 1's speed, and short rows gain from batching): ``probe_batch_size``
times batches of 1, 2, 4, 8 windows (``PROBE``) of up to ``PROBE_TOKENS`` tokens, stops
at the first size that is not ``GAIN`` faster than the best so far, and keeps the best.

The batch size is recorded in the result (``config.window.batch_size``, with
``batch_size_auto: true``), the CPU probe's tokens/s in ``config.engine.batch_probe``;
numbers do not depend on either.
"""
from __future__ import annotations

import time

from gpt2eval.errors import UsageError

# 64 full windows keep a GPU busy; a larger batch would also make work units coarser (a
# unit closes at a whole batch: engine/units.py). The chunked output layer makes 64 fit
# where the (64, 1,024, 50,257) logits did not (bench/gpu_mfu.py --fit: the largest that fits).
START = {"cuda": 64, "mps": 64}
PROBE = (1, 2, 4, 8)  # batch sizes a CPU probe tries, in order
PROBE_TOKENS = 256  # window length of the CPU probe: long enough for real cache behaviour, short to run
GAIN = 1.03  # a larger batch must be this much faster to count as faster (timing noise)


def auto_batch_size(scorer, length: int, eos_id: int) -> tuple[int, dict | None]:
    """The batch size for ``--batch-size auto``, and the CPU probe's tokens/s per size (None on a GPU)."""
    if scorer.device.type == "cpu":
        return probe_batch_size(scorer, min(length, PROBE_TOKENS), eos_id)
    return find_batch_size(scorer, length, eos_id), None


def probe_batch_size(scorer, length: int, eos_id: int) -> tuple[int, dict]:
    """The fastest of ``PROBE`` batch sizes on windows of ``length`` tokens: (size, {size: tokens/s})."""
    from gpt2eval.engine.scoring import Span

    window = Span([eos_id] * length, [eos_id] * length)
    progress, scorer.progress = scorer.progress, None
    speeds: dict[int, float] = {}
    best = 1
    try:
        scorer.batch_size = 1
        scorer.score([window])  # warm-up: first-call allocations and kernel choice
        for size in PROBE:
            scorer.batch_size = size
            start = time.perf_counter()
            try:
                scorer.score([window] * size)
            except Exception as e:  # noqa: BLE001 - anything but an OOM is re-raised
                if not is_oom(e):
                    raise
                _free(scorer)
                break
            speeds[size] = size * length / (time.perf_counter() - start)  # tokens/s
            if size > best and speeds[size] < GAIN * speeds[best]:
                break
            best = size
    finally:
        scorer.progress = progress
    return best, {str(k): round(v, 1) for k, v in speeds.items()}


def is_oom(error: BaseException) -> bool:
    """Whether ``error`` is an out-of-memory failure of the device (CUDA, MPS or CPU)."""
    import torch

    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and ("out of memory" in str(error) or "can't allocate memory" in str(error))


def find_batch_size(scorer, length: int, eos_id: int, start: int | None = None) -> int:
    """Halve from ``start`` until ``scorer`` scores a batch of ``length``-token windows."""
    from gpt2eval.engine.scoring import Span

    size = start or START.get(scorer.device.type, 8)
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
