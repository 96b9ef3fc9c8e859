"""Per-token values of a task run, kept from the scoring pass for ``--save-tokens``.

A task asked to (``task.save_tokens = True``) keeps, beside its per-document sums, one row
per scored token: its document, its token id, where it lies in the document's scored
text (``Document.text``), its NLL, whether it was the argmax and how many tokens it was
conditioned on. Those are the arrays the LM returned (from the work units, computed or
from the work-unit store) and the window geometry that fed them, so a rerun keeps the same
rows and no model call is made for them. The text work (token strings, spans in the
ORIGINAL document) is done when the file is written (``gpt2eval.results.tokens``)::

    stream text   [ doc 0 ............ ][ doc 1 ......... ]
    tokens         t0  t1  t2 ... tk    tk+1 ...            a token belongs to the document
    doc             0   0   0      0     1                  holding its first character;
    start, end     offsets in its document's text           its end is clipped to it
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("stream", "lambada", "cbt")


@dataclass
class TokenRows:
    """Columns of equal length N (numpy arrays or lists), named in ``gpt2eval.results.tokens``.

    ``stream`` and ``lambada``: ``doc``, ``token_id``, ``start``, ``end`` (in the document's
    scored text), ``nll`` (nats, float64), ``greedy``, ``context``; ``lambada`` adds the
    passage's target and predictions. ``cbt``: one row per candidate (see ``tasks/cbt.py``).
    """

    kind: str
    columns: dict = field(default_factory=dict)

    def __post_init__(self):
        assert self.kind in KINDS, f"unknown token rows kind {self.kind!r}"
        lengths = {name: len(col) for name, col in self.columns.items()}
        assert len(set(lengths.values())) <= 1, f"token columns differ in length: {lengths}"

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def stream_rows(doc_lengths, starts, ids, first_scored: int, owner, nll, greedy, context) -> TokenRows:
    """Rows of a stream's scored tokens ``ids[first_scored:]``.

    ``doc_lengths``: each document's text length; ``starts``: every token's first
    character in the concatenated text; ``owner``: each scored token's document;
    ``nll``, ``greedy``, ``context``: per scored token, as the LM returned them.
    """
    bounds = np.concatenate([[0], np.cumsum(np.asarray(doc_lengths, dtype=np.int64))])  # (D + 1,)
    starts = np.asarray(starts, dtype=np.int64)
    nexts = np.append(starts[1:], bounds[-1])[first_scored:]  # where each token's text ends
    owner = np.asarray(owner, dtype=np.int64)
    begin = bounds[owner]
    return TokenRows("stream", {
        "doc": owner,
        "token_id": np.asarray(ids[first_scored:], dtype=np.int64),
        "start": starts[first_scored:] - begin,
        "end": np.minimum(nexts, bounds[owner + 1]) - begin,
        "nll": np.asarray(nll, dtype=np.float64),
        "greedy": np.asarray(greedy, dtype=bool),
        "context": np.asarray(context, dtype=np.int64),
    })


def concat(parts: list[TokenRows]) -> TokenRows:
    """Rows of several calls, in order (e.g. one page at a time)."""
    assert parts and len({p.kind for p in parts}) == 1, "concat needs rows of one kind"
    names = parts[0].columns
    return TokenRows(parts[0].kind, {n: np.concatenate([np.asarray(p.columns[n]) for p in parts]) for n in names})
