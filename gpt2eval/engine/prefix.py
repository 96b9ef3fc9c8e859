"""Shared prefixes: run each context once, then score or extend its continuations from the
context's KV cache (``past_key_values``).

CBT's 10 candidates share a ~450-token context (20 sentences + the query up to the blank);
LAMBADA's stop-word search grows a few short branches after each context. Scored as
independent rows, each continuation would rerun the whole context::

    prefix pass   INPUT:  c0  c1  c2  c3            (B, T) contexts, right-padded
                  PRED:    .   .   .  x0            x0 from the context's last position
    suffix pass   INPUT:  x0  x1  x2                (R, M) continuations, right-padded, each
                  PRED:   x1  x2  x3                attending to its context row's cache

A suffix row gets a copy of its context row's keys/values, an attention mask that hides
that row's padding, and position ids that continue from the context's length: it computes
what the unshared row ``c0 c1 c2 c3 x0 x1 x2`` computes, up to float rounding (different
kernels sum in a different order). Continuation ``x0 .. x(m-1)`` feeds ``m - 1`` suffix
tokens, so a question with a context of n tokens and 10 continuations of m tokens costs
``n + 10 (m - 1)`` forward tokens instead of ``10 (n + m - 1)``.

Only full-attention ``DynamicCache`` layers are copied; ``supports_cache`` says when a
model's cache is something else (sliding windows, offloading), and callers then score the
rows unshared. Nothing here depends on which other contexts share a batch beyond rounding.

The prefix pass can score continuations too (``continuations=``): each row is then
``context + continuation[:-1]``, run as the scorer runs a span (right-padded, no mask), and
LAMBADA's target is scored by this pass whatever search follows it. With ``room`` the pass
writes its keys/values into buffers with that many free columns, from which branches grow
one token per step (``gpt2eval.engine.branches``).
"""
from __future__ import annotations

import inspect
from typing import Sequence

import torch

from gpt2eval.engine.branches import slots_cache
from gpt2eval.engine.scoring import SpanScore, _nll


def _cache_arg(model) -> str:
    """The forward argument that takes a KV cache: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _layers(cache) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """Per-layer (keys, values), each (B, H, T, D), or None for a cache we do not copy."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    if type(cache) is not DynamicCache or not all(type(layer) is DynamicLayer for layer in cache.layers):
        return None
    return [(layer.keys, layer.values) for layer in cache.layers]


