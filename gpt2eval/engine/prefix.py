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
writes its keys/values into buffers with that many free columns (``_Slots``).

Branches (``Branches``, driven by ``grow``) grow from the contexts one token per step, every
branch of a batch in one forward pass per step, the output layer at the fed token only. A
step writes only the new column into the buffers (``DynamicCache`` would copy the whole
cache to append it); the mask hides each row's padding and its continuation's columns::

    buffer   [ c0 c1 c2 t0  pad | w0 w1 .. ]    the pass's columns (a row of context c and
    mask       1  1  1  0   0     1  1          continuation t0 t1), then the branch's tokens

No copy of the context's cache is made for the first round of branches (one per context,
in the pass's own buffers); a row is gathered into new buffers only when two branches that
shared it part (a later rank of the word filter, the token filter leaving the greedy word),
or when half the rows are over.
"""
from __future__ import annotations

import inspect
from typing import Generator, Sequence

import torch
from transformers.cache_utils import DynamicLayer

from gpt2eval.engine.scoring import SpanScore, _nll


# Columns a prefix pass keeps free for branches (``SharedPrefix(room=...)``). Fixed, so that the
# pass, and so every score it gives, is the same whatever search follows; a search that needs
# more room copies the buffers once.
BRANCH_ROOM = 8


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
        self.slots = _slots_cache(model, room) if room else None
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


class Branches:
    """One branch per entry of ``rows`` (a context row of ``prefix``; a row may start several),
    each fed one token per ``step`` after its context, with room for ``room`` tokens.

    Branches that have been fed the same tokens after the same context share a buffer row
    (the token filter and the greedy word agree on most steps): a row forks, gathered into
    new buffers, only when its branches are fed different tokens. When the rows are the
    prefix's own rows, in order, they grow in the pass's own buffers (cropped back to the
    pass's columns: no copy). A step writes the fed tokens' keys and values into the next
    free column; the mask hides each row's padding and continuation columns. Rows whose
    branches are all over feed a pad until they are half the rows; then the live rows are
    gathered into smaller buffers.
    """

    @torch.inference_mode()
    def __init__(self, prefix: SharedPrefix, rows: Sequence[int], room: int):
        assert prefix.supported and rows and room >= 1, "branches need a shared cache, some rows and room"
        from transformers.cache_utils import Cache

        self.prefix = prefix
        dev = prefix.device
        unique = list(dict.fromkeys(rows))  # one buffer row per context row
        own = prefix.slots is not None and unique == list(range(len(prefix.lengths)))
        if own and all(layer.room_after(prefix.T) >= room for layer in prefix.slots.layers):
            self.cache = prefix.slots  # the pass's own buffers: earlier branches' columns are written over
            for layer in self.cache.layers:
                layer.crop_to(prefix.T)
        else:
            index = torch.as_tensor(unique, device=dev)
            self.cache = Cache(layers=[_Slots.rows_of(k, v, index, prefix.T, room) for k, v in _buffers(prefix)])
        n = torch.as_tensor([prefix.lengths[r] for r in unique])  # (U,) each row's context length
        self.mask = torch.zeros((len(unique), prefix.T + room), dtype=torch.long, device=dev)  # (U, T + room)
        self.mask[:, : prefix.T] = (torch.arange(prefix.T)[None, :] < n[:, None]).long()
        self.position = n.to(dev)  # (U,) where each row's next token goes
        self.used = prefix.T  # cache columns written so far
        at = {r: j for j, r in enumerate(unique)}
        self.row = {b: at[r] for b, r in enumerate(rows)}  # live branch -> its buffer row

    @torch.inference_mode()
    def step(self, tokens: dict[int, int]) -> torch.Tensor:
        """Feed ``tokens[branch]`` to each branch named; every other branch is over for good.
        Returns the next-token logits after each fed token, in ``tokens``' order: (len(tokens), V)."""
        fed = list(dict.fromkeys((self.row[b], t) for b, t in tokens.items()))  # (buffer row, token), each once
        rows = [r for r, _ in fed]
        if len(set(rows)) < len(rows) or 2 * len(rows) <= self.mask.shape[0]:  # a row forks, or half are over
            self._take(rows)
            slot = {key: j for j, key in enumerate(fed)}
        else:
            slot = {key: key[0] for key in fed}
        ids = torch.full((self.mask.shape[0], 1), self.prefix.pad_id, dtype=torch.long)  # (R, 1); rows that are over feed a pad
        live = torch.as_tensor([slot[key] for key in fed])
        ids[live, 0] = torch.as_tensor([t for _, t in fed], dtype=torch.long)
        self.mask[live.to(self.mask.device), self.used] = 1
        self.used += 1
        self.prefix.forward_tokens += ids.numel()
        logits = self.prefix.model(
            input_ids=ids.to(self.mask.device), attention_mask=self.mask[:, : self.used],
            position_ids=self.position[:, None], use_cache=False, **{self.prefix._arg: self.cache},
        ).logits[:, -1]  # (R, V)
        self.position += 1
        self.row = {b: slot[self.row[b], t] for b, t in tokens.items()}
        return logits.index_select(0, torch.as_tensor([self.row[b] for b in tokens], device=logits.device))

    def _take(self, rows: list[int]) -> None:
        """New buffers holding ``rows`` of the current ones, in that order (a row may repeat)."""
        from transformers.cache_utils import Cache

        index = torch.as_tensor(rows, device=self.mask.device)
        # Never the old buffers cut down in place: those may be the prefix's, for later branches.
        self.cache = Cache(layers=[_Slots.rows_of(layer.buffer_keys, layer.buffer_values, index, self.used, 0)
                                   for layer in self.cache.layers])
        self.mask, self.position = self.mask.index_select(0, index), self.position.index_select(0, index)


# A branch: a generator that yields the token to feed next and is sent, for each, the ids of
# the most probable next tokens (most probable first); it returns its tokens when it is over.
Branch = Generator[int, list, list]


@torch.inference_mode()  # the cache's tensors are inference tensors: outside the mode, gathering them is slow
def grow(prefix: SharedPrefix, rows: Sequence[int], branches: Sequence[Branch], room: int, k: int = 1) -> list[list]:
    """Run ``branches[i]`` from context row ``rows[i]`` until every one is over, all of them in
    one forward pass per step; each is sent its top-``k`` next tokens. Returns what each returned."""
    out: list = [None] * len(branches)
    feed = {}
    for i, branch in enumerate(branches):
        try:
            feed[i] = next(branch)
        except StopIteration as done:
            out[i] = done.value
    grown = Branches(prefix, rows, room) if feed else None
    for _ in range(room):
        if not feed:
            break
        top = grown.step(feed).topk(k, dim=-1).indices.tolist()  # (F, k)
        nxt = {}
        for (i, _), ids in zip(feed.items(), top):
            try:
                nxt[i] = branches[i].send(ids)
            except StopIteration as done:
                out[i] = done.value
        feed = nxt
    assert not feed, f"{len(feed)} branches want more than {room} tokens"
    return out


def _slots_cache(model, room: int):
    """An empty cache of ``_Slots`` layers for ``model``, or None when the model's own cache is
    anything but full-attention ``DynamicLayer`` layers (sliding windows, linear attention)."""
    from transformers.cache_utils import Cache, DynamicCache

    try:
        layers = DynamicCache(config=model.config).layers
    except Exception:  # noqa: BLE001 - a config the cache classes cannot read: not shared
        return None
    if not layers or not all(type(layer) is DynamicLayer for layer in layers):
        return None
    return Cache(layers=[_Slots(room) for _ in layers])


def _buffers(prefix: SharedPrefix) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Each layer's whole (B, H, C, D) keys and values, contiguous (so gathering rows is fast)."""
    if prefix.slots is not None:
        return [(layer.buffer_keys, layer.buffer_values) for layer in prefix.slots.layers]
    return [(k.contiguous(), v.contiguous()) for k, v in prefix.kv]


class _Slots(DynamicLayer):
    """A layer's keys/values in a buffer with ``room`` columns beyond what its first update
    writes: later updates write their columns in place (``DynamicLayer`` concatenates: a copy
    of the whole layer per step)."""

    def __init__(self, room: int):
        super().__init__()
        self.room = room

    @classmethod
    def rows_of(cls, keys: torch.Tensor, values: torch.Tensor, index: torch.Tensor, used: int, room: int) -> _Slots:
        """Rows ``index`` of whole contiguous buffers, their first ``used`` columns in use."""
        layer = cls(room)
        layer.buffer_keys, layer.buffer_values = keys.index_select(0, index), values.index_select(0, index)  # (R, H, C, D)
        if layer.room_after(used) < room:
            pad = (0, 0, 0, used + room - keys.shape[-2])
            layer.buffer_keys = torch.nn.functional.pad(layer.buffer_keys, pad)
            layer.buffer_values = torch.nn.functional.pad(layer.buffer_values, pad)
        layer.device, layer.is_initialized = keys.device, True
        layer.crop_to(used)
        return layer

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        R, H, T, D = key_states.shape
        self.buffer_keys = key_states.new_empty((R, H, T + self.room, D))
        self.buffer_values = value_states.new_empty((R, H, T + self.room, value_states.shape[-1]))
        self.device, self.is_initialized = key_states.device, True
        self.crop_to(0)

    def room_after(self, n: int) -> int:
        return self.buffer_keys.shape[-2] - n

    def crop_to(self, n: int) -> None:
        """Use the first ``n`` columns (the rest are written over by the next updates)."""
        self.keys, self.values = self.buffer_keys[:, :, :n], self.buffer_values[:, :, :n]  # views, no copy

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        n, m = self.keys.shape[-2], key_states.shape[-2]
        assert m <= self.room_after(n), "a branch grew past its room"
        self.buffer_keys[:, :, n : n + m], self.buffer_values[:, :, n : n + m] = key_states, value_states
        self.crop_to(n + m)
        return self.keys, self.values


def _right_padded(seqs: Sequence[Sequence[int]], T: int, pad_id: int) -> torch.Tensor:
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)  # (B, T)
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return ids
