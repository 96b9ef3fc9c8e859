"""Scoring throughput, side by side in one run: batch sizes, strides, and the output layer
run only at scored positions (``logits_to_keep``) against the full (B, T, V) logits.

    .venv/bin/python bench/throughput.py --model gpt2-large --task wikitext2 --device cuda
    .venv/bin/python bench/throughput.py            # a tiny random GPT-2, on the CPU

Without ``--model`` it builds a tiny random GPT-2 (real vocabulary) in a temp dir; its
output layer is most of its cost, so the ratios there overstate what a real model gains.
"""
import argparse
import tempfile
import time

from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model
from gpt2eval.registry import get_task_class


def timed(task, docs, lm) -> tuple[float, float]:
    start = time.perf_counter()
    sums = task.evaluate(docs, lm)
    seconds = time.perf_counter() - start
    return sum(s["n_tokens"] for s in sums) / seconds, sum(s["nll_nats"] for s in sums)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--task", default="ptb")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    model = args.model
    if model is None:
        from gpt2eval.testing import save_tiny_gpt2

        model = str(save_tiny_gpt2(tempfile.mkdtemp() + "/tiny", n_positions=256))
    loaded = load_model(ModelConfig(model=model, device=args.device))
    task = get_task_class(args.task)(DataConfig(data_dir=args.data_dir, limit=args.limit))
    docs = task.documents()
    L = loaded.context_length
    rows = []
    for stride in (L, L // 4):
        for batch in (1, 8):
            for keep in (True, False):
                lm = LM(loaded, WindowConfig(stride=stride, batch_size=batch))
                lm.scorer.logits_to_keep &= keep
                tps, nll = timed(task, docs, lm)
                rows.append((stride, batch, keep, tps, nll))
    base = rows[0][3]
    print(f"{args.task} --limit {args.limit}, {model}, L = {L}, device {loaded.device}")
    print("stride  batch  logits_to_keep   tokens/s   vs first row   total nll")
    for stride, batch, keep, tps, nll in rows:
        print(f"{stride:6d}  {batch:5d}  {str(keep):>14s}  {tps:9.0f}   {tps / base:10.2f}x   {nll:.6f}")


if __name__ == "__main__":
    main()
