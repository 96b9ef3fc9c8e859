"""95% confidence intervals by a bootstrap over documents, from the stored per-document sums.

A result keeps one row of sums per document (LAMBADA passage, CBT question, WikiText
article, PTB / 1BW sentence, enwik8 / text8 chunk). One resample draws ``n_docs``
document indices with replacement; as counts that is one row of ``counts``::

    counts  (B, n_docs)   how often each document was drawn, each row sums to n_docs
    sums    (n_docs, k)   the per-document columns (nll_nats, n_units, n_correct, ...)
    totals  = counts @ sums  -> (B, k), one row of column totals per resample

and each row goes through the task's own ``metrics(totals)``, so every metric (a
perplexity, an accuracy, bits per byte) is a ratio of resampled sums, never a mean of
per-document ratios. The interval is the 2.5 and 97.5 percentiles of the B values, taken
as order statistics (``inverted_cdf``) so an overflowing ``inf`` resample stays ``inf``
instead of turning the bound into nan. A metric whose point value is not finite, or
that some resample cannot compute (nan, e.g. a zero denominator), gets ``None``; so does
every metric of a one-document result (task ``text``): one document cannot be resampled.
The seed is fixed, so the same sums always give the same interval.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

RESAMPLES = 1000
SEED = 1234
LEVEL = 0.95
_MAX_CELLS = 10_000_000  # counts entries per block: caps memory for very many documents


def bootstrap_ci(
    metrics: Callable[[dict], dict], per_document: dict, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> dict | None:
    """``{metric: [lo, hi] or None}``, or None when there are fewer than 2 documents."""
    if len(per_document["id"]) < 2:
        return None
    columns = [k for k in per_document if k != "id"]
    sums = np.array([per_document[k] for k in columns], dtype=np.float64).T  # (n_docs, k)
    point = metrics(dict(zip(columns, sums.sum(axis=0).tolist())))
    totals = resampled_totals(sums, resamples, seed)  # (B, k)
    values = [metrics(dict(zip(columns, row))) for row in totals.tolist()]
    alpha = (1 - level) / 2
    out = {}
    for name, value in point.items():
        draws = np.array([v[name] for v in values], dtype=np.float64)  # (B,)
        if not math.isfinite(value) or np.isnan(draws).any():
            out[name] = None
            continue
        lo, hi = np.quantile(draws, [alpha, 1 - alpha], method="inverted_cdf")
        out[name] = [float(lo), float(hi)]
    return out


def resampled_totals(sums: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Column totals of ``resamples`` bootstrap resamples of the rows of ``sums`` (n_docs, k)."""
    n_docs = sums.shape[0]
    rng = np.random.default_rng(seed)
    block = max(1, _MAX_CELLS // n_docs)
    out = []
    for start in range(0, resamples, block):
        b = min(block, resamples - start)
        drawn = rng.integers(0, n_docs, size=(b, n_docs))  # (b, n_docs) document indices
        flat = drawn + n_docs * np.arange(b)[:, None]  # one index range per resample
        counts = np.bincount(flat.ravel(), minlength=b * n_docs).reshape(b, n_docs)  # (b, n_docs)
        out.append(counts.astype(np.float64) @ sums)  # (b, k)
    return np.concatenate(out)


def uncertainty(metrics: Callable[[dict], dict], per_document: dict, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """The ``ci95`` and ``bootstrap`` entries of a result file."""
    ci = bootstrap_ci(metrics, per_document, resamples, seed)
    meta = {"resamples": resamples, "seed": seed, "unit": "document", "level": LEVEL, "method": "percentile"}
    return {"ci95": ci, "bootstrap": meta if ci is not None else None}


def task_for_result(result: dict):
    """The registered task, rebuilt from the result's own data config (as the run built it).

    Task constructors only check options and never read data, so the stored config
    rebuilds the same metric definitions (e.g. task ``text`` takes what its perplexity is
    per from ``--text-denominator``) even where the data paths no longer exist. Options
    this version of gpt2eval does not know are dropped.
    """
    from gpt2eval.config import DataConfig
    from gpt2eval.registry import get_task_class

    cls = get_task_class(result["task"])
    names = {name for opt in cls.options for name in (opt.name, *opt.old_names)}
    return cls(DataConfig.from_record(result["config"]["data"], names))


def ci_from_result(result: dict, resamples: int = RESAMPLES, seed: int = SEED) -> dict | None:
    """The intervals of a result file, recomputed from its ``per_document`` sums alone.

    The task's metrics on the stored totals must give the stored metrics back: otherwise
    the installed task defines them differently and the intervals would not match them.
    """
    from gpt2eval.errors import UsageError

    task = task_for_result(result)
    again = task.metrics(result["totals"])
    for name, value in result["metrics"].items():
        if name in again and not _same(again[name], value):
            raise UsageError(
                f"task {result['task']}: {name} recomputed from the stored totals is {again[name]!r}, "
                f"the file says {value!r}: the installed task defines it differently, rerun the task"
            )
    return bootstrap_ci(task.metrics, result["per_document"], resamples, seed)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
