"""The requests a task can make of a model: rolling-window stream scores and continuations.

A task never touches the model directly; it asks an ``LM`` for log-probabilities of token
ids, which keeps every protocol choice about windows (length, stride, the <|endoftext|>
prefix) in one place and in the result file.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .config import WindowConfig
from .errors import UsageError

if TYPE_CHECKING:  # torch enters with the scorer, so listing tasks never imports it
    from .models import LoadedModel
    from .scoring import Span, SpanScore
    from .units import Runner


class LM:
    """Request methods over a model. Each one hands its requests to ``self.runner``
    (``units.Runner``): cut into work units, cached, and shared out over torchrun ranks."""

    def __init__(self, loaded: LoadedModel, window: WindowConfig, progress=None, runner: Runner | None = None):
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.max_length = loaded.context_length if window.max_length is None else window.max_length
        self.stride = self.max_length if window.stride is None else window.stride
        self.eos_prefix = window.eos_prefix
        check_window(self.max_length, self.stride, loaded.context_length)
        from .scoring import Scorer
        from .units import Runner

        # The runner drives the progress bar, unit by unit, counting every rank's tokens.
        auto = window.batch_size == "auto"
        self.scorer = Scorer(loaded.model, 1 if auto else window.batch_size, pad_id=self._pad_id())
        self.runner = runner or Runner(progress=progress)
        self.progress = self.runner.progress  # a gpt2eval.progress.Progress, or None
        self.batch_size_auto = auto
        if auto:
            from .autobatch import find_batch_size

            self.scorer.batch_size = find_batch_size(self.scorer, self.max_length, loaded.eos_id)

    def _pad_id(self) -> int:
        # Right padding is never attended to by a real position, so any id will do.
        for tid in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0):
            if tid is not None:
                return tid

    @property
    def resolved(self) -> dict:
        """The window protocol as actually run (defaults filled in)."""
        auto = {"batch_size": self.scorer.batch_size, "batch_size_auto": True} if self.batch_size_auto else {}
        return {"max_length": self.max_length, "stride": self.stride, "eos_prefix": self.eos_prefix, **auto}

    def note(self, text: str) -> None:
        """Announce a phase the progress bar does not count (e.g. LAMBADA's stop-word search)."""
        if self.progress is not None:
            self.progress.note(text)

    def encode(self, text: str) -> list[int]:
        return self.encode_with_offsets(text)[0]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[int]]:
        """Token ids of ``text`` and the character offset where each token starts."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise UsageError("gpt2eval needs a fast (Rust) tokenizer for character offsets: use a model that ships tokenizer.json")
        enc = encode_plain(backend, text)
        return enc.ids, [start for start, _ in enc.offsets]

    @property
    def first_scored(self) -> int:
        """Index of the first token of a stream that gets a score (0 under the EOS prefix)."""
        return 0 if self.eos_prefix else 1

    def score_stream(self, ids: Sequence[int]) -> SpanScore:
        """Scores of ``ids[self.first_scored:]``, by rolling windows."""
        from .scoring import score_stream

        stream = [self.loaded.eos_id] + list(ids) if self.eos_prefix else list(ids)
        return score_stream(_SpansThroughUnits(self), stream, self.max_length, self.stride)

    def score_continuations(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[SpanScore]:
        """log p(continuation | context) per pair; an empty context is the EOS token."""
        from .scoring import continuation_span

        spans = [continuation_span(list(ctx) or [self.loaded.eos_id], cont, self.max_length) for ctx, cont in pairs]
        return self.score_spans(spans)

    def score_spans(self, spans: Sequence[Span]) -> list[SpanScore]:
        """Per-target scores of each span, through the work units (kind ``spans``).

        Longest first, so that a unit, and so a batch, holds similar lengths; the order is
        a function of the spans alone, so the cut stays independent of the world size.
        """
        from .scoring import SpanScore

        order = sorted(range(len(spans)), key=lambda i: -len(spans[i].input_ids))
        items = [[_as_list(spans[i].input_ids), _as_list(spans[i].target_ids)] for i in order]
        records = self.runner.map(
            "spans", items, self._compute_spans, self._params(), cost=lambda it: len(it[0]),
            weight=lambda it: len(it[1]), multiple=self.scorer.batch_size,
        )
        out: list[SpanScore | None] = [None] * len(spans)
        for i, rec in zip(order, records):
            out[i] = SpanScore(rec["nll"], rec["greedy"])
        return out

    def _compute_spans(self, items: list) -> list[dict]:
        from .scoring import Span

        scores = self.scorer.score([Span(inputs, targets) for inputs, targets in items])
        return [{"nll": s.nll, "greedy": s.greedy} for s in scores]

    def logits_next(self, contexts: Sequence[Sequence[int]]):
        """Next-token logits after each context (its end kept when too long; an empty one
        is <|endoftext|>): (N, V) float32."""
        import torch

        records = self.runner.map("logits", self._contexts(contexts), lambda items: [{"logits": x.numpy()} for b in self._next_logits(items) for x in b], self._params())
        return torch.stack([torch.from_numpy(r["logits"]) for r in records]) if records else torch.empty((0, len(self.tokenizer)))

    def topk_next(self, contexts: Sequence[Sequence[int]], k: int):
        """Top-``k`` next-token ids after each context, most probable first: (N, k) long.

        Reduced batch by batch, so N x V logits never exist at once.
        """
        import torch

        def compute(items):
            return [{"ids": row.numpy()} for x in self._next_logits(items) for row in x.topk(min(k, x.shape[-1]), dim=-1).indices]

        records = self.runner.map("topk", self._contexts(contexts), compute, {**self._params(), "k": k})
        return torch.stack([torch.from_numpy(r["ids"]) for r in records]) if records else torch.empty((0, k), dtype=torch.long)

    def _contexts(self, contexts) -> list[list[int]]:
        return [list(c)[-self.max_length :] or [self.loaded.eos_id] for c in contexts]

    def _params(self) -> dict:
        # Batch composition can move the last bits of a score on some devices.
        return {"batch_size": self.scorer.batch_size}

    def _next_logits(self, contexts):
        bs = self.scorer.batch_size
        for lo in range(0, len(contexts), bs):
            batch = contexts[lo : lo + bs]
            last = [len(x) - 1 for x in batch]
            logits, positions = self.scorer.forward(batch, sorted(set(last)))  # (B, P, V)
            column = {p: j for j, p in enumerate(positions)}
            yield logits[range(len(batch)), [column[n] for n in last]].float().cpu()  # (B, V)


def encode_plain(backend, text: str):
    """Document text is only text: a literal "<|endoftext|>" in it is ordinary tokens, never the
    EOS id (special-token parsing off; a task that wants the EOS id inserts it itself)."""
    saved = backend.encode_special_tokens
    backend.encode_special_tokens = True
    try:
        return backend.encode(text, add_special_tokens=False)
    finally:
        backend.encode_special_tokens = saved


def _as_list(ids) -> list:
    # Spans of a long stream hold millions of ids: share their lists rather than copy them.
    return ids if isinstance(ids, list) else list(ids)


class _SpansThroughUnits:
    """Stands in for a ``Scorer`` in ``scoring.score_stream``: spans go through the units."""

    def __init__(self, lm: LM):
        self.score = lm.score_spans


def check_window(max_length: int, stride: int, context_length: int) -> None:
    if max_length < 1:
        raise UsageError(f"--max-length {max_length} must be >= 1")
    if max_length > context_length:
        raise UsageError(f"--max-length {max_length} exceeds the model's context length {context_length}: lower it")
    if stride < 1:
        raise UsageError(f"--stride {stride} must be >= 1")
    if stride > max_length:
        raise UsageError(f"--stride {stride} exceeds the window length {max_length}: use a stride <= --max-length")
