"""What --save-tokens costs: time beside the same run without it, and the file's size.

    .venv/bin/python bench/token_overhead.py                   # GPT-2 small's shape, random weights, CPU
    .venv/bin/python bench/token_overhead.py --model gpt2-large --device cuda --limit 10

Part 1, side by side in one process: the same task and documents scored with and without
``save_tokens`` (the rows kept during evaluate, then written as Parquet with their spans
in the original text), the runs alternating so that machine load hits both alike; the
median of ``--repeats`` is reported. No work-unit store, so both compute everything.
Without ``--model`` the model is a random GPT-2 of GPT-2 small's size (12 layers, 768
wide, 1,024 positions: the same work per token as ``gpt2``, the smallest of the paper's
models, so the worst ratio among them).

Part 2, at the full size of WikiText-103's test set (~280k tokens): the rows of the real
stream (tokens, spans through the detokenizer alignment, window contexts) with NLLs drawn
at random over 0-20 nats, so that the NLL column compresses no better than a real
model's: the time to build and write the file, its size, and the time to read it back.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.engine.lm import LM
from gpt2eval.engine.units import Runner
from gpt2eval.models.loading import load_model
from gpt2eval.pipeline.evaluate import prepare
from gpt2eval.results.tokens import read_tokens, write_tokens


def side_by_side(args, out: Path) -> None:
    model = args.model
    if model is None:
        from gpt2eval.testing import save_tiny_gpt2

        model = str(save_tiny_gpt2(out / "gpt2-small-shape", n_layer=12, n_embd=768, n_positions=1024))
    loaded = load_model(ModelConfig(model=model, device=args.device, dtype="float32"))
    task, docs = prepare(args.task, DataConfig(data_dir=args.data_dir, limit=args.limit), WindowConfig(batch_size=args.batch_size))
    seconds = {False: [], True: []}
    write = []
    for r in range(args.repeats):
        for save in (False, True) if r % 2 == 0 else (True, False):
            task.save_tokens, task.token_rows = save, None
            start = time.perf_counter()
            sums = task.evaluate(docs, LM(loaded, task.window, runner=Runner()))
            if save:
                mid = time.perf_counter()
                result = {"model": {"name": model}, "config": {"window": {}, "protocol": {}}}
                write_tokens(out / "side.tokens.parquet", task, docs, result)
                write.append(time.perf_counter() - mid)
            seconds[save].append(time.perf_counter() - start)
    off, on = statistics.median(seconds[False]), statistics.median(seconds[True])
    n = sum(s["n_tokens"] for s in sums)
    print(f"part 1: {args.task}, {len(docs)} documents, {n:,} tokens, {Path(model).name}, median of {args.repeats}")
    print(f"  without --save-tokens  {off:8.2f} s")
    print(f"  with --save-tokens     {on:8.2f} s   ratio {on / off:.4f} ({100 * (on / off - 1):+.2f}%)")
    w = statistics.median(write)
    print(f"  of which the file      {w:8.3f} s ({100 * w / off:.2f}% of the run; {1e6 * w / n:.1f} us/token); "
          f"{(out / 'side.tokens.parquet').stat().st_size / n:.1f} bytes/token")


def full_size(args, out: Path) -> None:
    from gpt2eval.engine.tokens import stream_rows
    from gpt2eval.testing import gpt2_tokenizer

    task, docs = prepare(args.full_task, DataConfig(data_dir=args.data_dir), WindowConfig())
    start = time.perf_counter()
    tokenizer = gpt2_tokenizer()
    lm = type("FakeLM", (), {"tokenizer": tokenizer, "eos_prefix": True, "max_length": 1024, "stride": 1024})()
    ids, starts = LM.encode_with_offsets(lm, "".join(d.text for d in docs))
    encoded = time.perf_counter() - start
    doc_ends = np.cumsum([len(d.text) for d in docs])
    owner = np.minimum(np.searchsorted(doc_ends, np.asarray(starts), side="right"), len(docs) - 1)
    rng = np.random.default_rng(0)
    nll = rng.uniform(0, 20, len(ids))  # as spread as a real model's, so the column compresses no better
    task.token_rows = stream_rows([len(d.text) for d in docs], starts, ids, 0, owner, nll, nll < 1, LM.stream_contexts(lm, len(ids)))
    result = {"model": {"name": "synthetic NLL"}, "config": {"window": {}, "protocol": {}}}
    path = out / f"{args.full_task}.tokens.parquet"
    times = []
    for _ in range(2):  # the first write also imports pyarrow, unless part 1 ran before
        start = time.perf_counter()
        write_tokens(path, task, docs, result)
        times.append(time.perf_counter() - start)
    first, wrote = times
    start = time.perf_counter()
    table, _ = read_tokens(path)
    table.to_pandas()
    read = time.perf_counter() - start
    size = path.stat().st_size
    print(f"part 2: {args.full_task} whole, {len(ids):,} tokens in {len(docs)} documents (tokenized in {encoded:.1f} s)")
    print(f"  build + write the file {wrote:8.2f} s ({1e6 * wrote / len(ids):.1f} us/token; the first time {first:.2f} s)")
    print(f"  file size              {size / 1e6:8.2f} MB ({size / len(ids):.1f} bytes/token; NLL float64 at random: its upper bound)")
    print(f"  read back (pandas)     {read:8.2f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="hub id or folder [default: a random GPT-2 of gpt2's size]")
    ap.add_argument("--task", default="wikitext103")
    ap.add_argument("--full-task", default="wikitext103")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--limit", type=int, default=2, help="documents for part 1")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-full", action="store_true")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="token-overhead-"))
    side_by_side(args, out)
    if not args.skip_full:
        full_size(args, out)


if __name__ == "__main__":
    main()
