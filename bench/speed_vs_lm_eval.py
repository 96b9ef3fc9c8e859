"""Tokens/s of gpt2eval against bare forward passes, lm-eval and the transformers docs recipe,
on the same model object and the same text, side by side in one process.

    .venv/bin/pip install 'lm-eval==0.4.*'      # beside the project, for this benchmark only
    .venv/bin/python bench/speed_vs_lm_eval.py  [--tokens 4095 --repeats 3 --stride-tokens 2047]

The model is a random-init GPT-2 small architecture (12 layers, 768 dims, the real 50,257
vocabulary): a forward pass costs the same whatever the weights. The text is the start of
WikiText-2's raw test file. Variants run interleaved (round r of every variant before
round r + 1) and the best of ``--repeats`` counts, so load from other processes hits all
of them alike. Part 1 is S = L (disjoint windows: what lm-eval's ``loglikelihood_rolling``
computes); part 2 is S = L/4 against the recipe, which runs the output layer everywhere.
Every variant's total NLL is printed: the harnesses must agree on what they compute.
The process keeps large freed buffers in its heap from the start
(``gpt2eval.engine.allocator``, what gpt2eval's scorer does on a CPU), so every variant,
the peers' included, runs on the same allocator; ``bench/cpu_allocator.py`` shows what it
changes. Part 3 is peak memory per batch size (``bench/peak_rss.py``, each batch size in its own
process, against the model's own forward pass with no logits); ``--memory-layers 0`` skips it.
"""
import argparse
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


def measure(variants: dict, repeats: int) -> dict:
    best = {name: (float("inf"), None) for name in variants}
    for _ in range(repeats):
        for name, (fn, n_tokens) in variants.items():
            start = time.perf_counter()
            nll = fn()
            seconds = time.perf_counter() - start
            best[name] = min(best[name], (seconds, nll), key=lambda x: x[0])
    return {name: (variants[name][1] / s, nll) for name, (s, nll) in best.items()}


def table(title, rows, base):
    print(f"\n{title}\n| harness | tokens/s | vs {base} | total NLL (nats) |\n|---|---|---|---|")
    for name, (tps, nll) in rows.items():
        print(f"| {name} | {tps:.0f} | {tps / rows[base][0]:.2f} | {nll:.3f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4095, help="scored tokens for S = L")
    ap.add_argument("--stride-tokens", type=int, default=2047, help="scored tokens for S = L/4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-lm-eval", action="store_true")
    ap.add_argument("--memory-layers", type=int, default=12, help="layers of the model part 3 measures; 0 skips it")
    ap.add_argument("--memory-windows", type=int, default=8)
    args = ap.parse_args()
    from gpt2eval.engine.allocator import keep_large_buffers

    allocator = keep_large_buffers() if args.device == "cpu" else "device"
    tok = gpt2_tokenizer()
    model = gpt2_small(args.device)
    loaded = LoadedModel(model, tok, model.device, torch.float32, 1024, sum(p.numel() for p in model.parameters()))
    text_ids = tok.encode(RAW.read_text(encoding="utf-8")[:200_000])
    L = 1024
    ids = [tok.eos_token_id] + text_ids[: args.tokens]
    text = tok.decode(ids[1:])
    n = len(ids) - 1
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"device {args.device}; GPT-2 small random init; {n} WikiText-2 raw tokens; best of {args.repeats}, interleaved; "
          f"CPU allocator for every variant: {allocator}")
    variants = {"bare forward passes, batch 1": (lambda: bare(model, ids, L, L), n)}
    for b in (1, 4, 8):
        variants[f"gpt2eval, batch {b}"] = (lambda b=b: ours(loaded, ids, L, L, b), n)
    if not args.skip_lm_eval:
        for b in (1, 4):
            variants[f"lm-eval loglikelihood_rolling, batch {b}"] = (lambda b=b: lm_eval_rolling(model, tok, text, b), n)
    variants["transformers docs recipe, batch 1"] = (lambda: recipe(model, ids, L, L), n)
    rows = measure(variants, args.repeats)
    table(f"S = L = {L}", rows, "bare forward passes, batch 1")
    tps = {name: t for name, (t, _) in rows.items()}
    ours1 = tps["gpt2eval, batch 1"]
    lm_eval_best = max((t for name, t in tps.items() if name.startswith("lm-eval")), default=float("nan"))
    print(f"\ngpt2eval batch 1: {ours1 / tps['bare forward passes, batch 1']:.2f}x bare (target >= 0.98), "
          f"{ours1 / lm_eval_best:.2f}x lm-eval's best (target >= 1.1); batch 4: {tps['gpt2eval, batch 4'] / ours1:.2f}x "
          f"batch 1, batch 8: {tps['gpt2eval, batch 8'] / ours1:.2f}x (targets >= 0.95)")

    ids = ids[: args.stride_tokens + 1]
    n = len(ids) - 1
    S = L // 4
    variants = {
        "transformers docs recipe, batch 1": (lambda: recipe(model, ids, L, S), n),
        "gpt2eval, batch 1": (lambda: ours(loaded, ids, L, S, 1), n),
        "gpt2eval, batch 4": (lambda: ours(loaded, ids, L, S, 4), n),
    }
    table(f"S = L/4 = {S}, {n} tokens", measure(variants, args.repeats), "transformers docs recipe, batch 1")
    if args.memory_layers:
        import peak_rss

        print(f"\nPeak RSS, {args.memory_layers} layers, {args.memory_windows} windows of 1,024 tokens, each in its own process "
              "(bench/peak_rss.py):")
        print(peak_rss.table(peak_rss.measure(args.memory_layers, args.memory_windows, (1, 4, 8))))


if __name__ == "__main__":
    main()
