"""Tokens/s of gpt2eval against bare forward passes, lm-eval and the transformers docs recipe,
on the same model object and the same text, side by side in one process.

    .venv/bin/pip install 'lm-eval==0.4.*' accelerate   # beside the project, for this benchmark only
    .venv/bin/python bench/speed_vs_lm_eval.py  [--tokens 4095 --repeats 3 --stride-tokens 2047]

The model is a random-init GPT-2 small architecture (12 layers, 768 dims, the real 50,257
vocabulary): a forward pass costs the same whatever the weights. The text is the start of
WikiText-2's raw test file. Variants run interleaved (round r of every variant before
round r + 1) and the best of ``--repeats`` counts, so load from other processes hits all
of them alike. Part 1 is S = L (disjoint windows: what lm-eval's ``loglikelihood_rolling``
computes); part 2 is S = L/4 against the recipe, which runs the output layer everywhere.
Every variant's total NLL is printed: the harnesses must agree on what they compute.
On a CPU, gpt2eval keeps large freed buffers in its heap (``gpt2eval.engine.allocator``), a
process-wide setting, so the rounds alternate between two processes: one as the peers run
for their users (glibc's defaults: bare, lm-eval, recipe), and one with the setting made
before anything runs (every variant, the peers' included: the same allocator for all).
Each variant's figure is its best round. Part 3 is peak memory per batch size
(``bench/peak_rss.py``, each batch size in its own process, against the model's own forward
pass with no logits); ``--memory-layers 0`` skips it.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from gpt2eval.config import WindowConfig
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import LoadedModel
from gpt2eval.engine.scoring import stream_spans
from gpt2eval.testing import gpt2_tokenizer

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikitext-2" / "wiki.test.raw"


def gpt2_small(device: str):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config()).to(device).eval()


def bare(model, ids, L, S):
    """Only the model's forward passes over our windows, batch 1: the floor to beat."""
    with torch.inference_mode():
        for span in stream_spans(ids, L, S):
            model(torch.tensor([list(span.input_ids)], device=model.device)).logits
    return float("nan")


def ours(loaded, ids, L, S, batch):
    lm = LM(loaded, WindowConfig(max_length=L, stride=S, batch_size=batch))
    return float(lm.score_stream(ids[1:]).nll.sum())  # LM adds the <|endoftext|> prefix


def lm_eval_rolling(model, tok, text, batch):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    hflm = HFLM(pretrained=model, tokenizer=tok, batch_size=batch, device=str(model.device))
    req = Instance(request_type="loglikelihood_rolling", doc={}, arguments=(text,), idx=0)
    return -float(hflm.loglikelihood_rolling([req], disable_tqdm=True)[0])


def recipe(model, ids, L, S):
    """The transformers perplexity docs recipe (labels masked to -100 outside the stride)."""
    ids = torch.tensor([ids], device=model.device)
    nll, prev_end = 0.0, 0
    with torch.inference_mode():
        for begin in range(0, ids.shape[1], S):
            end = min(begin + L, ids.shape[1])
            trg_len = end - prev_end
            input_ids = ids[:, begin:end]
            target = input_ids.clone()
            target[:, :-trg_len] = -100
            loss = model(input_ids, labels=target).loss
            nll += float(loss) * (target[:, 1:] != -100).sum().item()
            prev_end = end
            if end == ids.shape[1]:
                break
    return nll


def measure(variants: dict) -> dict:
    """One round of every variant: {name: [seconds, total NLL]}."""
    out = {}
    for name, fn in variants.items():
        start = time.perf_counter()
        nll = fn()
        out[name] = [time.perf_counter() - start, nll]
    return out


def table(title, rows, base):
    print(f"\n{title}\n| harness | CPU allocator | tokens/s | vs {base[0]} ({base[1]}) | total NLL (nats) |\n|---|---|---|---|---|")
    for (name, alloc), (tps, nll) in rows.items():
        print(f"| {name} | {alloc} | {tps:.0f} | {tps / rows[base][0]:.2f} | {nll:.3f} |")


