"""Work units: every model request of a task, cut into ordered units that are stored and shared.

``Runner.map(kind, items, compute, params)`` is the one road from a request method of
``LM`` to the model. ``items`` are JSON-able requests (a span ``[input_ids, target_ids]``,
a context for a top-k step, ...); ``compute(unit_items)`` returns one record
``{field: np.ndarray}`` per item; ``map`` returns the records of all items, in order::

    items    i0 i1 i2 i3 i4 i5 i6 i7 i8 i9        (in the caller's order)
    units    [ u0    ][ u1       ][ u2    ][u3]    consecutive; a unit closes at a multiple
                                                   of the batch size once it holds
                                                   ``unit_tokens`` input tokens
    ranks    u0,u2 -> rank 0   u1,u3 -> rank 1     round r: rank k computes missing unit
                                                   r * W + k; all-gathered after each round

The cut depends on the items, the batch size and ``unit_tokens`` only, never on the
number of processes or on what the store holds, and a unit's records depend on its items
alone, so a run is bit-identical whatever the world size and however often it was killed
and resumed: each unit is computed the same way by whoever computes it, and every rank
reassembles the records in item order, so a task's sums are added in one fixed order.

A unit's store key is a sha256 of (model fingerprint: hub name + revision + resolved
commit, or the local weight files' sha256; dtype; device type; library versions), the
request ``kind``, its ``params`` (batch size, k...) and the unit's items themselves. The
key is content-addressed: the items are the token ids the model sees, so the window
config (length, stride, the EOS prefix), the task protocol (detokenizer, formats, stop-word
search) and the data (every byte of it) are all covered without naming them; a change in
any of them changes the items and so the key. Units are committed one transaction each
(``store.WorkUnitStore``), so SIGKILL loses at most the units in flight.

New request methods (a KV-cached word search, a shared CBT prefix...) go through the same
``map``: pick a new ``kind``, make each item the JSON-able request that fully determines
its answer, put anything else that changes numbers into ``params``, and return one record
of arrays per item.
"""
from __future__ import annotations

import hashlib
import json
import sys
from typing import Callable, Sequence

from gpt2eval.engine.distributed import Dist

UNIT_TOKENS = 8192  # input tokens per unit: ~a batch of 1024-token windows; what a kill can lose
FORMAT = 1  # bump when the meaning of stored records changes


# What the progress bar calls each request kind: "ptb scoring: 4,000/10,000 tokens ...".
PHASES = {"spans": "scoring", "shared": "scoring", "search": "scoring", "topk": "next-word search",
          "logits": "next-token logits"}


class Runner:
    def __init__(self, fingerprint: dict | None = None, store=None, dist: Dist | None = None, progress=None, unit_tokens: int = UNIT_TOKENS, label: str = "?"):
        assert unit_tokens >= 1, f"unit_tokens must be >= 1, got {unit_tokens}"
        assert store is None or fingerprint is not None, "a work-unit store needs a model fingerprint for its keys"
        self.fingerprint = fingerprint
        self.store = store  # a store.WorkUnitStore, or None: compute everything, keep nothing
        self.dist = dist or Dist()
        self.progress = progress if self.dist.is_main else None
        self.unit_tokens = unit_tokens
        self.label = label  # the model as given, for `gpt2eval cache info`
        self.stats = {"units": 0, "cached": 0}

    def map(
        self,
        kind: str,
        items: Sequence,
        compute: Callable[[list], list[dict]],
        params: dict | None = None,
        cost: Callable = len,
        weight: Callable | None = None,
        multiple: int = 1,
    ) -> list[dict]:
        """``compute`` over ``items``, unit by unit: from the store, this rank, or another rank.

        ``cost(item)`` is its size in input tokens (the unit cut); ``weight(item)`` what the
        progress bar counts (None: no bar); ``multiple`` the batch size a unit is rounded to.
        """
        units = cut(list(map(cost, items)), self.unit_tokens, multiple)
        keys = self._keys(kind, params, items, units)
        cached = self.dist.broadcast(self._cached(keys))  # {unit index: records}
        missing = [u for u in range(len(units)) if u not in cached]
        self.stats["units"] += len(units)
        self.stats["cached"] += len(cached)
        records: list = [None] * len(units)
        for u, recs in cached.items():
            records[u] = recs
        W, bar = self.dist.world_size, self.progress if weight else None
        if bar and cached:
            self._note_cached(kind, items, units, missing, weight)
        if bar and missing:
            bar.start(sum(weight(items[i]) for u in missing for i in range(*units[u])), PHASES.get(kind, kind))
        try:
            for r in range(0, len(missing), W):
                mine = missing[r + self.dist.rank] if r + self.dist.rank < len(missing) else None
                done = (mine, None if mine is None else compute(list(items[slice(*units[mine])])))
                for u, recs in self.dist.all_gather(done):
                    if u is None:
                        continue
                    assert len(recs) == units[u][1] - units[u][0], f"{kind}: {len(recs)} records for unit {u}"
                    records[u] = recs
                    if keys is not None:
                        self.store.put(keys[u], kind, self.label, recs)
                    if bar:
                        bar(sum(weight(items[i]) for i in range(*units[u])))
        finally:
            if bar and missing:
                bar.close()
        return [rec for recs in records for rec in recs]

    def _note_cached(self, kind, items, units, missing, weight) -> None:
        """A resumed run says what the cache holds before it scores the rest (the bar counts the rest)."""
        size = [sum(weight(items[i]) for i in range(*unit)) for unit in units]
        left = sum(size[u] for u in missing)
        rest = f"{left:,} tokens left to score" if missing else "nothing left to score"
        self.progress.note(f"{self.progress.label} {PHASES.get(kind, kind)}: {len(units) - len(missing):,} of {len(units):,} "
                           f"work units from the cache ({sum(size) - left:,} of {sum(size):,} tokens); {rest}".strip())

    def _keys(self, kind, params, items, units) -> list[str] | None:
        if self.store is None or not self.dist.is_main:
            return None
        head = json.dumps({"format": FORMAT, "model": self.fingerprint, "kind": kind, "params": params or {}}, sort_keys=True)
        keys = []
        for lo, hi in units:
            h = hashlib.sha256(head.encode())
            h.update(json.dumps(list(items[lo:hi]), default=int).encode())
            keys.append(h.hexdigest())
        return keys

    def _cached(self, keys) -> dict[int, list[dict]]:
        if keys is None:
            return {}
        found = self.store.get_many(keys)
        return {u: found[k] for u, k in enumerate(keys) if k in found}

    def report(self, label: str) -> dict:
        """Counts of the units since the last report; one stderr line on rank 0 when caching."""
        stats, self.stats = self.stats, {"units": 0, "cached": 0}
        if self.store is not None and self.dist.is_main:
            print(f"{label}: {stats['units']:,} work units, {stats['cached']:,} from the cache {self.store.path}", file=sys.stderr)
        return stats


def cut(costs: Sequence[int], budget: int, multiple: int = 1) -> list[tuple[int, int]]:
    """Consecutive ``(lo, hi)`` units: each closes at a multiple of ``multiple`` items once
    its costs reach ``budget`` (the last one takes what is left)."""
    units, lo, total = [], 0, 0
    for i, c in enumerate(costs):
        total += c
        if total >= budget and (i + 1 - lo) % multiple == 0:
            units.append((lo, i + 1))
            lo, total = i + 1, 0
    if lo < len(costs):
        units.append((lo, len(costs)))
    return units
