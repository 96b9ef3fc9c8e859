"""Peak memory and time of scoring a batch's logits: our chunked gather vs a full log-softmax.

The naive way, ``log_softmax(logits.float(), -1).gather(...)``, materialises a float32
(B, T, V) tensor beside the logits: 1.6 GiB for B = 8, T = 1024, V = 50,257. Ours works
on float32 chunks of ``LOGSOFTMAX_BYTES`` at the scored positions only. Each variant runs
in its own process on the same logits shape, side by side in one run:

    .venv/bin/python bench/logsoftmax_memory.py [--batch 8 --length 1024 --dtype bfloat16 --device cpu]
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import torch

VOCAB = 50_257


def run_variant(variant: str, batch: int, length: int, dtype: str, device: str) -> dict:
    from gpt2eval.engine.scoring import _nll

    torch.manual_seed(0)
    logits = torch.randn(batch, length, VOCAB, dtype=getattr(torch, dtype), device=device)
    targets = torch.randint(0, VOCAB, (batch, length), device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    if variant == "chunked":
        total = sum(float(_nll(logits[b], targets[b]).nll.sum()) for b in range(batch))
    else:
        logprobs = torch.log_softmax(logits.float(), dim=-1)  # (B, T, V) float32
        total = float(-logprobs.gather(-1, targets[..., None]).double().sum())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"variant": variant, "seconds": time.perf_counter() - start, "peak_extra_bytes": peak, "nll": total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--variant")
    args = ap.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.batch, args.length, args.dtype, args.device)))
        return
    rows = []
    for variant in ("chunked", "full"):
        cmd = [sys.executable, __file__, "--variant", variant] + [f"--{k}={getattr(args, k)}" for k in ("batch", "length", "dtype", "device")]
        rows.append(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))
    chunked, full = rows
    print(f"logits ({args.batch}, {args.length}, {VOCAB}) {args.dtype} on {args.device}")
    for r in rows:
        print(f"  {r['variant']:8s} peak extra {r['peak_extra_bytes'] / 2**20:8.0f} MiB   {r['seconds']:6.2f} s   nll {r['nll']:.6e}")
    print(f"  memory ratio full/chunked: {full['peak_extra_bytes'] / max(1, chunked['peak_extra_bytes']):.1f}x; "
          f"time ratio full/chunked: {full['seconds'] / chunked['seconds']:.2f}x; "
          f"relative nll difference {abs(full['nll'] - chunked['nll']) / abs(full['nll']):.1e}")


if __name__ == "__main__":
    main()
