"""Work-unit cache overhead on an uninterrupted run: cache on vs off, side by side in one run.

    .venv/bin/python bench/cache_overhead.py                  # a tiny random GPT-2, on the CPU
    .venv/bin/python bench/cache_overhead.py --model gpt2-large --device cuda --batch-size 16

Both modes cut the same work units; "on" also hashes each unit's items and commits its
records to a fresh SQLite cache (WAL, one transaction per unit). Runs alternate off/on so
that machine load hits both alike; the median of ``--repeats`` is reported. The tiny model
computes fastest, so its ratio is the worst case: a real model spends longer per unit.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gpt2eval.engine.store import FILENAME, WorkUnitStore
from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.models.fingerprint import model_fingerprint
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model
from gpt2eval.registry import get_task_class
from gpt2eval.engine.units import UNIT_TOKENS, Runner


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--task", default="ptb")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--work-unit-tokens", type=int, default=UNIT_TOKENS)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    model = args.model
    if model is None:
        from gpt2eval.testing import save_tiny_gpt2

        model = str(save_tiny_gpt2(tempfile.mkdtemp() + "/tiny", n_positions=1024))
    model_cfg = ModelConfig(model=model, device=args.device)
    loaded = load_model(model_cfg)
    task = get_task_class(args.task)(DataConfig(data_dir=args.data_dir, limit=args.limit))
    docs = task.documents()
    window = WindowConfig(batch_size=args.batch_size)
    fingerprint = model_fingerprint(model_cfg, loaded)
    seconds = {"off": [], "on": []}
    nll = {}
    for _ in range(args.repeats):
        for mode in ("off", "on"):
            cache = WorkUnitStore(Path(tempfile.mkdtemp()) / FILENAME) if mode == "on" else None
            runner = Runner(fingerprint, cache, unit_tokens=args.work_unit_tokens)
            start = time.perf_counter()
            sums = task.evaluate(docs, LM(loaded, window, runner=runner))
            seconds[mode].append(time.perf_counter() - start)
            nll[mode] = sum(s["nll_nats"] for s in sums)
            units = runner.report(mode)["units"]
    off, on = statistics.median(seconds["off"]), statistics.median(seconds["on"])
    n_tokens = sum(s["n_tokens"] for s in sums)
    print(f"{args.task} --limit {args.limit}: {n_tokens:,} tokens, {units} units of {args.work_unit_tokens} tokens, "
          f"batch {args.batch_size}, {model}, device {loaded.device}, median of {args.repeats}")
    print(f"cache off  {off:8.2f} s   ({', '.join(f'{s:.2f}' for s in seconds['off'])})")
    print(f"cache on   {on:8.2f} s   ({', '.join(f'{s:.2f}' for s in seconds['on'])})")
    print(f"overhead   {100 * (on / off - 1):+.2f}%   same total nll: {nll['on'] == nll['off']}")


if __name__ == "__main__":
    main()