def one_round(args) -> dict:
    """A child process: one round of each variant, on the allocator ``args.round``."""
    if args.round == "kept":
        from gpt2eval.engine.allocator import keep_large_buffers

        keep_large_buffers()
    tok = gpt2_tokenizer()
    model = gpt2_small(args.device)
    loaded = LoadedModel(model, tok, model.device, torch.float32, 1024, sum(p.numel() for p in model.parameters()))
    text_ids = tok.encode(RAW.read_text(encoding="utf-8")[:200_000])
    L = 1024
    ids = [tok.eos_token_id] + text_ids[: args.tokens]
    text = tok.decode(ids[1:])
    n = len(ids) - 1
    ours_too = args.round == "kept"  # gpt2eval always runs on its own allocator

    def part1(ids, text):
        variants = {"bare forward passes, batch 1": lambda: bare(model, ids, L, L)}
        if ours_too:
            for b in (1, 4, 8):
                variants[f"gpt2eval, batch {b}"] = lambda b=b: ours(loaded, ids, L, L, b)
        if not args.skip_lm_eval:
            for b in (1, 4):
                variants[f"lm-eval loglikelihood_rolling, batch {b}"] = lambda b=b: lm_eval_rolling(model, tok, text, b)
        variants["transformers docs recipe, batch 1"] = lambda: recipe(model, ids, L, L)
        return variants

    def part2(ids):
        variants = {"transformers docs recipe, batch 1": lambda: recipe(model, ids, L, L // 4)}
        if ours_too:
            variants["gpt2eval, batch 1"] = lambda: ours(loaded, ids, L, L // 4, 1)
            variants["gpt2eval, batch 4"] = lambda: ours(loaded, ids, L, L // 4, 4)
        return variants

    # Every round is a fresh process: first calls (imports, thread pools, the output layer's
    # check, lm-eval's set-up) run on a short text first, untimed.
    short = ids[:300]
    measure(part1(short, tok.decode(short[1:])))
    measure(part2(short))
    first = {"n": n, "rows": measure(part1(ids, text))}
    ids = ids[: args.stride_tokens + 1]
    second = {"n": len(ids) - 1, "rows": measure(part2(ids))}
    return {"part1": first, "part2": second}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4095, help="scored tokens for S = L")
    ap.add_argument("--stride-tokens", type=int, default=2047, help="scored tokens for S = L/4")
    ap.add_argument("--repeats", type=int, default=3, help="rounds per allocator")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-lm-eval", action="store_true")
    ap.add_argument("--memory-layers", type=int, default=12, help="layers of the model part 3 measures; 0 skips it")
    ap.add_argument("--memory-windows", type=int, default=8)
    ap.add_argument("--round", choices=["glibc", "kept"], help=argparse.SUPPRESS)  # a child process
    args = ap.parse_args()
    if args.round:
        print(json.dumps(one_round(args)))
        return
    allocators = {"glibc": "glibc defaults", "kept": "kept (gpt2eval's)"} if args.device == "cpu" else {"kept": "device"}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"device {args.device}; GPT-2 small random init; WikiText-2 raw tokens; best of {args.repeats} rounds per "
          "allocator, the two allocators' processes alternating", flush=True)
    best: dict = {}
    for _ in range(args.repeats):
        for alloc in allocators:
            cmd = [sys.executable, __file__, "--round", alloc, *sys.argv[1:]]
            got = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            for part, res in got.items():
                for name, (seconds, nll) in res["rows"].items():
                    key = (part, name, allocators[alloc])
                    tps = res["n"] / seconds
                    best[key] = max(best.get(key, (0.0, nll)), (tps, nll), key=lambda x: x[0])
    part = lambda p: {(name, a): v for (q, name, a), v in best.items() if q == p}  # noqa: E731
    kept = allocators["kept"]
    rows = part("part1")
    table("S = L = 1024", rows, ("bare forward passes, batch 1", kept))
    tps = {key: t for key, (t, _) in rows.items()}
    ours1 = tps[("gpt2eval, batch 1", kept)]
    peers = {a: max((t for (name, al), t in tps.items() if name.startswith("lm-eval") and al == a), default=float("nan"))
             for a in allocators.values()}
    print(f"\ngpt2eval batch 1: {ours1 / tps[('bare forward passes, batch 1', kept)]:.2f}x bare on the same allocator "
          f"(target >= 0.98); " + ", ".join(f"{ours1 / t:.2f}x lm-eval's best with {a}" for a, t in peers.items())
          + f" (target >= 1.1); batch 4: {tps[('gpt2eval, batch 4', kept)] / ours1:.2f}x batch 1, "
          f"batch 8: {tps[('gpt2eval, batch 8', kept)] / ours1:.2f}x (targets >= 0.95)")
    table(f"S = L/4 = 256, {args.stride_tokens} tokens", part("part2"), ("transformers docs recipe, batch 1", next(iter(allocators.values()))))
    if args.memory_layers:
        import peak_rss

        print(f"\nPeak RSS, {args.memory_layers} layers, {args.memory_windows} windows of 1,024 tokens, each in its own process "
              "(bench/peak_rss.py):")
        print(peak_rss.table(peak_rss.measure(args.memory_layers, args.memory_windows, (1, 4, 8))))


if __name__ == "__main__":
    main()
