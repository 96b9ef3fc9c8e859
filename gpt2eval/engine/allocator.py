"""Large CPU buffers kept in the heap between forward passes, so batching pays on a CPU.

glibc's ``malloc`` serves a request above its mmap threshold with fresh pages from
``mmap`` and hands them back with ``munmap`` on ``free``. The threshold starts at 128 KiB
and rises by itself only to 32 MiB. A forward pass allocates and frees its activations op
by op, layer by layer; once a tensor is larger than 32 MiB, every op maps new pages, and
the kernel faults and zeroes each 4 KiB page on first touch. GPT-2 small's MLP activation
is 12 MiB for one window of 1,024 tokens and 50 MiB for four: batch 1 stays under the cap,
batch 4 pays the page faults on every elementwise op (GELU's mul, add, tanh, pow). Measured
on 2 EPYC cores, the model body alone (12 layers, 8 windows of 1,024 tokens):

    glibc defaults          batch 1: 774-808 tok/s   batch 4: 617-628 (0.78x)   batch 8: 615-623
    thresholds at 1 GiB     batch 1: 817             batch 4: 806-855 (1.0x)    batch 8: 826-860

``keep_large_buffers`` raises the mmap threshold and the trim threshold (``mallopt``) so
freed activations go back to the heap and are reused by the next op, as a caching
allocator does. Numbers do not change: only where a buffer comes from does. Memory does:
what is freed stays with the process (up to ``THRESHOLD`` at the heap's top) instead of
going back to the system, and rows of varied shapes leave holes in the heap that a larger
request cannot use. Scoring a stream at batch 8 peaks no higher than before
(bench/RESULTS.md); 120 random batches of 1-8 rows of 16-1,024 tokens through a 4-layer
GPT-2 peaked at 1,731 MiB instead of 1,266, in 0.80x the time (bench/cpu_allocator.py
--varied). The same fix is why the
PyTorch CPU tuning guides recommend jemalloc or tcmalloc. A user who preloads one of those,
sets glibc's malloc variables, or sets ``GPT2EVAL_CPU_ALLOCATOR=system`` keeps the system's
behaviour, and the result records what ran (``config.engine.cpu_allocator``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

from gpt2eval.errors import UsageError

THRESHOLD = 2**30  # 1 GiB: above any activation of a batch of 8 windows of gpt2-xl (210 MiB)
M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3

SETTINGS = ("kept", "system")  # GPT2EVAL_CPU_ALLOCATOR's values; unset is "kept"

_state: str | None = None


def setting() -> str:
    """``GPT2EVAL_CPU_ALLOCATOR``, checked (the pipeline asks before any weights load)."""
    value = os.environ.get("GPT2EVAL_CPU_ALLOCATOR", "kept")
    if value not in SETTINGS:
        raise UsageError(f"GPT2EVAL_CPU_ALLOCATOR={value!r}: use 'system' (glibc's defaults) or 'kept' (the default), or unset it")
    return value


def keep_large_buffers() -> str:
    """Raise glibc's mmap and trim thresholds to ``THRESHOLD`` once per process; returns
    what the process's allocator now is, in words, for ``config.engine.cpu_allocator``."""
    global _state
    if _state is None:
        _state = _set()
    return _state


def _set() -> str:
    if setting() == "system":
        return "system default (GPT2EVAL_CPU_ALLOCATOR=system)"
    preload = os.environ.get("LD_PRELOAD", "")
    if preload:
        return f"LD_PRELOAD={preload} (left as set)"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "system default"
    # glibc's malloc variables (MALLOC_MMAP_THRESHOLD_, MALLOC_ARENA_MAX, ...) or malloc tunables.
    mine = sorted(name for name, value in os.environ.items()
                  if name.startswith("MALLOC_") or (name == "GLIBC_TUNABLES" and "glibc.malloc." in value))
    if mine:
        return "glibc, " + ", ".join(f"{name}={os.environ[name]}" for name in mine) + " (left as set)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mmap = libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD) == 1
        trim = libc.mallopt(M_TRIM_THRESHOLD, THRESHOLD) == 1
    except (OSError, AttributeError):
        return "glibc defaults (no mallopt)"
    raised = [name for name, ok in (("mmap", mmap), ("trim", trim)) if ok]
    if not raised:
        return "glibc defaults (mallopt refused)"
    return f"glibc, {' and '.join(raised)} threshold{'s' if len(raised) > 1 else ''} {THRESHOLD >> 20} MiB"