class SharedPrefix:
    """Contexts run once as a right-padded (B, T) batch, their KV cache kept; continuations
    extend any row. (The model's KV cache, in memory for one batch: not the work-unit
    store on disk, ``store.WorkUnitStore``.)"""

    def __init__(self, model, contexts: Sequence[Sequence[int]], pad_id: int,
                 continuations: Sequence[Sequence[int]] | None = None, room: int = 0):
        assert all(len(c) >= 1 for c in contexts), "empty context: prefix it with <|endoftext|>"
        assert continuations is None or all(continuations), "empty continuation"
        self.model = model
        self.device = next(model.parameters()).device
        self.lengths = [len(c) for c in contexts]
        conts = [[]] * len(contexts) if continuations is None else [list(x) for x in continuations]
        rows = [list(c) + x[:-1] for c, x in zip(contexts, conts)]  # a continuation's last token is never fed
        self.T = max(len(r) for r in rows)
        self.pad_id = pad_id
        self._arg = _cache_arg(model)
        ids = _right_padded(rows, self.T, pad_id)
        self.forward_tokens = ids.numel()  # input positions run, padding included
        # Logits at each context's end and at its continuation's positions, contiguous per row.
        wanted = sorted({p for n, x in zip(self.lengths, conts) for p in range(n - 1, n - 1 + max(1, len(x)))})
        extra = {}
        self._keep = "logits_to_keep" in inspect.signature(model.forward).parameters
        if self._keep and len(wanted) < self.T:
            extra["logits_to_keep"] = torch.as_tensor(wanted, device=self.device)  # output layer there only
        else:
            wanted = list(range(self.T))
        # With room for branches, the pass writes its keys/values into buffers they can grow in.
        self.slots = slots_cache(model, room) if room else None
        if self.slots is not None:
            extra[self._arg] = self.slots
        with torch.inference_mode():
            out = self.model(input_ids=ids.to(self.device), use_cache=True, **extra)
        if self.slots is not None:
            self.kv = [(layer.keys, layer.values) for layer in self.slots.layers]
        else:
            self.kv = _layers(out["cache"] if "cache" in out else out["past_key_values"])
        column = {p: j for j, p in enumerate(wanted)}
        at = torch.as_tensor([column[n - 1] for n in self.lengths], device=self.device)
        self.last_logits = out.logits[torch.arange(len(contexts), device=self.device), at].float()  # (B, V)
        # log p(continuation | context) per row, from the same pass: (m, V) logits per row.
        self.scores = None if continuations is None else [
            _nll(out.logits[b, column[n - 1] : column[n - 1] + len(x)], torch.as_tensor(x, device=self.device))
            for b, (n, x) in enumerate(zip(self.lengths, conts))
        ]

    @property
    def supported(self) -> bool:
        return self.kv is not None

    @torch.inference_mode()
    def first_tokens(self, rows: Sequence[int], k: int) -> torch.Tensor:
        """The top-``k`` next tokens after contexts ``rows``, most probable first: (N, k) on the CPU."""
        return self.last_logits[list(rows)].topk(k, dim=-1).indices.cpu()

    @torch.inference_mode()  # the cache's tensors are inference tensors: outside the mode, gathering them is slow
    def extend(self, rows: Sequence[int], suffixes: Sequence[Sequence[int]]) -> torch.Tensor:
        """Logits after every suffix token, ``suffixes[i]`` continuing context ``rows[i]``: (R, M, V)."""
        assert self.supported and len(rows) == len(suffixes) and all(suffixes), "non-empty suffixes of known rows"
        from transformers.cache_utils import DynamicCache

        M = max(len(s) for s in suffixes)
        index = torch.as_tensor(rows, device=self.device)
        cache = DynamicCache([(k.index_select(0, index), v.index_select(0, index)) for k, v in self.kv])
        n = torch.as_tensor([self.lengths[r] for r in rows])  # (R,) each row's context length
        # Keys are the T cached positions then the M new ones; a row sees its own context only.
        mask = torch.ones((len(rows), self.T + M), dtype=torch.long)
        mask[:, : self.T] = (torch.arange(self.T)[None, :] < n[:, None]).long()
        positions = n[:, None] + torch.arange(M)[None, :]  # (R, M) continue the context's positions
        ids = _right_padded(suffixes, M, self.pad_id)
        self.forward_tokens += ids.numel()
        return self.model(
            input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device), use_cache=False, **{self._arg: cache},
        ).logits  # (R, M, V)


def score_from_prefix(prefix: SharedPrefix, rows: Sequence[int], conts: Sequence[Sequence[int]]) -> list[SpanScore]:
    """log p(cont | context ``row``) per pair: the first token from the prefix pass, the rest
    from one suffix pass over ``cont[:-1]``."""
    assert all(conts), "empty continuation"
    longer = [i for i, c in enumerate(conts) if len(c) > 1]
    logits = prefix.extend([rows[i] for i in longer], [conts[i][:-1] for i in longer]) if longer else None
    suffix_row = {i: j for j, i in enumerate(longer)}
    out = []
    for i, (row, cont) in enumerate(zip(rows, conts)):
        steps = [prefix.last_logits[row : row + 1]]  # (1, V)
        if i in suffix_row:
            steps.append(logits[suffix_row[i], : len(cont) - 1])  # (m - 1, V)
        out.append(_nll(torch.cat([s.float() for s in steps]), torch.as_tensor(cont, device=prefix.device)))
    return out


def _right_padded(seqs: Sequence[Sequence[int]], T: int, pad_id: int) -> torch.Tensor:
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)  # (B, T)
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return ids
