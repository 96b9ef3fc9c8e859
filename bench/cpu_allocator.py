"""Why batching did not pay on a CPU: glibc's allocator, measured on the model body alone.

    .venv/bin/python bench/cpu_allocator.py  [--layers 12 --windows 8 --rounds 2]

Times the body of a random-init GPT-2 small (``model.transformer``: no output layer, no
harness) over ``--windows`` windows of 1,024 tokens at batch 1, 4 and 8, in two fresh
processes per round: one with glibc's malloc as it starts, one after
``gpt2eval.engine.allocator.keep_large_buffers()`` (what the scorer does on a CPU). The
rounds alternate the two, and each figure is the best over rounds. Only the ratios within a
process matter: batch 4 and 8 against batch 1.
"""
import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import torch
from transformers import GPT2Config, GPT2LMHeadModel
layers, windows, keep = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "kept"
state = "glibc as started"
if keep:
    from gpt2eval.engine.allocator import keep_large_buffers
    state = keep_large_buffers()
torch.manual_seed(0)
body = GPT2LMHeadModel(GPT2Config(n_layer=layers)).eval().transformer
ids = torch.randint(0, 50257, (windows, 1024))
def tps(batch):
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, windows, batch):
            body(input_ids=ids[lo : lo + batch], use_cache=False)
    return windows * 1024 / (time.perf_counter() - start)
tps(1)  # warm-up
print(json.dumps({"state": state, "tps": {b: tps(b) for b in (1, 4, 8)}}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for mode in ("defaults", "kept"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(args.layers), str(args.windows), mode],
                                 capture_output=True, text=True, check=True).stdout
            got = json.loads(out.strip().splitlines()[-1])
            row = best.setdefault(mode, {"state": got["state"], "tps": {}})
            for b, t in got["tps"].items():
                row["tps"][b] = max(row["tps"].get(b, 0.0), t)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; model body only, GPT-2 small architecture, "
          f"{args.layers} layers, {args.windows} windows of 1,024 tokens; best of {args.rounds} rounds")
    print("| allocator | batch 1 tok/s | batch 4 | batch 8 | b4 / b1 | b8 / b1 |\n|---|---|---|---|---|---|")
    for mode, row in best.items():
        t = row["tps"]
        print(f"| {row['state']} | {t['1']:.0f} | {t['4']:.0f} | {t['8']:.0f} | {t['4'] / t['1']:.2f} | {t['8'] / t['1']:.2f} |")


if __name__ == "__main__":
    main()
