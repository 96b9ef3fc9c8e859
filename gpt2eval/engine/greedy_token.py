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
beyond float rounding: the steps are batched across passages instead of one passage at a
time, and a context longer than the window keeps its end (bflm's model would refuse it).

Two ways to take the steps, as for the word filter: ``token_filter_words`` reruns each
growing sequence through ``LM.topk_next`` (the reference, and the fallback when the window
would slide); ``TokenSearch`` (a search of ``LM.score_and_search``) takes the first step from
the scoring pass's logits at the context's end and each later one from the context's KV
cache, one token per passage a step, beside the greedy word's branch.
"""
from __future__ import annotations

from dataclasses import dataclass
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
    tokenizer = lm.tokenizer
    return [word(tokenizer, g) for g in token_filter_tokens(lm, contexts, excluded, topk, steps)]


def token_filter_tokens(lm, contexts: Sequence[Sequence[int]], excluded: frozenset, topk: int = TOPK,
                        steps: int = STEPS) -> list[list[int]]:
    """The ``steps`` filtered tokens after each context, every step rerun through ``LM.topk_next``."""
    assert topk >= 1 and steps >= 1, f"topk={topk}, steps={steps} must be >= 1"
    is_stop = _stop_test(lm.tokenizer, excluded)
    k = min(topk, len(lm.tokenizer))
    seqs = [list(c) for c in contexts]
    generated: list[list[int]] = [[] for _ in seqs]
    order = sorted(range(len(seqs)), key=lambda i: -min(len(seqs[i]), lm.max_length))  # similar lengths batch together
    for _ in range(steps):
        if not seqs:
            break
        top = lm.topk_next([seqs[i] for i in order], k)  # (N, k) token ids, most probable first
        for row, i in enumerate(order):
            tok = _pick(top[row].tolist(), is_stop)
            seqs[i].append(tok)
            generated[i].append(tok)
    return generated


def _pick(candidates: list[int], is_stop) -> int:
    # bflm asserts some candidate is left; fall back to the most probable if none is.
    return next((t for t in candidates if not is_stop(t)), candidates[0])


def _stop_test(tokenizer, excluded: frozenset):
    """tok -> whether its stripped text is a stop word (memoised: the same tokens come back)."""
    cache: dict[int, bool] = {}

    def is_stop(tok: int) -> bool:
        if tok not in cache:
            cache[tok] = tokenizer.decode([tok]).strip() in excluded
        return cache[tok]

    return is_stop


def token_branch(first: list[int], is_stop, steps: int):
    """A branch for ``branches.grow``: ``first`` is the context's own top-k; each later step
    picks from the candidates after the last token. Returns the ``steps`` tokens."""
    tokens = [_pick(first, is_stop)]
    for _ in range(steps - 1):
        tokens.append(_pick((yield tokens[-1]), is_stop))
    return tokens


@dataclass(frozen=True)
class TokenSearch:
    """The token filter as a search of ``LM.score_and_search``: per context the greedy word
    (``max_tokens``, no filter: for ``acc_greedy_word``) and the ``steps`` filtered tokens,
    both branches grown in the same steps. ``rule`` names ``excluded`` (the stop-word list and
    its sha256) in the work units' key; how a word is read from the tokens is left to the
    caller, so it is not part of the key.
    """

    excluded: frozenset
    topk: int
    steps: int
    max_tokens: int
    rule: str

    @property
    def params(self) -> dict:
        return {"search": "token", "rule": self.rule, "topk": self.topk, "steps": self.steps, "max_tokens": self.max_tokens}

    @property
    def room(self) -> int:
        return max(1, self.steps - 1, self.max_tokens - 1)

    def describe(self, n: int) -> str:
        return f"stop-word filter: {self.steps} tokens from the top {self.topk} after {n:,} contexts, from each context's cache"

    def from_cache(self, prefix, rows: Sequence[int], tokenizer) -> list[dict]:
        from gpt2eval.engine.greedy import word_branch, _word
        from gpt2eval.engine.branches import grow

        rows = list(rows)
        k = min(self.topk, len(tokenizer), prefix.last_logits.shape[-1])
        top = prefix.first_tokens(rows, k).tolist()  # (N, k)
        is_stop, special = _stop_test(tokenizer, self.excluded), frozenset(tokenizer.all_special_ids)
        branches = [word_branch(tokenizer, special, t[0], self.max_tokens) for t in top]
        branches += [token_branch(t, is_stop, self.steps) for t in top]
        grown = grow(prefix, rows + rows, branches, self.room, k)
        return [_record(_word(tokenizer, g), t) for g, t in zip(grown[: len(rows)], grown[len(rows) :])]

    def rerun(self, lm, contexts: Sequence[Sequence[int]]) -> list[dict]:
        from gpt2eval.engine.greedy import predict_words

        greedy = predict_words(lm, contexts, lambda w: True, 1, self.max_tokens)
        tokens = token_filter_tokens(lm, contexts, self.excluded, self.topk, self.steps)
        return [_record(g.greedy, t) for g, t in zip(greedy, tokens)]

    @staticmethod
    def result(record: dict) -> tuple[str, list[int]]:
        """(the greedy word, the filtered tokens)."""
        from gpt2eval.engine.greedy import _text

        return _text(record["greedy_word"]), record["tokens"].tolist()


def _record(greedy: str, tokens: list[int]) -> dict:
    import numpy as np

    from gpt2eval.engine.greedy import _bytes

    return {"greedy_word": _bytes(greedy), "tokens": np.array(tokens, dtype=np.int64)}
