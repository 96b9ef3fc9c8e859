"""Why batching did not pay on a CPU: glibc's allocator, measured on the model body alone.

    .venv/bin/python bench/cpu_allocator.py  [--layers 12 --windows 8 --rounds 2 --varied 0]

Times the body of a random-init GPT-2 small (``model.transformer``: no output layer, no
harness) over ``--windows`` windows of 1,024 tokens at batch 1, 4 and 8, in two fresh
processes per round: one with glibc's malloc as it starts, one after
``gpt2eval.engine.allocator.keep_large_buffers()`` (what the scorer does on a CPU). The
rounds alternate the two, and each figure is the best over rounds. Only the ratios within a
process matter: batch 4 and 8 against batch 1.

``--varied N`` first runs N random batches (1, 2, 4 or 8 rows of 16-1,024 tokens, the same
seed in both processes; the output layer at 8 positions) through the whole model and
reports their seconds and the process's peak RSS: what the kept heap costs in memory when
shapes vary (holes a larger request cannot use), beside what it gains.
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
model = GPT2LMHeadModel(GPT2Config(n_layer=layers)).eval()
body = model.transformer
varied = {}
if int(sys.argv[4]):
    import random, resource
    rng = random.Random(0)
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(int(sys.argv[4])):
            b, t = rng.choice([1, 2, 4, 8]), rng.randint(16, 1024)
            model(input_ids=torch.randint(0, 50257, (b, t)), use_cache=False, logits_to_keep=8)
    varied = {"seconds": time.perf_counter() - start, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
ids = torch.randint(0, 50257, (windows, 1024))
def tps(batch):
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, windows, batch):
            body(input_ids=ids[lo : lo + batch], use_cache=False)
    return windows * 1024 / (time.perf_counter() - start)
tps(1)  # warm-up
print(json.dumps({"state": state, "tps": {b: tps(b) for b in (1, 4, 8)}, "varied": varied}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--varied", type=int, default=0, help="random batches of varied shapes first (0: none)")
    args = ap.parse_args()
    if min(args.layers, args.windows, args.rounds) < 1 or args.varied < 0:
        ap.error("--layers, --windows and --rounds must be >= 1, --varied >= 0")
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for mode in ("defaults", "kept"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(args.layers), str(args.windows), mode, str(args.varied)],
                                 capture_output=True, text=True, check=True).stdout
            got = json.loads(out.strip().splitlines()[-1])
            row = best.setdefault(mode, {"state": got["state"], "tps": {}, "varied": []})
            for b, t in got["tps"].items():
                row["tps"][b] = max(row["tps"].get(b, 0.0), t)
            if got["varied"]:
                row["varied"].append(got["varied"])
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; model body only, GPT-2 small architecture, "
          f"{args.layers} layers, {args.windows} windows of 1,024 tokens; best of {args.rounds} rounds")
    print("| allocator | batch 1 tok/s | batch 4 | batch 8 | b4 / b1 | b8 / b1 |\n|---|---|---|---|---|---|")
    for mode, row in best.items():
        t = row["tps"]
        print(f"| {row['state']} | {t['1']:.0f} | {t['4']:.0f} | {t['8']:.0f} | {t['4'] / t['1']:.2f} | {t['8'] / t['1']:.2f} |")
    if args.varied:
        print(f"\n{args.varied} random batches of 1-8 rows x 16-1,024 tokens, whole model (best seconds; peak RSS per round)")
        print("| allocator | seconds | peak RSS (MiB) |\n|---|---|---|")
        for row in best.values():
            runs = row["varied"]
            peaks = ", ".join(f"{r['peak_mib']:.0f}" for r in runs)
            print(f"| {row['state']} | {min(r['seconds'] for r in runs):.1f} | {peaks} |")


if __name__ == "__main__":
    main()
