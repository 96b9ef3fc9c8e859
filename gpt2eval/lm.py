"""The requests a task can make of a model: rolling-window stream scores and continuations.

A task never touches the model directly; it asks an ``LM`` for log-probabilities of token
ids, which keeps every protocol choice about windows (length, stride, the <|endoftext|>
prefix) in one place and in the result file.
"""
from __future__ import annotations

from typing import Sequence

from .config import WindowConfig
from .errors import UsageError
from .models import LoadedModel
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

    def logits_next(self, contexts: Sequence[Sequence[int]]):
        """Next-token logits after each context (its end kept when too long): (N, V) float32."""
        import torch

        rows, bs = [], self.scorer.batch_size
        for lo in range(0, len(contexts), bs):
            logits, lengths = self.scorer.forward([list(c)[-self.max_length :] for c in contexts[lo : lo + bs]])
            rows += [logits[b, n - 1].float().cpu() for b, n in enumerate(lengths)]
        return torch.stack(rows)

    def topk_next(self, contexts: Sequence[Sequence[int]], k: int):
        """Top-``k`` next-token ids after each context (its end kept when too long; an empty
        one is <|endoftext|>): (N, k) long, most probable first.

        As ``logits_next``, but the output layer runs only at the rows' last real positions
        (``logits_to_keep``, where the model takes it): a greedy step needs nothing else, and
        a full (B, T, V) logits tensor can cost more than the rest of a small model.
        """
        import inspect

        import torch

        model = self.loaded.model
        keep = "logits_to_keep" in inspect.signature(model.forward).parameters
        rows, bs = [], self.scorer.batch_size
        with torch.inference_mode():
            for lo in range(0, len(contexts), bs):
                batch = [list(c)[-self.max_length :] or [self.loaded.eos_id] for c in contexts[lo : lo + bs]]
                last = [len(x) - 1 for x in batch]
                T = max(last) + 1
                # Right padding, as in Scorer.forward: no real position ever sees a pad.
                ids = torch.full((len(batch), T), self.scorer.pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), T), dtype=torch.long)
                for b, x in enumerate(batch):
                    ids[b, : len(x)] = torch.as_tensor(x, dtype=torch.long)
                    mask[b, : len(x)] = 1
                positions = sorted(set(last)) if keep else list(range(T))
                extra = {"logits_to_keep": torch.as_tensor(positions, device=self.scorer.device)} if keep else {}
                logits = model(input_ids=ids.to(self.scorer.device), attention_mask=mask.to(self.scorer.device), **extra).logits
                col = torch.as_tensor([positions.index(n) for n in last], device=logits.device)  # (B,)
                picked = logits[torch.arange(len(batch), device=logits.device), col].float()  # (B, V)
                rows.append(picked.topk(min(k, picked.shape[-1]), dim=-1).indices.cpu())
        return torch.cat(rows)


def check_window(max_length: int, stride: int, context_length: int) -> None:
    if max_length < 1:
        raise UsageError(f"--max-length {max_length} must be >= 1")
    if max_length > context_length:
        raise UsageError(f"--max-length {max_length} exceeds the model's context length {context_length}: lower it")
    if stride < 1:
        raise UsageError(f"--stride {stride} must be >= 1")
    if stride > max_length:
        raise UsageError(f"--stride {stride} exceeds the window length {max_length}: use a stride <= --max-length")
