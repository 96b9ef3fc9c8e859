"""CBT and LAMBADA with shared prefixes, against scoring every row from scratch, in one run.

    .venv/bin/python bench/shared_prefix.py [--questions 4 --passages 30 --layers 12]

CBT: CBT-sized synthetic questions (a 450-token context of WikiText-2 text, 10
continuations of 8-16 tokens, as a candidate + the rest of the query): forward tokens and
seconds of ``LM.score_shared_context`` against per-candidate rows (``score_continuations``),
and the largest relative difference of the summed NLLs. LAMBADA: the first ``--passages``
of OpenAI's test set; the scoring pass alone (``score_continuations``), the word search as
it was (``predict_words``: every step reruns the context), and the combined request
(``score_and_search`` with ``WordSearch``: one pass per context, steps from its KV cache); the search's
cost is the combined time minus the scoring pass. The model is a random-init GPT-2 small
architecture (real vocabulary; the cost does not depend on the weights, but a random
model's words are not a trained model's: the rounds the filter needs differ).
"""
import argparse
import json
import time
from pathlib import Path


import numpy as np
import torch

from gpt2eval.config import WindowConfig
from gpt2eval.engine.greedy import WordSearch, predict_words
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import LoadedModel
from gpt2eval.testing import gpt2_tokenizer
from gpt2eval.tasks.lambada import MAX_WORD_TOKENS, is_answer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def counted(model):
    """A list that collects the number of input tokens of every forward pass."""
    n = []
    model.register_forward_pre_hook(lambda m, a, kw: n.append(kw["input_ids"].numel()), with_kwargs=True)
    return n


def timed(fn, tokens: list):
    tokens.clear()
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start, sum(tokens)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--passages", type=int, default=30)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=4)
    args = ap.parse_args()
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=args.layers)).eval()
    tok = gpt2_tokenizer()
    loaded = LoadedModel(model, tok, model.device, torch.float32, 1024, sum(p.numel() for p in model.parameters()))
    lm = LM(loaded, WindowConfig(batch_size=args.batch_size))
    tokens = counted(model)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; GPT-2 small architecture, {args.layers} layers, random init; "
          f"batch {args.batch_size}; torch {torch.__version__}, {torch.get_num_threads()} threads")

    ids = tok.encode((DATA / "wikitext-2" / "wiki.test.raw").read_text(encoding="utf-8")[:100_000])
    rng = np.random.default_rng(0)
    items = [(ids[q * 500 : q * 500 + 450], [ids[int(a) : int(a) + int(n)] for a, n in zip(rng.integers(0, 20_000, 10), rng.integers(8, 17, 10))])
             for q in range(args.questions)]
    shared, t_shared, n_shared = timed(lambda: lm.score_shared_context(items), tokens)
    naive, t_naive, n_naive = timed(lambda: lm.score_continuations([(c, x) for c, xs in items for x in xs]), tokens)
    rel = max(abs(a.nll.sum() - b.nll.sum()) / abs(b.nll.sum()) for a, b in zip([s for ss in shared for s in ss], naive))
    print(f"\nCBT, {args.questions} synthetic questions (context 450 tokens, 10 continuations of 8-16 tokens)")
    print("| scoring | forward tokens | seconds |\n|---|---|---|")
    print(f"| per candidate (naive) | {n_naive:,} | {t_naive:.1f} |\n| shared prefix | {n_shared:,} | {t_shared:.1f} |")
    print(f"forward tokens {n_naive / n_shared:.1f}x fewer, {t_naive / t_shared:.1f}x faster; largest relative NLL difference {rel:.1e}")

    rows = [json.loads(line)["text"] for line in (DATA / "lambada" / "lambada_test.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = rows[: args.passages]
    contexts = [[tok.eos_token_id] + tok.encode(r[: r.rstrip().rfind(" ")]) for r in rows]
    targets = [tok.encode(" " + r.split()[-1]) for r in rows]
    pairs = list(zip(contexts, targets))
    scores, t_score, n_score = timed(lambda: lm.score_continuations(pairs), tokens)
    old, t_old, n_old = timed(lambda: predict_words(lm, contexts, is_answer, 10, MAX_WORD_TOKENS), tokens)
    new, t_new, n_new = timed(lambda: lm.score_and_search(pairs, WordSearch(is_answer, 10, MAX_WORD_TOKENS, rule="nltk179")), tokens)
    same = sum(a == b for a, (_, b) in zip(old, new))
    print(f"\nLAMBADA, first {len(rows)} passages, --stopword-topk 10")
    print("| pass | forward tokens | seconds | vs scoring pass |\n|---|---|---|---|")
    print(f"| scoring pass (score_continuations) | {n_score:,} | {t_score:.1f} | 1.00 |")
    print(f"| word search before (predict_words, reruns contexts) | {n_old:,} | {t_old:.1f} | {t_old / t_score:.2f} |")
    print(f"| scoring + search after (score_and_search, WordSearch) | {n_new:,} | {t_new:.1f} | {t_new / t_score:.2f} |")
    print(f"| word search after (the difference) | {n_new - n_score:,} | {t_new - t_score:.1f} | {(t_new - t_score) / t_score:.2f} |")
    print(f"same predicted words: {same}/{len(rows)}")


if __name__ == "__main__":
    main()
