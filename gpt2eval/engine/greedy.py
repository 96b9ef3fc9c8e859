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
word, so a filter that rarely rejects costs little more than greedy decoding. When few
contexts are left, a round tries several ranks of each at once (up to ``cap`` branches),
which changes no word (each rank's word is its own; the lowest accepted rank wins) and saves
a round of steps.

Two ways to take a step, same words up to float rounding: ``predict_words`` reruns each
growing sequence whole through ``LM.topk_next`` (the window may slide, so it works for any
context length; the reference); ``predict_words_cached`` feeds each branch one token a step
from the context's KV cache (``gpt2eval.engine.branches.grow``): a step costs one token per
branch, every branch of a round in the same forward pass.

``WordSearch`` is the filter as a request of ``LM.score_and_search``: the target scored and
the word searched from one pass over each context.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass
class WordPrediction:
    greedy: str  # the word from the most probable first token (no filter)
    word: str  # the first accepted word; ``greedy`` when no first token in the top k gives one
    rank: int  # rank of ``word``'s first token; -1 when none in the top k was accepted


@dataclass(frozen=True)
class WordSearch:
    """The word filter as a search of ``LM.score_and_search``: one ``WordPrediction`` per context.

    ``rule`` names what ``accept`` accepts (e.g. the stop-word list and its sha256): with
    ``topk`` and ``max_tokens`` it goes into the work units' key, since ``accept`` itself
    cannot be hashed.
    """

    accept: Callable[[str], bool]
    topk: int
    max_tokens: int
    rule: str

    @property
    def params(self) -> dict:
        return {"search": "word", "rule": self.rule, "topk": self.topk, "max_tokens": self.max_tokens}

    @property
    def room(self) -> int:
        """Tokens a branch feeds after its context."""
        return max(1, self.max_tokens - 1)

    def describe(self, n: int) -> str:
        return f"stop-word filter: top-{self.topk} first tokens after {n:,} contexts, greedy words from each context's cache"

    def from_cache(self, prefix, rows: Sequence[int], tokenizer) -> list[dict]:
        k = min(self.topk, len(tokenizer), prefix.last_logits.shape[-1])
        first = prefix.first_tokens(rows, k)  # (N, k)
        return [_record(p) for p in predict_words_cached(prefix, tokenizer, first, self.accept, self.max_tokens, rows)]

    def rerun(self, lm, contexts: Sequence[Sequence[int]]) -> list[dict]:
        return [_record(p) for p in predict_words(lm, contexts, self.accept, self.topk, self.max_tokens)]

    @staticmethod
    def result(record: dict) -> WordPrediction:
        return WordPrediction(_text(record["greedy_word"]), _text(record["word"]), int(record["rank"][0]))


def _record(p: WordPrediction) -> dict:
    import numpy as np

    return {"greedy_word": _bytes(p.greedy), "word": _bytes(p.word), "rank": np.array([p.rank], dtype=np.int64)}


def _bytes(text: str):
    import numpy as np

    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _text(data) -> str:
    return bytes(data).decode("utf-8")


def predict_words(
    lm, contexts: Sequence[Sequence[int]], accept: Callable[[str], bool], topk: int, max_tokens: int
) -> list[WordPrediction]:
    """The filtered greedy next word after each context (token ids)."""
    assert topk >= 1 and max_tokens >= 1, f"topk={topk}, max_tokens={max_tokens} must be >= 1"
    note = getattr(lm, "note", lambda text: None)  # an LM says what it is doing; a test double may not
    note(f"stop-word filter: top-{topk} first tokens after {len(contexts):,} contexts, then greedy words")
    first = _next(lm, contexts, min(topk, len(lm.tokenizer)))  # (N, k) token ids, most probable first

    def complete(jobs):
        starts = [list(contexts[i]) + [int(first[i, rank])] for i, rank in jobs]
        return complete_words(lm, starts, max_tokens=max_tokens)

    return _rounds(first, complete, accept)


def predict_words_cached(prefix, tokenizer, first, accept: Callable[[str], bool], max_tokens: int,
                         rows: Sequence[int] | None = None) -> list[WordPrediction]:
    """``predict_words`` for contexts ``rows`` of a ``SharedPrefix`` (all when None), every
    step from their KV cache.

    ``first`` (N, k) holds each context's top-k first tokens, most probable first (from
    ``prefix.last_logits``). Needs each context + ``max_tokens - 1`` tokens to fit the window.
    A round holds up to as many branches as the prefix has contexts.
    """
    from gpt2eval.engine.branches import grow

    rows = list(range(len(prefix.lengths))) if rows is None else list(rows)
    special = frozenset(tokenizer.all_special_ids)

    def complete(jobs):
        branches = [word_branch(tokenizer, special, int(first[i, rank]), max_tokens) for i, rank in jobs]
        grown = grow(prefix, [rows[i] for i, _ in jobs], branches, room=max(1, max_tokens - 1))
        return [_word(tokenizer, tokens) for tokens in grown]

    return _rounds(first, complete, accept, cap=len(prefix.lengths))


def _rounds(first, complete, accept, cap: int = 1) -> list[WordPrediction]:
    """Rank r is tried only for the contexts whose ranks < r gave no accepted word; a round
    after the first takes ``cap // pending`` ranks of each pending context at once."""
    n, k = first.shape
    greedy: list[str] = [""] * n
    chosen: dict[int, tuple[str, int]] = {}
    pending = list(range(n))
    rank = 0
    while pending and rank < k:
        ranks = range(rank, min(k, rank + (1 if rank == 0 else max(1, cap // len(pending)))))
        jobs = [(i, r) for i in pending for r in ranks]
        words = dict(zip(jobs, complete(jobs)))
        if rank == 0:
            for i in pending:
                greedy[i] = words[i, 0]
        still = []
        for i in pending:
            hit = next((r for r in ranks if accept(words[i, r])), None)
            if hit is None:
                still.append(i)
            else:
                chosen[i] = (words[i, hit], hit)
        pending, rank = still, ranks.stop
    return [WordPrediction(greedy[i], *chosen.get(i, (greedy[i], -1))) for i in range(n)]


def word_branch(tokenizer, special: frozenset, first: int, max_tokens: int):
    """A branch for ``branches.grow``: greedy tokens after ``first`` while they continue the
    word, one token at a time; returns the word's tokens. The word is over at a special token
    (<|endoftext|>) or at a token that starts with whitespace once the word has text."""
    tokens = [first]
    if first in special:
        return tokens
    text = tokenizer.decode([first], skip_special_tokens=True)
    for _ in range(max_tokens - 1):
        tok = (yield tokens[-1])[0]
        piece = tokenizer.decode([tok])
        if tok in special or (text.strip() and piece[:1].isspace()):
            break  # the word is over
        tokens.append(tok)
        text += piece
    return tokens


def _word(tokenizer, tokens: list[int]) -> str:
    # Decoded whole: a character split across tokens only decodes as a whole.
    words = tokenizer.decode(tokens, skip_special_tokens=True).split()
    return words[0] if words else ""


def complete_words(lm, seqs: Sequence[Sequence[int]], max_tokens: int) -> list[str]:
    """Extend each sequence greedily until its last token grows into a whole word
    (``word_branch``), every step rerun whole through ``LM.topk_next``."""
    from gpt2eval.engine.branches import drive

    special = frozenset(lm.tokenizer.all_special_ids)
    grown = [list(s[:-1]) for s in seqs]  # each branch feeds its word's first token first

    def step(feed: dict[int, int]) -> list[list[int]]:
        for i, tok in feed.items():
            grown[i].append(tok)
        return _next(lm, [grown[i] for i in feed], 1).tolist()  # (F, 1)

    words = drive([word_branch(lm.tokenizer, special, s[-1], max_tokens) for s in seqs], step, max(1, max_tokens - 1))
    return [_word(lm.tokenizer, tokens) for tokens in words]


def _next(lm, seqs: Sequence[Sequence[int]], k: int):
    """Top-``k`` next-token ids after each sequence: (N, k), most probable first."""
    import torch

    order = sorted(range(len(seqs)), key=lambda i: -min(len(seqs[i]), lm.max_length))
    out = torch.empty((len(seqs), k), dtype=torch.long)
    if seqs:
        out[order] = lm.topk_next([seqs[i] for i in order], k)
    return out
