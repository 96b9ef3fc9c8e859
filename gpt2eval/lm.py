"""The requests a task can make of a model: rolling-window stream scores and continuations.

A task never touches the model directly; it asks an ``LM`` for log-probabilities of token
ids, which keeps every protocol choice about windows (length, stride, the <|endoftext|>
prefix) in one place and in the result file.
"""
from __future__ import annotations

from typing import Sequence

from .config import WindowConfig
from .errors import UsageError
from .greedy import WordPrediction, predict_words, predict_words_cached
from .models import LoadedModel
from .prefix import PrefixCache, score_from_prefix
from .scoring import Scorer, SpanScore, continuation_span, score_stream


class LM:
    def __init__(self, loaded: LoadedModel, window: WindowConfig, progress=None):
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.max_length = loaded.context_length if window.max_length is None else window.max_length
        self.stride = self.max_length if window.stride is None else window.stride
        self.eos_prefix = window.eos_prefix
        check_window(self.max_length, self.stride, loaded.context_length)
        self.scorer = Scorer(loaded.model, window.batch_size, pad_id=self._pad_id(), progress=progress)
        self._prefix_tokens = 0

    @property
    def forward_tokens(self) -> int:
        """Input positions run through the model so far, padding included (for MFU)."""
        return self.scorer.forward_tokens + self._prefix_tokens

    def _pad_id(self) -> int:
        # Right padding is never attended to by a real position, so any id will do.
        for tid in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0):
            if tid is not None:
                return tid

    @property
    def resolved(self) -> dict:
        """The window protocol as actually run (defaults filled in)."""
        return {"max_length": self.max_length, "stride": self.stride, "eos_prefix": self.eos_prefix}

    def encode(self, text: str) -> list[int]:
        return self.encode_with_offsets(text)[0]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[int]]:
        """Token ids of ``text`` and the character offset where each token starts."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise UsageError("gpt2eval needs a fast (Rust) tokenizer for character offsets: use a model that ships tokenizer.json")
        enc = backend.encode(text, add_special_tokens=False)
        return enc.ids, [start for start, _ in enc.offsets]

    @property
    def first_scored(self) -> int:
        """Index of the first token of a stream that gets a score (0 under the EOS prefix)."""
        return 0 if self.eos_prefix else 1

    def score_stream(self, ids: Sequence[int]) -> SpanScore:
        """Scores of ``ids[self.first_scored:]``, by rolling windows."""
        stream = [self.loaded.eos_id] + list(ids) if self.eos_prefix else list(ids)
        return score_stream(self.scorer, stream, self.max_length, self.stride)

    def score_continuations(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[SpanScore]:
        """log p(continuation | context) per pair; an empty context is the EOS token."""
        spans = [continuation_span(list(ctx) or [self.loaded.eos_id], cont, self.max_length) for ctx, cont in pairs]
        return self.scorer.score(spans)

    def score_shared_context(self, items: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]]) -> list[list[SpanScore]]:
        """log p(continuation | context) for every continuation of each item, the context run
        once and the continuations from its KV cache (``gpt2eval.prefix``).

        Items are independent: one item ``(context, [continuation, ...])`` in, one list of
        scores (one per continuation) out; an item's scores do not depend on which items
        share its batch beyond float rounding, and equal ``score_continuations`` of its pairs
        within float32 rounding. ``batch_size`` contexts run per prefix pass. An item whose
        context + continuation does not fit the window (each continuation would keep a
        different end of the context) is scored pair by pair, as ``score_continuations``.
        """
        items = [(list(ctx) or [self.loaded.eos_id], [list(c) for c in conts]) for ctx, conts in items]
        fits = [len(ctx) + max(map(len, conts)) - 1 <= self.max_length for ctx, conts in items]
        out: list = [None] * len(items)
        for idx, prefix in self._prefixes([i for i, ok in enumerate(fits) if ok], [ctx for ctx, _ in items]):
            if prefix is None:  # a cache we cannot copy: unshared
                fits = [ok and i not in idx for i, ok in enumerate(fits)]
                continue
            rows = [b for b, i in enumerate(idx) for _ in items[i][1]]
            scores = iter(score_from_prefix(prefix, rows, [c for i in idx for c in items[i][1]]))
            for i in idx:
                out[i] = [next(scores) for _ in items[i][1]]
        rest = [i for i, ok in enumerate(fits) if not ok]
        scores = iter(self.score_continuations([(items[i][0], c) for i in rest for c in items[i][1]]))
        for i in rest:
            out[i] = [next(scores) for _ in items[i][1]]
        return out

    def score_and_predict_word(
        self, items: Sequence[tuple[Sequence[int], Sequence[int]]], accept, topk: int, max_tokens: int
    ) -> list[tuple[SpanScore, WordPrediction]]:
        """log p(continuation | context) and the filtered greedy next word after the context
        (``gpt2eval.greedy``), from one pass over each context: the word search's steps run
        from the context's KV cache.

        Items are independent: one ``(context, continuation)`` in, one (score, prediction)
        out; the result does not depend on which items share its batch beyond float
        rounding (which can flip a greedy argmax only at a near tie). It depends on
        ``accept``, ``topk`` and ``max_tokens``, the task's protocol options. An item whose
        context + word does not fit the window is run as ``score_continuations`` +
        ``predict_words``, which slide the window as they go.
        """
        items = [(list(ctx) or [self.loaded.eos_id], list(cont)) for ctx, cont in items]
        fits = [len(ctx) + max(len(cont), max_tokens) - 1 <= self.max_length for ctx, cont in items]
        k = min(topk, len(self.tokenizer))
        out: list = [None] * len(items)
        for idx, prefix in self._prefixes([i for i, ok in enumerate(fits) if ok], [ctx for ctx, _ in items]):
            if prefix is None:
                fits = [ok and i not in idx for i, ok in enumerate(fits)]
                continue
            scores = score_from_prefix(prefix, range(len(idx)), [items[i][1] for i in idx])
            first = prefix.last_logits.topk(min(k, prefix.last_logits.shape[-1]), dim=-1).indices.cpu()  # (B, k)
            preds = predict_words_cached(prefix, self.tokenizer, first, accept, max_tokens)
            for i, score, pred in zip(idx, scores, preds):
                out[i] = (score, pred)
        rest = [i for i, ok in enumerate(fits) if not ok]
        if rest:
            scores = self.score_continuations([items[i] for i in rest])
            preds = predict_words(self, [items[i][0] for i in rest], accept, topk, max_tokens)
            for i, score, pred in zip(rest, scores, preds):
                out[i] = (score, pred)
        return out

    def _prefixes(self, idx: list[int], contexts: Sequence[Sequence[int]]):
        """(indices, PrefixCache) per batch of ``batch_size`` contexts, longest first; the
        PrefixCache is None when the model's cache cannot be shared."""
        idx = sorted(idx, key=lambda i: -len(contexts[i]))
        bs = self.scorer.batch_size
        for lo in range(0, len(idx), bs):
            batch = idx[lo : lo + bs]
            prefix = PrefixCache(self.loaded.model, [contexts[i] for i in batch], self.scorer.pad_id)
            yield batch, prefix if prefix.supported else None
            self._prefix_tokens += prefix.forward_tokens

    def logits_next(self, contexts: Sequence[Sequence[int]]):
        """Next-token logits after each context (its end kept when too long; an empty one
        is <|endoftext|>): (N, V) float32."""
        import torch

        return torch.cat(list(self._next_logits(contexts)))

    def topk_next(self, contexts: Sequence[Sequence[int]], k: int):
        """Top-``k`` next-token ids after each context, most probable first: (N, k) long.

        Reduced batch by batch, so N x V logits never exist at once.
        """
        import torch

        return torch.cat([x.topk(min(k, x.shape[-1]), dim=-1).indices for x in self._next_logits(contexts)])

    def _next_logits(self, contexts):
        bs = self.scorer.batch_size
        for lo in range(0, len(contexts), bs):
            batch = [list(c)[-self.max_length :] or [self.loaded.eos_id] for c in contexts[lo : lo + bs]]
            last = [len(x) - 1 for x in batch]
            logits, positions = self.scorer.forward(batch, sorted(set(last)))  # (B, P, V)
            column = {p: j for j, p in enumerate(positions)}
            yield logits[range(len(batch)), [column[n] for n in last]].float().cpu()  # (B, V)


def check_window(max_length: int, stride: int, context_length: int) -> None:
    if max_length < 1:
        raise UsageError(f"--max-length {max_length} must be >= 1")
    if max_length > context_length:
        raise UsageError(f"--max-length {max_length} exceeds the model's context length {context_length}: lower it")
    if stride < 1:
        raise UsageError(f"--stride {stride} must be >= 1")
    if stride > max_length:
        raise UsageError(f"--stride {stride} exceeds the window length {max_length}: use a stride <= --max-length")
