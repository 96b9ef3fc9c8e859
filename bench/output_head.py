"""Seconds per window of the scoring path, output layer chunked or full, by batch size and
chunk rows; and what ``torch.compile`` gains on it (the model's body, and the chunked head).

    .venv/bin/python bench/output_head.py [--windows 8 --repeats 2 --batches 1,4,8 --rows 128,512,1024]
    .venv/bin/python bench/output_head.py --compile [--windows 4 --batches 1,4]

GPT-2 small architecture (random init, real vocabulary), windows of 1,024 WikiText-2 raw
tokens scored at every position (S = L), float32 on the CPU. Variants run interleaved, best
of ``--repeats``; every variant's total NLL is printed (they must agree to float32 rounding).
"""
import argparse
import time
from pathlib import Path

import torch

from gpt2eval.engine import scoring
from gpt2eval.engine.scoring import Scorer, stream_spans
from gpt2eval.testing import gpt2_tokenizer

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikitext-2" / "wiki.test.raw"


def spans(windows: int):
    tok = gpt2_tokenizer()
    ids = [tok.eos_token_id] + tok.encode(RAW.read_text(encoding="utf-8")[:200_000])[: windows * 1024 - 1]
    return stream_spans(ids, 1024, 1024)


def variant(scorer, spans, rows: int):
    def go():
        saved, scoring.HEAD_ROWS = scoring.HEAD_ROWS, rows
        try:
            return sum(float(s.nll.sum()) for s in scorer.score(spans))
        finally:
            scoring.HEAD_ROWS = saved
    return go


def compiled_scorer(model, batch: int):
    """The body compiled in place (``nn.Module.compile``) and the chunk's reduction compiled."""
    scorer = Scorer(model, batch)
    reduce = torch.compile(_reduce, dynamic=True)

    def score_rows(logits_of, targets, vocab, block=0):
        rows = max(block, scoring.chunk_rows(vocab, targets.device))  # the fused reduction needs no sub-chunks
        nll = torch.empty(len(targets), dtype=torch.float64)
        greedy = torch.empty(len(targets), dtype=torch.bool)
        for lo in range(0, len(targets), rows):
            nll[lo : lo + rows], greedy[lo : lo + rows] = reduce(logits_of(lo, lo + rows), targets[lo : lo + rows])
        return scoring.SpanScore(nll.numpy(), greedy.numpy())

    return scorer, score_rows


def _reduce(logits, targets):
    sel = logits.float()
    tgt = targets[:, None]
    logit = sel.gather(1, tgt)[:, 0]
    return (torch.logsumexp(sel, dim=1) - logit).double(), logit >= sel.amax(dim=1)


def measure(variants: dict, repeats: int, tokens: int) -> None:
    """Best of ``repeats`` by wall time, and the process CPU time of that run (all threads):
    on a shared machine CPU time moves less with other processes' load."""
    best = {}
    for _ in range(repeats):
        for name, fn in variants.items():
            wall, cpu = time.perf_counter(), time.process_time()
            nll = fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu, nll)
    base, base_cpu = next(iter(best.values()))[:2]
    print("| variant | tokens/s | vs first row | CPU s per 1k tokens | vs first row (CPU) | total NLL (nats) |\n|---|---|---|---|---|---|")
    for name, (wall, cpu, nll) in best.items():
        print(f"| {name} | {tokens / wall:.0f} | {base / wall:.2f} | {1000 * cpu / tokens:.2f} | {base_cpu / cpu:.2f} | {nll:.4f} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--rows", default="128,512,1024", help="output-layer rows per block (HEAD_ROWS)")
    ap.add_argument("--compile", action="store_true", help="eager against torch.compile, chunked head")
    args = ap.parse_args()
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config()).eval()
    data = spans(args.windows)
    tokens = sum(len(s.target_ids) for s in data)
    batches = [int(b) for b in args.batches.split(",")]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"GPT-2 small random init; {args.windows} windows of 1,024 tokens; best of {args.repeats}, interleaved")
    variants = {}
    if not args.compile:
        for b in batches:
            full = Scorer(model, b)
            full.head.path = "full"
            variants[f"full logits, batch {b}"] = variant(full, data, scoring.HEAD_ROWS)
            for rows in map(int, args.rows.split(",")):
                variants[f"chunked {rows} rows, batch {b}"] = variant(Scorer(model, b), data, rows)
        measure(variants, args.repeats, tokens)
        return
    for b in batches:
        variants[f"eager, batch {b}"] = variant(Scorer(model, b), data, scoring.HEAD_ROWS)
    start = time.perf_counter()
    import copy

    cmodel = copy.deepcopy(model)  # the eager variants keep the eager model
    cmodel.base_model.compile(dynamic=False)
    compiled = {}
    for b in batches:
        scorer, score_rows = compiled_scorer(cmodel, b)
        compiled[b] = (scorer, score_rows)
    saved = scoring._score_rows

    def with_compiled(b):
        def go():
            scoring._score_rows = compiled[b][1]
            try:
                return variant(compiled[b][0], data, scoring.HEAD_ROWS)()
            finally:
                scoring._score_rows = saved
        return go

    warm = with_compiled(batches[0])()  # compiles
    print(f"first compiled pass (compiles): {time.perf_counter() - start:.0f} s, nll {warm:.4f}")
    for b in batches:
        variants[f"torch.compile, batch {b}"] = with_compiled(b)
    measure(variants, args.repeats, tokens)


if __name__ == "__main__":
    main()
