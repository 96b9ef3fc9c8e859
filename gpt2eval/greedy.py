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
word, so a filter that rarely rejects costs little more than greedy decoding. Each step is
one ``LM.topk_next`` call over the contexts still growing, sorted by length so that a
batch holds similar lengths.
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
    greedy: list[str] = [""] * len(contexts)
    chosen: dict[int, tuple[str, int]] = {}
    pending = list(range(len(contexts)))
    for rank in range(first.shape[1]):
        note(f"stop-word filter: first-token rank {rank + 1}/{first.shape[1]}, {len(pending):,} contexts without a word yet")
        starts = [list(contexts[i]) + [int(first[i, rank])] for i in pending]
        words = complete_words(lm, starts, n_given=1, max_tokens=max_tokens)
        still = []
        for i, word in zip(pending, words):
            if rank == 0:
                greedy[i] = word
            if accept(word):
                chosen[i] = (word, rank)
            else:
                still.append(i)
        pending = still
        if not pending:
            break
    return [WordPrediction(greedy[i], *chosen.get(i, (greedy[i], -1))) for i in range(len(contexts))]


def complete_words(lm, seqs: Sequence[Sequence[int]], n_given: int, max_tokens: int) -> list[str]:
    """Extend each sequence greedily until its last ``n_given`` tokens grow into a whole word."""
    seqs = [list(s) for s in seqs]
    special = set(lm.tokenizer.all_special_ids)  # <|endoftext|> ends the word too
    n_word = [n_given] * len(seqs)  # tokens of the word so far, at the end of each sequence
    texts = [lm.tokenizer.decode(s[-n_given:], skip_special_tokens=True) for s in seqs]
    growing = [i for i, s in enumerate(seqs) if not special & set(s[-n_given:])]
    for _ in range(max_tokens - n_given):
        if not growing:
            break
        nxt = _next(lm, [seqs[i] for i in growing], 1)[:, 0]
        still = []
        for i, tok in zip(growing, nxt.tolist()):
            piece = lm.tokenizer.decode([tok])
            if tok in special or (texts[i].strip() and piece[:1].isspace()):
                continue  # the word is over
            seqs[i].append(tok)
            n_word[i] += 1
            texts[i] += piece
            still.append(i)
        growing = still
    # Decode each word whole: a character split across tokens only decodes as a whole.
    words = [lm.tokenizer.decode(s[-n:], skip_special_tokens=True).split() for s, n in zip(seqs, n_word)]
    return [w[0] if w else "" for w in words]


def _next(lm, seqs: Sequence[Sequence[int]], k: int):
    """Top-``k`` next-token ids after each sequence: (N, k), most probable first."""
    import torch

    order = sorted(range(len(seqs)), key=lambda i: -min(len(seqs[i]), lm.max_length))
    out = torch.empty((len(seqs), k), dtype=torch.long)
    if seqs:
        out[order] = lm.topk_next([seqs[i] for i in order], k)
    return out
