"""Greedy next-word prediction under a word filter, batched across contexts.

For each context, first tokens are tried in order of probability; each is extended by
greedy (argmax) tokens into a word, and the first word the filter accepts is the answer::

    context "... I don't care about"          greedy tokens          word     filter
    rank 0   " the"                            (" fact": new word)   "the"    rejected
    rank 1   " sign"  + "s" + "."              (" He": new word)     "signs." accepted

A word ends when a token that starts with whitespace follows non-whitespace text, at a
special token (``<|endoftext|>``), or after ``max_tokens`` tokens. The word is the first
whitespace-separated chunk of the decoded tokens: a leading line break is allowed, and
trailing punctuation stays on the word for the caller to strip. Rank 0 alone is plain
greedy decoding.

Rounds are lazy: round r extends rank r only for the contexts still without an accepted
word, so a filter that rarely rejects costs little more than greedy decoding.

Two ways to take a step, same words up to float rounding: ``predict_words`` reruns each
growing sequence whole through ``LM.topk_next`` (the window may slide, so it works for any
context length); ``predict_words_cached`` runs only the word's tokens from the context's
KV cache (``gpt2eval.engine.prefix``): a step costs a few tokens, not the context again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass
class WordPrediction:
    greedy: str  # the word from the most probable first token (no filter)
    word: str  # the first accepted word; ``greedy`` when no first token in the top k gives one
    rank: int  # rank of ``word``'s first token; -1 when none in the top k was accepted


def predict_words(
    lm, contexts: Sequence[Sequence[int]], accept: Callable[[str], bool], topk: int, max_tokens: int
) -> list[WordPrediction]:
    """The filtered greedy next word after each context (token ids)."""
    assert topk >= 1 and max_tokens >= 1, f"topk={topk}, max_tokens={max_tokens} must be >= 1"
    note = getattr(lm, "note", lambda text: None)  # an LM says what it is doing; a test double may not
    note(f"stop-word filter: top-{topk} first tokens after {len(contexts):,} contexts, then greedy words")
    first = _next(lm, contexts, min(topk, len(lm.tokenizer)))  # (N, k) token ids, most probable first

    def complete(pending, rank):
        starts = [list(contexts[i]) + [int(first[i, rank])] for i in pending]
        return complete_words(lm, starts, n_given=1, max_tokens=max_tokens)

    return _rounds(first, complete, accept)


def predict_words_cached(prefix, tokenizer, first, accept: Callable[[str], bool], max_tokens: int) -> list[WordPrediction]:
    """``predict_words`` for the contexts of a ``SharedPrefix``, every step from their KV cache.

    ``first`` (B, k) holds each context's top-k first tokens, most probable first (from
    ``prefix.last_logits``). Needs each context + ``max_tokens - 1`` tokens to fit the window.
    """

    def complete(pending, rank):
        words = [[int(first[b, rank])] for b in pending]

        def next_tokens(idx):
            logits = prefix.extend([pending[i] for i in idx], [words[i] for i in idx], last_only=True)  # (R, V)
            return logits.float().argmax(-1).tolist()

        return _grow(tokenizer, words, 1, max_tokens, next_tokens)

    return _rounds(first, complete, accept)


def _rounds(first, complete, accept) -> list[WordPrediction]:
    """Rank r is tried only for the contexts whose ranks < r gave no accepted word."""
    greedy: list[str] = [""] * first.shape[0]
    chosen: dict[int, tuple[str, int]] = {}
    pending = list(range(first.shape[0]))
    for rank in range(first.shape[1]):
        still = []
        for i, word in zip(pending, complete(pending, rank)):
            if rank == 0:
                greedy[i] = word
            if accept(word):
                chosen[i] = (word, rank)
            else:
                still.append(i)
        pending = still
        if not pending:
            break
    return [WordPrediction(greedy[i], *chosen.get(i, (greedy[i], -1))) for i in range(first.shape[0])]


def complete_words(lm, seqs: Sequence[Sequence[int]], n_given: int, max_tokens: int) -> list[str]:
    """Extend each sequence greedily until its last ``n_given`` tokens grow into a whole word."""
    seqs = [list(s) for s in seqs]
    return _grow(lm.tokenizer, seqs, n_given, max_tokens, lambda idx: _next(lm, [seqs[i] for i in idx], 1)[:, 0].tolist())


def _grow(tokenizer, seqs: list[list[int]], n_given: int, max_tokens: int, next_tokens) -> list[str]:
    """The word rules: grow ``seqs`` in place by ``next_tokens(indices) -> token ids``."""
    special = set(tokenizer.all_special_ids)  # <|endoftext|> ends the word too
    n_word = [n_given] * len(seqs)  # tokens of the word so far, at the end of each sequence
    texts = [tokenizer.decode(s[-n_given:], skip_special_tokens=True) for s in seqs]
    growing = [i for i, s in enumerate(seqs) if not special & set(s[-n_given:])]
    for _ in range(max_tokens - n_given):
        if not growing:
            break
        nxt = next_tokens(growing)
        still = []
        for i, tok in zip(growing, nxt):
            piece = tokenizer.decode([tok])
            if tok in special or (texts[i].strip() and piece[:1].isspace()):
                continue  # the word is over
            seqs[i].append(tok)
            n_word[i] += 1
            texts[i] += piece
            still.append(i)
        growing = still
    # Decode each word whole: a character split across tokens only decodes as a whole.
    words = [tokenizer.decode(s[-n:], skip_special_tokens=True).split() for s, n in zip(seqs, n_word)]
    return [w[0] if w else "" for w in words]


def _next(lm, seqs: Sequence[Sequence[int]], k: int):
    """Top-``k`` next-token ids after each sequence: (N, k), most probable first."""
    import torch

    order = sorted(range(len(seqs)), key=lambda i: -min(len(seqs[i]), lm.max_length))
    out = torch.empty((len(seqs), k), dtype=torch.long)
    if seqs:
        out[order] = lm.topk_next([seqs[i] for i in order], k)
    return out
