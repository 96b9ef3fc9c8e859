"""The paper's Table 6 layout for an overlap result (``gpt2eval overlap``): our rows beside its two."""
from __future__ import annotations

from gpt2eval.report.paper import paper_overlap

COLUMNS = ["task", "documents", "{n}-grams", "found", "% found", "mean % per doc", "docs overlapping",
           "paper WebText train", "paper Dataset train"]


def table6_rows(result: dict) -> tuple[str, list[str], list[list[str]], list[str]]:
    """(head lines, column names, rows, notes) of an overlap result."""
    n, f = result["n"], result["filter"]
    head = (f"{n}-gram overlap with: {', '.join(s['name'] for s in result['corpus']) or '(filter ' + str(f['path']) + ')'}\n"
            f"filter: {f['n_inserted']:,} {n}-grams, {f['size_bytes'] / 1e6:,.1f} MB, {f['hashes']} hashes, "
            f"false-positive bound {f['false_positive_bound']:.1e}")
    rows, footnote = [], False
    for name, t in result["tasks"].items():
        paper = []
        for row in ("WebText train", "Dataset train"):
            found = paper_overlap(name, row)
            mark = "" if found is None or found[1] == "ngram_percent" else "*"
            footnote |= bool(mark)
            paper.append("–" if found is None else f"{found[0]:.2f}%{mark}")
        rows.append([name, f"{t['n_documents']:,}", f"{t['n_ngrams']:,}", f"{t['n_overlapping']:,}", _pct(t["percent"]),
                     _pct(t["mean_document_percent"]), f"{t['n_documents_overlapping']:,}", *paper])
    notes = ["* LAMBADA: the paper's mean overlap per passage (section 4), compare with 'mean % per doc'"] if footnote else []
    if n != 8:
        notes.append(f"the paper's numbers are for 8-grams; these are {n}-grams")
    return head, [c.format(n=n) for c in COLUMNS], rows, notes


def _pct(value) -> str:
    return "–" if value is None else f"{value:.2f}%"
