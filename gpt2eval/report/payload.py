"""What the HTML report embeds of one result: its per-document sums and its token rows.

Token rows come from ``<result>.tokens.parquet`` (``run --save-tokens``) and travel as
compact typed arrays, base64 in the page, decoded only when their task is opened::

    doc_start  int32 (D + 1,)  rows of document d: doc_start[d] .. doc_start[d + 1]
    nll        float32 (N,)    nats, for shading (the exact sums are the result's)
    tok        uint (N,)       index into ``vocab``, the distinct token texts
    start, len uint (N,)       span in the original document (``originals[d]``)
    ctx        uint (N,)       tokens of context
    (uint: the narrowest of uint8/16/32 that holds the values, named beside them)
    greedy     uint8 (N,)      1 where the token was the argmax

A tokens file that does not add up to its result (left beside a newer run) is not used,
and the page says why. Documents past ``max_rows`` rows are listed but not embedded.
"""
from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np

from gpt2eval.results.tokens import mismatch, read_tokens, tokens_path

MAX_ROWS = 1_000_000  # token rows embedded per run: WikiText-103 (~280k) whole, enwik8 in part


def b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def packed(array: np.ndarray) -> dict:
    """A non-negative int array in the narrowest of uint8/16/32 that holds it: {t, b64}."""
    top = int(array.max()) if len(array) else 0
    dtype = "<u1" if top < 2**8 else "<u2" if top < 2**16 else "<u4"
    return {"t": dtype[1:], "b64": b64(array, dtype)}


def run_payload(path: Path, result: dict, label: str, max_rows: int = MAX_ROWS) -> dict:
    """One run of one task, as the page's script reads it."""
    from gpt2eval.report.table import protocol_differences

    per = result.get("per_document") or {}
    headline = result["headline"]
    out = {
        "label": label, "path": str(path), "task": result["task"], "model": result["model"]["name"],
        "headline": headline, "value": _num(result["metrics"].get(headline)), "metrics": _nums(result["metrics"]),
        "ci": (result.get("ci95") or {}).get(headline), "setup": setup(result), "differs": "; ".join(protocol_differences(result)),
        "docs": {"id": per.get("id", []), "nll": per.get("nll_nats"), "units": per.get("n_units", per.get("n_words")),
                 "tokens": per.get("n_tokens"), "correct": per.get("n_correct")},
        "tok": None, "note": None,
    }
    file = tokens_path(path)
    if not file.exists():
        out["note"] = f"no {file.name} beside {Path(path).name}: rerun with --save-tokens for the token views"
        return out
    table, meta = read_tokens(file)
    why = mismatch(table, meta, result)
    if why:
        out["note"] = f"{file.name} is not used: {why} (left from another run? rerun with --save-tokens)"
        return out
    out["kind"] = meta["kind"]
    out["tok"] = cbt_rows(table) if meta["kind"] == "cbt" else token_rows(table, meta, len(out["docs"]["id"]), max_rows)
    if out["tok"].get("truncated"):
        out["note"] = (f"token views hold the first {out['tok']['ndocs']:,} of {len(out['docs']['id']):,} documents "
                       f"({max_rows:,} rows; --max-tokens embeds more)")
    return out


def setup(result: dict) -> dict:
    """The protocol choices a reader compares between two runs."""
    window, data, protocol = result["config"]["window"], result["config"]["data"], result["config"].get("protocol", {})
    out = {"model": result["model"]["name"], "preset": data.get("preset") or "paper", "detokenizer": protocol.get("detokenizer"),
           "window": window.get("max_length"), "stride": window.get("stride"), "eos_prefix": window.get("eos_prefix"),
           "dtype": result["model"].get("dtype"), "limit": data.get("limit")}
    out.update((k, v) for k, v in protocol.items() if k != "detokenizer" and isinstance(v, (str, int, float, bool)))
    return out


def token_rows(table, meta: dict, n_docs: int, max_rows: int) -> dict:
    """Stream and LAMBADA rows as typed arrays (module docstring), documents in order."""
    doc = table.column("doc").to_numpy().astype(np.int64)
    assert np.all(np.diff(doc) >= 0), "token rows must come document by document"
    counts = np.bincount(doc, minlength=n_docs)
    cum = np.cumsum(counts)
    kept = max(1, int(np.searchsorted(cum, max_rows, side="right"))) if cum[-1] > max_rows else n_docs
    n = int(cum[kept - 1])
    texts = table.column("token").slice(0, n).combine_chunks().dictionary_encode()
    start, end = (table.column(c).to_numpy()[:n] for c in ("start", "end"))
    out = {
        "n": n, "ndocs": kept, "truncated": kept < n_docs, "doc_start": b64(np.r_[0, cum[:kept]], "<i4"),
        "nll": b64(table.column("nll").to_numpy()[:n], "<f4"), "tok": packed(texts.indices.to_numpy(zero_copy_only=False)),
        "vocab": texts.dictionary.to_pylist(), "start": packed(start), "len": packed(end - start),
        "ctx": packed(table.column("context").to_numpy()[:n]), "greedy": b64(table.column("greedy").to_numpy(zero_copy_only=False)[:n], "u1"),
    }
    bounds = np.r_[0, cum[:kept]]
    if meta["kind"] == "lambada":
        firsts = bounds[:-1][counts[:kept] > 0]
        pick = lambda name: [table.column(name)[int(i)].as_py() for i in firsts]  # noqa: E731 (one value per passage)
        out["originals"] = pick("document")
        out["passage"] = {name: pick(name) for name in ("target", "predicted", "greedy_word", "correct", "correct_stopword")}
    else:
        pieces = table.column("original").slice(0, n).to_pylist()
        out["originals"] = [original_text(start[lo:hi], end[lo:hi], pieces[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return out


def original_text(starts, ends, pieces) -> str:
    """A document's original text from its rows' spans and pieces (they tile it); a part no
    scored token covers (the first token under --no-eos-prefix) is left as spaces."""
    parts, at = [], 0
    for s, e, piece in zip(starts.tolist(), ends.tolist(), pieces):
        if s > at:
            parts.append(" " * (s - at))
            at = s
        if e > at:
            parts.append(piece[at - s :])
            at = e
    return "".join(parts)


def cbt_rows(table) -> dict:
    """CBT: per question the candidates, their summed NLL, the answer and the model's choice."""
    cols = table.select(["doc", "candidate", "nll", "n_tokens", "answer", "chosen", "document", "start"]).to_pydict()
    out: dict = {"questions": [], "ndocs": 0}
    for i, d in enumerate(cols["doc"]):
        if d >= len(out["questions"]):
            out["questions"].append({"text": cols["document"][i], "blank": cols["start"][i], "cand": [], "nll": [], "n": []})
        q = out["questions"][d]
        q["cand"].append(cols["candidate"][i])
        q["nll"].append(cols["nll"][i])
        q["n"].append(cols["n_tokens"][i])
        if cols["answer"][i]:
            q["answer"] = len(q["cand"]) - 1
        if cols["chosen"][i]:
            q["chosen"] = len(q["cand"]) - 1
    out["ndocs"] = len(out["questions"])
    return out


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def _nums(metrics: dict) -> dict:
    return {k: _num(v) for k, v in metrics.items()}
