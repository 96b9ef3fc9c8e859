"""The GPT-2 paper's overlap analysis (section 4, Table 6), and scoring on the clean documents.

Section 4: Bloom filters of the normalised 8-grams of WebText's training set; per test
set, the percentage of its 8-grams found there (Table 6, with a row for each dataset's own
train split); then LAMBADA recomputed without the passages that share any 8-gram with
WebText (PPL 8.6 -> 8.7, ACC 63.2% -> 62.9%). Here the training corpus is any corpus
(``gpt2eval.analysis.corpus``) and the filter is ``gpt2eval.analysis.ngrams.NgramFilter``.

The test side reuses each task's ``documents()``; the text normalised is
``Task.overlap_text(doc)``, the test set as distributed:

    lambada            the passage as in lambada_test.jsonl (context and target word)
    lambada-standard   the passage line of the original release
    cbt-cn, cbt-ne     the 20 sentences and the query with the answer filled in, as
                       scored (the file's line numbers and candidate lists are format)
    wikitext2/103(-raw) each article's lines of wiki.test.tokens (.raw)
    ptb, 1bw           each sentence line of the test file
    enwik8, text8      each 100,000-unit chunk of the test split, as is
    text               the whole file

Counts are per n-gram occurrence: a task's percentage is 100 * (test n-grams found) /
(test n-grams), summed over documents and divided once; n-grams never cross documents.
A document "overlaps" when the fraction of its n-grams found is above ``--threshold``
(default 0: any shared n-gram, the paper's LAMBADA rule). A false positive can only add
overlap, never hide it: at most 1e-8 of the lookups.
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

from gpt2eval.analysis.ngrams import NgramFilter, ngram_hashes, normalise
from gpt2eval.errors import UsageError
from gpt2eval.results.overlap import FORMAT


def build_filter(sources, n: int, capacity: int | None = None, log=None) -> NgramFilter:
    """Stream the corpus into a filter sized for its n-gram count (counted first unless given)."""
    from gpt2eval.analysis.corpus import count_ngrams, hash_batches

    log = log or (lambda msg: None)
    if capacity is None:
        capacity = count_ngrams(sources, n)
        log(f"corpus: {capacity:,} {n}-grams counted")
        check_not_empty(capacity, sources, n)
    filt = NgramFilter.create(capacity, n)
    log(f"filter: {filt.meta['size_bits'] / 8e6:,.1f} MB, {filt.meta['hashes']} hashes")
    for hashes in hash_batches(sources, n):
        filt.add(hashes)
    check_not_empty(filt.meta["n_inserted"], sources, n)
    filt.meta["corpus"] = [s.describe() for s in sources]
    if filt.false_positive_bound > filt.meta["target_false_positive_rate"]:
        print(f"warning: {filt.meta['n_inserted']:,} n-grams inserted into a filter sized for {capacity:,}: "
              f"false-positive bound {filt.false_positive_bound:.2g}; drop --capacity to size it by counting", file=sys.stderr)
    return filt


def check_not_empty(n_ngrams: int, sources, n: int) -> None:
    """A corpus without one n-gram would report 0.00% overlap for every task: an error instead."""
    if n_ngrams == 0:
        names = ", ".join(s.name for s in sources[:3]) + (" ..." if len(sources) > 3 else "")
        raise UsageError(f"the corpus ({names}) holds no {n}-gram (empty, or fewer than {n} words per document): "
                         "check --corpus/--corpus-hub and --text-field")


def analysis_of(overlap: dict) -> dict:
    """What an overlap JSON's numbers depend on: the n, the filter's corpus, and per task the
    threshold, the data read (sha256) and the documents."""
    from gpt2eval.pipeline.overwrite import data_digests

    corpus = overlap.get("corpus") or []
    return {
        "n": overlap.get("n"),
        "corpus": sorted(json.dumps(c, sort_keys=True) for c in corpus) if corpus else (overlap.get("filter") or {}).get("sha256"),
        "tasks": {name: {"threshold": t.get("threshold"), "documents": t.get("n_documents"),
                         "data": [d for d, _ in data_digests(t.get("data") or {})]}
                  for name, t in (overlap.get("tasks") or {}).items()},
    }


def check_replace(path: Path, planned: dict, force: bool) -> None:
    """Refuse to write ``path`` over an overlap JSON of another analysis unless ``force``
    (as ``gpt2eval.pipeline.overwrite`` does for results); ``planned`` is ``analysis_of``
    the report about to be written."""
    if force or not path.exists():
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
        diffs = [] if existing.get("format") == FORMAT else ["it is not an overlap JSON"]
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        diffs = ["it is not an overlap JSON"]
    if not diffs:
        have = analysis_of(existing)
        diffs = [f"{k} differ" if k != "n" else f"n {have[k]} != {planned[k]}" for k in planned if have[k] != planned[k]]
    if diffs:
        raise UsageError(f"{path} holds another overlap analysis ({'; '.join(diffs)}): kept it; "
                         "pass --force to replace it, or write elsewhere with --output")


def analyse(task, docs, filt: NgramFilter, threshold: float = 0.0) -> dict:
    """One task's entry of the overlap JSON: totals, per-document counts, overlapping ids."""
    n = filt.meta["n"]
    ids, totals, found = [], [], []
    for d in docs:
        hashes = ngram_hashes(normalise(task.overlap_text(d)), n)
        ids.append(d.id)
        totals.append(int(len(hashes)))
        found.append(filt.count(hashes))
    fractions = [f / t if t else None for f, t in zip(found, totals)]
    overlapping = [i for i, fr in zip(ids, fractions) if fr is not None and fr > threshold]
    scored = [fr for fr in fractions if fr is not None]
    n_ngrams, n_found = sum(totals), sum(found)
    return {
        "n_documents": len(docs),
        "n_ngrams": n_ngrams,
        "n_overlapping": n_found,
        "percent": 100.0 * n_found / n_ngrams if n_ngrams else None,
        "mean_document_percent": 100.0 * sum(scored) / len(scored) if scored else None,
        "n_documents_overlapping": len(overlapping),
        "threshold": threshold,
        "data": task.record.as_dict(),
        "overlapping": overlapping,
        "per_document": {"id": ids, "n_ngrams": totals, "n_overlapping": found, "fraction": fractions},
    }


def report(tasks: dict, filt: NgramFilter, filter_path: str | None) -> dict:
    return {
        "format": FORMAT,
        "n": filt.meta["n"],
        "normalisation": filt.meta["normalisation"],
        "corpus": filt.meta["corpus"],
        "filter": {k: v for k, v in filt.describe(filter_path).items() if k != "corpus"},
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tasks": tasks,
    }
