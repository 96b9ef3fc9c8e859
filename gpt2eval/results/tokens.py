"""``<result>.tokens.parquet``: where the bits go, one row per scored token (``--save-tokens``).

Written beside a result from the rows its task kept in the same scoring pass
(``gpt2eval.engine.tokens``); the text work happens here: each token's text, and its
span in the ORIGINAL document through ``detokenizers.align`` (the detokenized text is
aligned with the original, so ``@-@`` or a re-paired quote still land on their source).
Columns (README, "Where do the bits go?"):

    all kinds   doc (int32, index into the result's per_document), doc_id
    stream      token_id, token (the scored text it covers), start, end (its span in the
                original document, Python str indices; spans of a document's tokens tile
                it), original (= original[start:end]), nll (float64 nats), greedy (it was
                the argmax), context (tokens it was conditioned on)
    lambada     the stream columns for each target token, and the passage's target,
                predicted (stop-word filtered word), greedy_word, correct (every target
                token the argmax), correct_stopword, document (the original passage)
    cbt         one row per candidate: candidate_index, candidate, answer, chosen (the model picked it),
                nll (summed over the continuation), n_tokens, context, continuation (the
                scored text), start/end/original (the blank in the question), document

The file's metadata ``gpt2eval`` (JSON) names the format, kind, task, model and result.
The sums of ``nll`` per document are the result's ``per_document.nll_nats``
(``mismatch`` checks it), so a file left beside a newer result is never read as its own.
Nothing in the file depends on the time or on the store: a rerun from stored work units
writes the same bytes.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

FORMAT = "gpt2eval-tokens/1"
SUFFIX = ".tokens.parquet"
STRINGS = ("doc_id", "token", "original", "target", "predicted", "greedy_word", "candidate", "continuation", "document")
INT32 = ("doc", "token_id", "start", "end", "context", "n_tokens", "candidate_index")


def tokens_path(result_path: Path) -> Path:
    """``results/gpt2/ptb.json`` -> ``results/gpt2/ptb.tokens.parquet``."""
    return Path(result_path).with_suffix(SUFFIX)


def columns(rows, docs) -> dict:
    """The file's columns (numpy or Arrow arrays) from a task's ``TokenRows`` and its documents."""
    import pyarrow as pa

    cols = dict(rows.columns)
    doc = np.asarray(cols.pop("doc"), dtype=np.int64)
    ids, originals = pa.array([d.id for d in docs]), [d.original or d.text for d in docs]
    out = {"doc": doc, "doc_id": ids.take(doc)}
    if rows.kind == "cbt":
        start, end = np.asarray(cols.pop("orig_start")), np.asarray(cols.pop("orig_end"))
        out.update(cols)
        out.update(start=start, end=end, original=[originals[i][a:b] for i, a, b in zip(doc, start, end)],
                   document=pa.array(originals).take(doc))
        return out
    token, start, end, original = _spans(docs, originals, doc, cols.pop("start"), cols.pop("end"))
    out.update(token_id=cols.pop("token_id"), token=token, start=start, end=end, original=original)
    out.update(cols)
    if rows.kind == "lambada":
        out["document"] = pa.array(originals).take(doc)
    return out


def _spans(docs, originals, doc, starts, ends):
    """Token texts, original spans and original texts, each document aligned once."""
    from gpt2eval.detokenizers.align import boundaries

    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    o_start, o_end = np.zeros_like(starts), np.zeros_like(ends)
    cuts = np.flatnonzero(np.diff(doc)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(doc)]):
        b = boundaries(docs[doc[lo]].text, originals[doc[lo]])
        o_start[lo:hi], o_end[lo:hi] = b[starts[lo:hi]], b[ends[lo:hi]]
    at_text = np.r_[0, np.cumsum([len(d.text) for d in docs])][doc]  # where each row's document starts
    at_orig = np.r_[0, np.cumsum([len(o) for o in originals])][doc]
    token = substrings("".join(d.text for d in docs), starts + at_text, ends + at_text)
    original = substrings("".join(originals), o_start + at_orig, o_end + at_orig)
    return token, o_start, o_end, original


def substrings(text: str, starts: np.ndarray, ends: np.ndarray):
    """``text[s:e]`` for every ``(s, e)``, as an Arrow string array built from buffers (no
    Python loop: WikiText-103 has ~280k rows). A lone surrogate (enwik8's undecodable
    bytes) becomes "?", one character for one, so every offset still holds."""
    import pyarrow as pa

    data = text.encode("utf-8", "replace")
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    surrogate = (codes >= 0xD800) & (codes < 0xE000)
    width = 1 + (codes >= 0x80) + (codes >= 0x800) + (codes >= 0x10000) - 2 * surrogate  # UTF-8 bytes per character
    byte_at = np.r_[0, np.cumsum(width, dtype=np.int64)]  # (len(text) + 1,)
    assert byte_at[-1] == len(data), "UTF-8 widths do not add up"
    lo, hi = byte_at[starts], byte_at[ends]
    lengths = hi - lo
    offsets = np.r_[0, np.cumsum(lengths)]
    gather = np.repeat(lo - offsets[:-1], lengths) + np.arange(offsets[-1])  # byte k of the output <- data[gather[k]]
    body = np.frombuffer(data, dtype=np.uint8)[gather]
    return pa.StringArray.from_buffers(len(starts), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(body.tobytes()))


def write_tokens(path: Path, task, docs, result: dict) -> int:
    """Write ``task.token_rows`` (kept by its last evaluate) to ``path``; the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = task.token_rows
    cols = columns(rows, docs)
    arrays = {}
    for name, col in cols.items():
        kind = pa.string() if name in STRINGS else pa.int32() if name in INT32 else None
        arrays[name] = col if isinstance(col, pa.Array) else pa.array(col, type=kind)
    meta = {"format": FORMAT, "kind": rows.kind, "task": task.name, "model": result["model"]["name"],
            "result": Path(path).name.removesuffix(SUFFIX) + ".json", "n_documents": len(docs), "n_rows": len(rows),
            "nll_nats": float(np.sum(cols["nll"])), "window": result["config"]["window"],
            "protocol": result["config"].get("protocol", {})}
    table = pa.table(arrays).replace_schema_metadata({"gpt2eval": json.dumps(meta, sort_keys=True, default=str)})
    # Spans grow along a document: delta-encoded they take ~1 byte a row instead of ~2.5.
    deltas = {n: "DELTA_BINARY_PACKED" for n in ("start", "end") if n in arrays}
    _write_atomic(Path(path), lambda tmp: pq.write_table(
        table, tmp, compression="zstd", use_dictionary=[n for n in STRINGS if n in arrays], column_encoding=deltas,
        write_statistics=False))
    return len(rows)


