"""The requests a task can make of a model: rolling-window stream scores and continuations.

A task never touches the model directly; it asks an ``LM`` for log-probabilities of token
ids, which keeps every protocol choice about windows (length, stride, the <|endoftext|>
prefix) in one place and in the result file.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from gpt2eval.config import WindowConfig
from gpt2eval.errors import UsageError

if TYPE_CHECKING:  # torch enters with the scorer, so listing tasks never imports it
    from gpt2eval.models.loading import LoadedModel
    from gpt2eval.engine.scoring import Span, SpanScore
    from gpt2eval.engine.units import Runner


class LM:
    """Request methods over a model. Each one hands its requests to ``self.runner``
    (``units.Runner``): cut into work units, cached, and shared out over torchrun ranks."""

    def __init__(self, loaded: LoadedModel, window: WindowConfig, progress=None, runner: Runner | None = None):
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.max_length = loaded.context_length if window.max_length is None else window.max_length
        self.stride = self.max_length if window.stride is None else window.stride
        self.eos_prefix = window.eos_prefix
        self.last_window = window.last_window or "right"
        check_window(self.max_length, self.stride, loaded.context_length)
        from gpt2eval.engine.scoring import Scorer
        from gpt2eval.engine.units import Runner

        # The runner drives the progress bar, unit by unit, counting every rank's tokens.
        auto = window.batch_size == "auto"
        self.scorer = Scorer(loaded.model, 1 if auto else window.batch_size, pad_id=self._pad_id())
        self.runner = runner or Runner(progress=progress)
        self.progress = self.runner.progress  # a gpt2eval.engine.progress.Progress, or None
        self.batch_size_auto = auto
        self._prefix_tokens = 0
        self.batch_probe = None  # a CPU's tokens/s per batch size, when --batch-size auto measured them
        if auto:
            from gpt2eval.engine.autobatch import auto_batch_size

            self.scorer.batch_size, self.batch_probe = auto_batch_size(self.scorer, self.max_length, loaded.eos_id)
            self.scorer.forward_tokens = 0  # the probe's are not the run's

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
        auto = {"batch_size": self.scorer.batch_size, "batch_size_auto": True} if self.batch_size_auto else {}
        return {"max_length": self.max_length, "stride": self.stride, "eos_prefix": self.eos_prefix,
                "last_window": self.last_window, **auto}

    @property
    def engine(self) -> dict:
        """How the model ran, where the protocol leaves a choice (``config.engine``): the
        output layer's path (``head.py``: "chunked", or "full" for a model it cannot vouch for),
        on a CPU the allocator's settings (``allocator.py``) and, under ``--batch-size auto``,
        the probe's tokens/s per batch size."""
        cpu = {"cpu_allocator": self.scorer.cpu_allocator} if self.scorer.cpu_allocator else {}
        probe = {"batch_probe": self.batch_probe} if self.batch_probe else {}
        return {"output_head": self.scorer.head.path, **cpu, **probe}

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
        from gpt2eval.engine.scoring import score_stream

        stream = [self.loaded.start_id] + list(ids) if self.eos_prefix else list(ids)
        return score_stream(_SpansThroughUnits(self), stream, self.max_length, self.stride, self.last_window)

    def stream_contexts(self, n_ids: int):
        """Tokens each target of ``score_stream(ids)`` was conditioned on: (n_scored,) int64.

        A target at stream position ``p`` in a window that feeds ``s[w.start:w.end]`` sees
        ``s[w.start:p]``: ``p - w.start`` tokens (the <|endoftext|> prefix counts).
        """
        import numpy as np

        from gpt2eval.engine.windows import rolling_windows

        windows = rolling_windows(n_ids + (1 if self.eos_prefix else 0), self.max_length, self.stride, self.last_window)
        first = np.array([w.start for w in windows], dtype=np.int64)
        n_scored = np.array([w.n_scored for w in windows], dtype=np.int64)
        return np.arange(1, int(n_scored.sum()) + 1, dtype=np.int64) - np.repeat(first, n_scored)

    def continuation_contexts(self, n_context: int, n_continuation: int):
        """Tokens each continuation token was conditioned on (``continuation_span`` keeps the
        context's end when the pair does not fit): (n_continuation,) int64."""
        import numpy as np

        kept = min(n_context + n_continuation, self.max_length + 1) - n_continuation
        return np.arange(n_continuation, dtype=np.int64) + kept

    def score_continuations(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[SpanScore]:
        """log p(continuation | context) per pair; an empty context is the EOS token."""
        from gpt2eval.engine.scoring import continuation_span

        spans = [continuation_span(list(ctx) or [self.loaded.start_id], cont, self.max_length) for ctx, cont in pairs]
        return self.score_spans(spans)

    def score_spans(self, spans: Sequence[Span]) -> list[SpanScore]:
        """Per-target scores of each span, through the work units (kind ``spans``).

        Longest first, so that a unit, and so a batch, holds similar lengths; the order is
        a function of the spans alone, so the cut stays independent of the world size.
        """
        from gpt2eval.engine.scoring import SpanScore

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
        from gpt2eval.engine.scoring import Span

        scores = self.scorer.score([Span(inputs, targets) for inputs, targets in items])
        return [{"nll": s.nll, "greedy": s.greedy} for s in scores]

    def score_shared_context(self, items: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]]) -> list[list[SpanScore]]:
        """log p(continuation | context) for every continuation of each item, the context run
        once and the continuations from its KV cache (``gpt2eval.engine.prefix``).

        Items are independent: one item ``(context, [continuation, ...])`` in, one list of
        scores (one per continuation) out; an item's scores do not depend on which items
        share its batch beyond float rounding, and equal ``score_continuations`` of its pairs
        within float32 rounding. Items go through the work units (kind ``shared``: cached,
        and shared out over torchrun ranks question by question). ``batch_size`` contexts
        run per prefix pass. An item whose context + continuation does not fit the window
        (each continuation would keep a different end of the context) is scored pair by
        pair, as ``score_continuations``.
        """
        import numpy as np

        from gpt2eval.engine.scoring import SpanScore

        items = [[list(ctx) or [self.loaded.start_id], [list(c) for c in conts]] for ctx, conts in items]
        records = self.runner.map(
            "shared", items, self._compute_shared, {**self._params(), "max_length": self.max_length}, cost=lambda it: len(it[0]) + sum(map(len, it[1])),
            weight=lambda it: sum(map(len, it[1])), multiple=self.scorer.batch_size,
        )
        out = []
        for rec in records:
            cuts = np.cumsum(rec["lengths"])[:-1]
            out.append([SpanScore(n, g) for n, g in zip(np.split(rec["nll"], cuts), np.split(rec["greedy"], cuts))])
        return out

    def _compute_shared(self, items: list) -> list[dict]:
        """One unit of ``score_shared_context``, computed here (inside a unit: no other map)."""
        import numpy as np

        from gpt2eval.engine.prefix import score_from_prefix
        from gpt2eval.engine.scoring import continuation_span

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
        spans = [continuation_span(items[i][0], c, self.max_length) for i in rest for c in items[i][1]]
        scores = iter(self.scorer.score(spans))
        for i in rest:
            out[i] = [next(scores) for _ in items[i][1]]
        return [
            {"nll": np.concatenate([x.nll for x in row]), "greedy": np.concatenate([x.greedy for x in row]),
             "lengths": np.array([len(x.nll) for x in row], dtype=np.int64)}
            for row in out
        ]

    def score_and_search(self, items: Sequence[tuple[Sequence[int], Sequence[int]]], search) -> list[tuple[SpanScore, object]]:
        """log p(continuation | context) and a search after the context (``search``: a
        ``greedy.WordSearch`` or ``greedy_token.TokenSearch``), from one pass per batch over
        context + continuation: the search's steps run from that pass's KV cache.

        The scores do not depend on the search: the units (kind ``search``) are cut, and their
        items batched, by the scored length alone, and every item is scored by the same pass
        (``prefix.SharedPrefix`` with continuations), so two searches give bit-identical
        scores. Items are independent: one ``(context, continuation)`` in, one (score, result)
        out; a result depends on which items share its batch only through float rounding
        (which can flip a greedy argmax at a near tie). An item whose context + continuation
        does not fit the window is scored with the context's end kept (``continuation_span``);
        one whose context + ``search.room`` tokens does not fit is searched by ``search.rerun``,
        which slides the window as it goes. The units' key holds ``search.params`` and the
        window length (the items are whole contexts: what is cut depends on it).
        """
        from gpt2eval.engine.scoring import SpanScore

        items = [[list(ctx) or [self.loaded.start_id], list(cont)] for ctx, cont in items]
        self.note(search.describe(len(items)))
        records = self.runner.map(
            "search", items, lambda unit: self._compute_search(unit, search), {**self._params(), **search.params,
                                                                               "max_length": self.max_length},
            cost=lambda it: len(it[0]) + len(it[1]) - 1, weight=lambda it: len(it[1]), multiple=self.scorer.batch_size,
        )
        return [(SpanScore(r["nll"], r["greedy"]), search.result(r)) for r in records]

    def _compute_search(self, items: list, search) -> list[dict]:
        """One unit of ``score_and_search``, computed here (inside a unit: no other map)."""
        from gpt2eval.engine.branches import BRANCH_ROOM
        from gpt2eval.engine.prefix import SharedPrefix
        from gpt2eval.engine.scoring import continuation_span

        spans = [continuation_span(ctx, cont, self.max_length) for ctx, cont in items]
        # What each pass row feeds before its continuation: the context, or its end if cut.
        kept = [list(s.input_ids[: len(s.input_ids) - len(cont) + 1]) for s, (_, cont) in zip(spans, items)]
        order = sorted(range(len(items)), key=lambda i: -len(spans[i].input_ids))
        bs = self.scorer.batch_size
        out: list = [None] * len(items)
        rest = []
        for lo in range(0, len(order), bs):
            batch = order[lo : lo + bs]
            prefix = SharedPrefix(self.loaded.model, [kept[i] for i in batch], self.scorer.pad_id, [items[i][1] for i in batch],
                                  room=BRANCH_ROOM)
            cached = [b for b, i in enumerate(batch) if prefix.supported and len(kept[i]) == len(items[i][0])
                      and len(items[i][0]) + search.room <= self.max_length]
            found = dict(zip(cached, search.from_cache(prefix, cached, self.tokenizer))) if cached else {}
            self._prefix_tokens += prefix.forward_tokens  # the pass and the search's steps
            for b, i in enumerate(batch):
                score = prefix.scores[b]
                out[i] = {"nll": score.nll, "greedy": score.greedy, **found.get(b, {})}
                if b not in found:
                    rest.append(i)
        for i, rec in zip(rest, search.rerun(_Direct(self), [items[i][0] for i in rest]) if rest else []):
            out[i].update(rec)
        return out

    def _prefixes(self, idx: list[int], contexts: Sequence[Sequence[int]]):
        """(indices, SharedPrefix) per batch of ``batch_size`` contexts, longest first; the
        SharedPrefix is None when the model's KV cache cannot be shared."""
        idx = sorted(idx, key=lambda i: -len(contexts[i]))
        bs = self.scorer.batch_size
        from gpt2eval.engine.prefix import SharedPrefix

        for lo in range(0, len(idx), bs):
            batch = idx[lo : lo + bs]
            prefix = SharedPrefix(self.loaded.model, [contexts[i] for i in batch], self.scorer.pad_id)
            yield batch, prefix if prefix.supported else None
            self._prefix_tokens += prefix.forward_tokens

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
            return [{"ids": row.numpy()} for row in self._topk(items, k)]

        records = self.runner.map("topk", self._contexts(contexts), compute, {**self._params(), "k": k})
        return torch.stack([torch.from_numpy(r["ids"]) for r in records]) if records else torch.empty((0, k), dtype=torch.long)

    def _topk(self, contexts: list[list[int]], k: int):
        """Top-``k`` ids after each (already cut) context, computed here: (N, k) long."""
        import torch

        x = [b.topk(min(k, b.shape[-1]), dim=-1).indices for b in self._next_logits(contexts)]
        return torch.cat(x) if x else torch.empty((0, k), dtype=torch.long)

    def _contexts(self, contexts) -> list[list[int]]:
        return [list(c)[-self.max_length :] or [self.loaded.start_id] for c in contexts]

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


class _Direct:
    """The LM's next-token request without the work units, for use inside a unit's own
    computation: a unit runs on one rank, so it must not start another (collective) map."""

    def __init__(self, lm: LM):
        self.lm, self.tokenizer, self.max_length = lm, lm.tokenizer, lm.max_length

    def note(self, text: str) -> None:
        pass

    def topk_next(self, contexts, k: int):
        return self.lm._topk(self.lm._contexts(contexts), k)


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
