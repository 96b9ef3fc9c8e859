"""Batched model calls that turn token spans into per-target log-probabilities.

The scorer is stateless beyond the model: spans in, per-target arrays out. Callers can
therefore split the spans of a long stream into shards, score them in separate processes
or sessions, and add the sums, without any global state to reconcile.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from gpt2eval.engine.allocator import keep_large_buffers
from gpt2eval.engine.head import OutputHead
from gpt2eval.engine.windows import rolling_windows

# Rows of (positions, vocab) float32 log-softmax work done at once: ~256 MiB for V = 50,257.
# Bounds memory whatever the batch size; one full (B, L, V) float32 copy never exists.
LOGSOFTMAX_BYTES = 256 * 2**20
# Rows reduced per step on a CPU: 128 x 50,257 float32 = 25 MiB, within a server's L3, so
# the passes of log_softmax, gather and amax read the chunk from cache, not from memory
# (measured on 2 EPYC cores: 0.4-0.6 s per 1,024 positions, against 1.0-1.3 s for one chunk
# of all 1,024 rows through logsumexp + argmax).
CACHE_ROWS = 128
# Positions projected by the output layer at once on a CPU (the chunked head, head.py): its
# (768 x 50,257) weight is read once per block, and the matmul runs at 512 rows within ~7% of
# its speed at 1,024 (128 rows: ~20% slower; 2 EPYC cores). The block's logits, 98 MiB in
# float32, are reduced ``CACHE_ROWS`` at a time.
HEAD_ROWS = 512


@dataclass(frozen=True)
class Span:
    """One model row: feed ``input_ids``; the last ``len(target_ids)`` predictions are scored."""

    input_ids: Sequence[int]
    target_ids: Sequence[int]

    def __post_init__(self):
        assert 1 <= len(self.target_ids) <= len(self.input_ids), (
            f"span scores {len(self.target_ids)} targets from {len(self.input_ids)} inputs"
        )


@dataclass
class SpanScore:
    nll: np.ndarray  # (K,) float64, nats
    greedy: np.ndarray  # (K,) bool, target was the argmax


class Scorer:
    """Scores spans with a causal LM, ``batch_size`` rows per forward pass."""

    def __init__(self, model, batch_size: int = 1, pad_id: int = 0, progress=None):
        assert batch_size >= 1, f"batch_size must be >= 1, got {batch_size}"
        self.model = model
        self.device = next(model.parameters()).device
        self.batch_size = batch_size
        self.pad_id = pad_id
        self.progress = progress  # a gpt2eval.engine.progress.Progress, or None
        self.forward_tokens = 0  # input positions run, padding included: what MFU counts
        # Whether the model can run its output layer at chosen positions only.
        self.logits_to_keep = "logits_to_keep" in inspect.signature(model.forward).parameters
        # The output layer a chunk of scored positions at a time, where faithful (head.py).
        self.head = OutputHead(model)
        # On a CPU, freed activations are reused from the heap, not unmapped (allocator.py):
        # without it a batch's tensors above 32 MiB fault in fresh pages on every op.
        self.cpu_allocator = keep_large_buffers() if self.device.type == "cpu" else None

    def score(self, spans: Sequence[Span]) -> list[SpanScore]:
        # Longest first: similar lengths share a batch, and an OOM shows up on batch one.
        order = sorted(range(len(spans)), key=lambda i: -len(spans[i].input_ids))
        out: list[SpanScore | None] = [None] * len(spans)
        if self.progress:
            self.progress.start(sum(len(s.target_ids) for s in spans), "scoring")
        try:
            for lo in range(0, len(order), self.batch_size):
                idx = order[lo : lo + self.batch_size]
                for i, score in zip(idx, self._score_batch([spans[i] for i in idx])):
                    out[i] = score
                if self.progress:
                    self.progress(sum(len(spans[i].target_ids) for i in idx))
        finally:
            if self.progress:
                self.progress.close()
        return out

    @torch.inference_mode()
    def forward(self, inputs: Sequence[Sequence[int]], positions: Sequence[int] | None = None):
        """Logits of right-padded ``inputs`` at ``positions`` (all when None): (B, P, V).

        No attention mask is passed: under the causal mask a real position never sees a
        later (padding) position, so the mask would change nothing but the kernel. Without
        it attention stays on the fused causal path, and a row's numbers do not depend on
        which rows share its batch. No KV cache is kept either (``use_cache=False``): a
        window is scored once, and building the cache costs a copy per layer.

        The output layer runs only at ``positions`` (the chunked head, or the model's
        ``logits_to_keep``): with a stride S < L, or a short continuation after a long
        context, that skips most of the (B, T, V) logits, the largest tensor of a forward
        pass. Returns the logits and the positions they are at.
        """
        ids = self._ids(inputs)  # (B, T)
        T = ids.shape[1]
        if positions is None or len(positions) == T or not (self.head.chunked or self.logits_to_keep):
            positions = range(T)
        if self.head.chunked:
            at = torch.as_tensor(list(positions), device=self.device)
            return self.head.logits(self.head.hidden(ids)[:, at]), list(positions)
        extra = {"logits_to_keep": torch.as_tensor(positions, device=self.device)} if len(positions) < T else {}
        logits = self.model(input_ids=ids, use_cache=False, **extra).logits
        return logits, list(positions)

    def _ids(self, inputs: Sequence[Sequence[int]]) -> torch.Tensor:
        """``inputs`` right-padded into (B, T) on the device; counts the forward tokens."""
        lengths = [len(x) for x in inputs]
        # Right padding: under a causal mask a real position never sees a later pad.
        ids = torch.full((len(inputs), max(lengths)), self.pad_id, dtype=torch.long)
        for b, x in enumerate(inputs):
            ids[b, : lengths[b]] = torch.as_tensor(x, dtype=torch.long)
        self.forward_tokens += ids.numel()
        return ids.to(self.device)

    def _score_batch(self, spans: Sequence[Span]) -> list[SpanScore]:
        if self.head.chunked:
            return self._score_batch_chunked(spans)
        lengths = [len(s.input_ids) for s in spans]
        wanted = sorted({p for s, n in zip(spans, lengths) for p in range(n - len(s.target_ids), n)})
        logits, positions = self.forward([s.input_ids for s in spans], wanted)  # (B, P, V)
        column = {p: j for j, p in enumerate(positions)}
        out = []
        for b, s in enumerate(spans):
            k = len(s.target_ids)
            first = column[lengths[b] - k]
            # Scored positions are contiguous in the input, so they are in ``positions`` too.
            assert positions[first + k - 1] == lengths[b] - 1, "scored positions must be contiguous"
            scored = logits[b, first : first + k]  # (K, V), a view
            out.append(_nll(scored, torch.as_tensor(s.target_ids, device=logits.device)))
        return out

    @torch.inference_mode()
    def _score_batch_chunked(self, spans: Sequence[Span]) -> list[SpanScore]:
        """The model's forward once, up to its output layer; then the output layer over the
        scored positions of every row, ``HEAD_ROWS`` at a time (``head.py``): no (B, T, V)
        tensor exists."""
        ids = self._ids([s.input_ids for s in spans])  # (B, T)
        hidden = self.head.hidden(ids)  # (B, T, H)
        B, T, H = hidden.shape
        # Row b scores its last K_b positions: flat indices into (B * T, H), span by span.
        at = torch.cat([b * T + torch.arange(len(s.input_ids) - len(s.target_ids), len(s.input_ids))
                        for b, s in enumerate(spans)]).to(self.device)  # (N,)
        targets = torch.cat([torch.as_tensor(s.target_ids, dtype=torch.long) for s in spans]).to(self.device)  # (N,)
        flat = hidden.reshape(B * T, H)
        vocab = self.head.proj.weight.shape[0]
        block = HEAD_ROWS if self.device.type == "cpu" else 0  # on a GPU one chunk (LOGSOFTMAX_BYTES)
        score = _score_rows(lambda lo, hi: self.head.logits(flat.index_select(0, at[lo:hi])), targets, vocab, block)
        cuts = np.cumsum([len(s.target_ids) for s in spans])[:-1]
        return [SpanScore(n, g) for n, g in zip(np.split(score.nll, cuts), np.split(score.greedy, cuts))]


def _nll(logits: torch.Tensor, targets: torch.Tensor) -> SpanScore:
    """NLL (float64) and argmax hits of ``targets`` under ``logits`` (K, V), in float32 chunks."""
    return _score_rows(lambda lo, hi: logits[lo:hi], targets, logits.shape[-1], block=len(targets))


def chunk_rows(vocab: int, device: torch.device) -> int:
    """Rows of (rows, vocab) float32 reduced at once: ``LOGSOFTMAX_BYTES``, ``CACHE_ROWS`` on a CPU."""
    rows = max(1, LOGSOFTMAX_BYTES // (4 * vocab))
    return min(rows, CACHE_ROWS) if device.type == "cpu" else rows


def _score_rows(logits_of, targets: torch.Tensor, vocab: int, block: int = 0) -> SpanScore:
    """NLL (float64) and argmax hits of ``targets`` (N,), the logits of rows ``lo:hi`` being
    ``logits_of(lo, hi)`` (hi - lo, V), asked for ``block`` rows at a time (at least one chunk).

    Each block is reduced a chunk of ``chunk_rows`` rows at a time: on a GPU as large as
    ``LOGSOFTMAX_BYTES`` allows; on a CPU ``CACHE_ROWS`` rows, so that each row is read
    from memory once. A target is a hit when its logit is the row's maximum (``>= amax``:
    no argmax pass, and a tie counts as a hit). Each row's numbers depend on that row only,
    whatever the chunking.
    """
    rows = chunk_rows(vocab, targets.device)
    block = max(block, rows)
    nll = torch.empty(len(targets), dtype=torch.float64, device=targets.device)
    greedy = torch.empty(len(targets), dtype=torch.bool, device=targets.device)
    for start in range(0, len(targets), block):
        logits = logits_of(start, start + block)  # (block, V)
        for a in range(0, len(logits), rows):
            sel = logits[a : a + rows].float()  # (C, V)
            lo, hi = start + a, start + a + len(sel)
            tgt = targets[lo:hi, None]  # (C, 1)
            nll[lo:hi] = -torch.log_softmax(sel, dim=1).gather(1, tgt)[:, 0].double()
            greedy[lo:hi] = sel.gather(1, tgt)[:, 0] >= sel.amax(dim=1)
    return SpanScore(nll.cpu().numpy(), greedy.cpu().numpy())


def stream_spans(ids: Sequence[int], max_length: int, stride: int, last_window: str = "right") -> list[Span]:
    """The rolling windows of ``ids`` (see ``windows.py``) as spans."""
    return [
        Span(ids[w.start : w.end], ids[w.end + 1 - w.n_scored : w.end + 1])
        for w in rolling_windows(len(ids), max_length, stride, last_window)
    ]


def score_stream(scorer: Scorer, ids: Sequence[int], max_length: int, stride: int, last_window: str = "right") -> SpanScore:
    """Per-target scores for positions ``1 .. len(ids) - 1`` of a token stream."""
    scores = scorer.score(stream_spans(ids, max_length, stride, last_window))
    if not scores:
        return SpanScore(np.zeros(0), np.zeros(0, dtype=bool))
    result = SpanScore(np.concatenate([s.nll for s in scores]), np.concatenate([s.greedy for s in scores]))
    assert len(result.nll) == max(0, len(ids) - 1), "every target token is scored exactly once"
    return result


def continuation_span(context: Sequence[int], continuation: Sequence[int], max_length: int) -> Span:
    """Score ``continuation`` given ``context``, keeping the end of a context that is too long."""
    assert continuation, "empty continuation"
    assert context, "empty context: prefix it with <|endoftext|>"
    seq = list(context) + list(continuation)
    seq = seq[-(max_length + 1) :]
    return Span(seq[:-1], seq[-len(continuation) :])