def _write_atomic(path: Path, write) -> None:
    """As ``atomic.write_text``: a temp file in the same folder, renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_tokens(path: Path):
    """(pyarrow table, metadata dict) of a tokens file, or an error naming the file."""
    import pyarrow.parquet as pq

    from gpt2eval.errors import UsageError

    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[b"gpt2eval"])
    except Exception as e:  # a damaged or foreign file: one line, not a traceback
        raise UsageError(f"{path} is not a gpt2eval tokens file ({type(e).__name__}): rerun with --save-tokens") from None
    if meta.get("format") != FORMAT:
        raise UsageError(f"{path}: format {meta.get('format')!r}, expected {FORMAT}: rerun with --save-tokens")
    return table, meta


def mismatch(table, meta: dict, result: dict) -> str | None:
    """Why a tokens file does not belong to ``result`` (None when it does)."""
    per_doc = result.get("per_document") or {}
    ids = per_doc.get("id") or []
    if meta.get("task") != result.get("task") or meta.get("n_documents") != len(ids):
        return f"it is for {meta.get('task')} with {meta.get('n_documents')} documents"
    doc = table.column("doc").to_numpy()
    if meta["kind"] == "cbt":
        chosen = table.column("chosen").to_numpy(zero_copy_only=False) & table.column("answer").to_numpy(zero_copy_only=False)
        ours, theirs = np.bincount(doc[chosen], minlength=len(ids)), np.asarray(per_doc.get("n_correct", []))
        return None if np.array_equal(ours, theirs) else "its predictions differ from the result's"
    nll = np.bincount(doc, weights=table.column("nll").to_numpy(), minlength=len(ids))
    theirs = np.asarray(per_doc.get("nll_nats", []), dtype=np.float64)
    if len(theirs) != len(nll) or not np.allclose(nll, theirs, rtol=1e-9, atol=1e-9):
        return "its per-document NLL sums differ from the result's"
    return None
