"""Branches grown from a shared prefix (``gpt2eval.engine.prefix``), one token per step.

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

from typing import Generator, Sequence

import torch
from transformers.cache_utils import DynamicLayer

# Columns a prefix pass keeps free for branches (``SharedPrefix(room=...)``). Fixed, so that the
# pass, and so every score it gives, is the same whatever search follows; a search that needs
# more room copies the buffers once.
BRANCH_ROOM = 8


class Branches:
    """One branch per entry of ``rows`` (a context row of ``prefix``, a ``prefix.SharedPrefix``
    built with room; a row may start several),
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
    def __init__(self, prefix, rows: Sequence[int], room: int):
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
def grow(prefix, rows: Sequence[int], branches: Sequence[Branch], room: int, k: int = 1) -> list[list]:
    """Run ``branches[i]`` from context row ``rows[i]`` until every one is over, all of them in
    one forward pass per step; each is sent its top-``k`` next tokens. Returns what each returned."""
    grown = None

    def step(feed: dict[int, int]) -> list[list[int]]:
        nonlocal grown
        grown = grown or Branches(prefix, rows, room)  # no buffers when every branch is over at once
        return grown.step(feed).topk(k, dim=-1).indices.tolist()  # (F, k)

    return drive(branches, step, room)


def drive(branches: Sequence[Branch], step, limit: int) -> list:
    """Run every branch until it is over: ``step({i: token fed to branch i})`` returns, for each
    fed branch in that order, the candidates sent back to it. Returns what each branch returned."""
    out: list = [None] * len(branches)
    feed = {}
    for i, branch in enumerate(branches):
        try:
            feed[i] = next(branch)
        except StopIteration as done:
            out[i] = done.value
    for _ in range(limit):
        if not feed:
            break
        nxt = {}
        for (i, _), candidates in zip(feed.items(), step(feed)):
            try:
                nxt[i] = branches[i].send(candidates)
            except StopIteration as done:
                out[i] = done.value
        feed = nxt
    assert not feed, f"{len(feed)} branches want more than {limit} tokens"
    return out


def slots_cache(model, room: int):
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


def _buffers(prefix) -> list[tuple[torch.Tensor, torch.Tensor]]:
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
