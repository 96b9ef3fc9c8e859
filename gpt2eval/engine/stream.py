"""Stream tasks: documents concatenated into one text, scored by rolling windows.

Perplexity is per ORIGINAL unit: ``exp(sum nll_nats / sum n_units)``, the unit counted on
the tokenized corpus before detokenization, so that a detokenizer or a tokenizer with
fewer tokens cannot make a number look better by changing the denominator.
"""
from __future__ import annotations

import math

from gpt2eval.engine.lm import LM
from gpt2eval.engine.task import Document, Task


class StreamTask(Task):
    metric = "word_perplexity"
    unit = "word"
    scores_stream = True

    def evaluate(self, docs: list[Document], lm: LM) -> list[dict]:
        import numpy as np  # not at import time: `gpt2eval tasks` stays fast

        ids, starts = self.encode_stream(docs, lm)
        scores = lm.score_stream(ids)
        # A token belongs to the document holding its first character.
        doc_ends = np.cumsum([len(d.text) for d in docs])
        owner = np.searchsorted(doc_ends, np.asarray(starts, dtype=np.int64), side="right")
        owner = np.minimum(owner, len(docs) - 1)[lm.first_scored :]
        assert len(owner) == len(scores.nll), f"{len(scores.nll)} scores for {len(owner)} tokens"
        nll = np.bincount(owner, weights=scores.nll, minlength=len(docs))
        n_tokens = np.bincount(owner, minlength=len(docs))
        n_greedy = np.bincount(owner, weights=scores.greedy.astype(np.float64), minlength=len(docs))
        if self.save_tokens:
            from gpt2eval.engine.tokens import stream_rows

            self.token_rows = stream_rows([len(d.text) for d in docs], starts, ids, lm.first_scored, owner,
                                          scores.nll, scores.greedy, lm.stream_contexts(len(ids)))
        return [
            {
                "nll_nats": float(nll[i]),
                "n_units": d.n_units,
                "n_tokens": int(n_tokens[i]),
                "n_greedy": int(n_greedy[i]),
                "n_bytes": len(d.text.encode("utf-8")),
            }
            for i, d in enumerate(docs)
        ]

    def encode_stream(self, docs: list[Document], lm: LM) -> tuple[list[int], list[int]]:
        """Token ids of the documents concatenated, and each token's start in that text."""
        return lm.encode_with_offsets("".join(d.text for d in docs))

    def metrics(self, totals: dict) -> dict:
        nll, unit = totals["nll_nats"], self.unit
        out = {
            f"{unit}_perplexity": _exp(nll / totals["n_units"]) if totals["n_units"] else math.nan,
            f"bits_per_{unit}": nll / (math.log(2) * totals["n_units"]) if totals["n_units"] else math.nan,
            "token_perplexity": _exp(nll / totals["n_tokens"]) if totals["n_tokens"] else math.nan,
            "token_accuracy": totals["n_greedy"] / totals["n_tokens"] if totals["n_tokens"] else math.nan,
        }
        if unit != "byte":
            out["bits_per_byte"] = nll / (math.log(2) * totals["n_bytes"]) if totals["n_bytes"] else math.nan
        return out


def _exp(x: float) -> float:
    return math.exp(x) if x < 700 else math.inf
