"""The token-level word filter of cybertronai/bflm (LAMBADA's token filter, tasks/lambada.py).

The rule, as read in bflm's ``eval_lambada_slow.py`` (``predict(line, 3)``): starting
from the context, for each of 3 steps take the 128 most probable next tokens (its
``--beam-width``), drop every candidate whose decoded text, stripped of whitespace, is in
the stop-word set (NLTK's older 127-word English list, matched exactly: case-sensitive,
no punctuation stripping), and append the most probable one left. The three tokens are
decoded and the first word of that text is the prediction::

    context "... I don't care about"   step 1 top-128: " the"(stop) " signs" -> " signs"
                                       step 2: "." ...  step 3: ...  -> " signs. He"
    prediction "signs."                 (compared as ``bare`` words: "signs")

Every step is filtered, not only the first, so a word's later sub-word token that
decodes to a stop word ("s", "t") is skipped too; a token that decodes to whitespace or
punctuation only is never a stop word. Differences from bflm, none of which changes which
tokens are chosen: the context is this run's (as the task formats it), the steps are batched
across passages through ``LM.topk_next`` instead of one passage at a time with a KV cache,
and the predicted word is the first whitespace word compared with gpt2eval's ``bare`` rule
(bflm splits with BERT's BasicTokenizer, which also lower-cases and splits punctuation
off; on OpenAI's LAMBADA the case counts here).
"""
from __future__ import annotations

from typing import Sequence

STEPS = 3  # bflm: predict(context, 3)
TOPK = 128  # bflm: --beam-width 128


def token_filter_words(lm, contexts: Sequence[Sequence[int]], excluded: frozenset, topk: int = TOPK,
                       steps: int = STEPS) -> list[str]:
    """The first word of the ``steps`` filtered tokens after each context; a token whose
    stripped text is in ``excluded`` (the stop words) is never chosen."""
    assert topk >= 1 and steps >= 1, f"topk={topk}, steps={steps} must be >= 1"
    tokenizer = lm.tokenizer
    k = min(topk, len(tokenizer))
    cache: dict[int, bool] = {}

    def is_stop(tok: int) -> bool:
        if tok not in cache:
            cache[tok] = tokenizer.decode([tok]).strip() in excluded
        return cache[tok]

    seqs = [list(c) for c in contexts]
    generated: list[list[int]] = [[] for _ in seqs]
    order = sorted(range(len(seqs)), key=lambda i: -min(len(seqs[i]), lm.max_length))  # similar lengths batch together
    for _ in range(steps):
        if not seqs:
            break
        top = lm.topk_next([seqs[i] for i in order], k)  # (N, k) token ids, most probable first
        for row, i in enumerate(order):
            candidates = top[row].tolist()
            # bflm asserts some candidate is left; fall back to the most probable if none is.
            tok = next((t for t in candidates if not is_stop(t)), candidates[0])
            seqs[i].append(tok)
            generated[i].append(tok)
    words = [tokenizer.decode(g, skip_special_tokens=True).split() for g in generated]
    return [w[0] if w else "" for w in words]
