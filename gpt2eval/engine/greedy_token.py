"""The token-level word filter of cybertronai/bflm (LAMBADA's token filter, tasks/lambada.py).

The rule, as read in bflm's ``eval_lambada_slow.py`` at 620fff7 (``predict(context, 6)``;
``predict(line, 3)`` before commit 5b8f6be, its plain-text version): starting from the
context, for each of 6 steps take the 128 most probable next tokens (its
``--beam-width``), drop every candidate whose decoded text, stripped of whitespace, is in
the stop-word set (NLTK's older 127-word English list, matched exactly: case-sensitive,
no punctuation stripping), and append the most probable one left. The tokens are decoded
and ``word`` reads the prediction from them: by default the first whitespace word before
any special token; bflm reads the first BERT-basic token of the whole text
(``gpt2eval.tasks.lambada_bflm``)::

    context "... I don't care about"   step 1 top-128: " the"(stop) " signs" -> " signs"
                                       step 2: "." ...  step 6: ...  -> " signs. He said it was"
    prediction "signs."                 (compared as ``bare`` words: "signs")

Every step is filtered, not only the first, so a word's later sub-word token that
decodes to a stop word ("s", "t") is skipped too; a token that decodes to whitespace or
punctuation only is never a stop word. What differs from bflm changes no chosen token
beyond float rounding: the steps are batched across passages through ``LM.topk_next``
instead of one passage at a time with a KV cache, and a context longer than the window
keeps its end (bflm's model would refuse it).
"""
from __future__ import annotations

from typing import Callable, Sequence

STEPS = 6  # bflm at 620fff7: predict(context, 6)
TOPK = 128  # bflm: --beam-width 128


def first_word(tokenizer, ids: list[int]) -> str:
    """The first whitespace word of the tokens before any special one ("" if none): as in
    the word filter, <|endoftext|> ends a word (skipping it would glue " Buliwyf" + EOT + "f")."""
    special = set(tokenizer.all_special_ids)
    end = next((j for j, t in enumerate(ids) if t in special), len(ids))
    words = tokenizer.decode(ids[:end]).split()
    return words[0] if words else ""


def token_filter_words(lm, contexts: Sequence[Sequence[int]], excluded: frozenset, topk: int = TOPK,
                       steps: int = STEPS, word: Callable[..., str] = first_word) -> list[str]:
    """``word(tokenizer, ids)`` of the ``steps`` filtered tokens after each context; a token
    whose stripped text is in ``excluded`` (the stop words) is never chosen."""
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
    return [word(tokenizer, g) for g in generated]
