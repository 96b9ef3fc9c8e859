"""``wikitext2-lmeval``: lm-eval 0.4's ``wikitext`` task, computed exactly as lm-eval does.

Not the paper's setting (that is ``wikitext2``); here so that a number can be checked
against lm-eval's, and so the difference between the two is measurable. As read in
lm-eval's ``lm_eval/tasks/wikitext/`` and its dataset ``EleutherAI/wikitext_document_level``:

- data: the RAW WikiText-2 test file (``wiki.test.raw``), split into articles: the file
  is split on "\\n"; a line that, with ``= = =`` -> ``===`` and ``= =`` -> ``==`` and
  stripped, starts with "= " and ends with " =" opens a new page; a page is its lines
  joined by "\\n" (so it has no final newline, except the last), and a page that is blank
  is dropped, except the last (62 pages);
- text scored: the page through Megatron-LM's WikiText rules (``detokenizers.megatron``);
- scoring: each page alone, ``loglikelihood_rolling``: <|endoftext|> then the page's
  tokens in disjoint windows of the model's context (our S = L windows, identical);
- metrics, from per-page sums: ``word_perplexity`` = exp(nll / words), ``byte_perplexity``
  = exp(nll / bytes), ``bits_per_byte`` = nll / (bytes ln 2), where words =
  ``len(re.split(r"\\s+", page))`` and bytes = ``len(page.encode("utf-8"))`` are counted
  on the page BEFORE detokenization.

``bench/vs_lm_eval.py`` runs lm-eval itself on the same file and model and prints both.
"""
from __future__ import annotations

import math
import re

from gpt2eval.detokenizers.megatron import wikitext as megatron_wikitext
from gpt2eval.engine.task import Document

from gpt2eval.tasks.wikitext import WikiText2Raw


def lm_eval_pages(text: str) -> list[str]:
    """The articles of a raw WikiText file as ``EleutherAI/wikitext_document_level`` builds them."""
    pages, lines = [], []
    for line in text.split("\n"):
        heading = line.replace("= = =", "===").replace("= =", "==").strip()
        if heading.startswith("= ") and heading.endswith(" ="):
            page = "\n".join(lines)
            if page.strip():
                pages.append(page)
            lines = []
        lines.append(line)
    pages.append("\n".join(lines))
    return pages


class WikiText2LmEval(WikiText2Raw):
    name = "wikitext2-lmeval"
    description = "lm-eval 0.4's wikitext task (raw WikiText-2 articles, Megatron rules, per-article windows); not the paper's"
    denominator = None  # per word as lm-eval counts them, not the paper's 245,569
    detokenizer = None  # always lm-eval's (Megatron's) rules: the task is that reading
    megatron = None
    options = ()  # lm-eval's count, not --word-count

    def documents(self) -> list[Document]:
        pages = self.limited(lm_eval_pages(self.original_text()))
        return [
            Document(id=f"page-{i}", text=megatron_wikitext(page), n_units=len(re.split(r"\s+", page)), original=page,
                     extra={"n_bytes": len(page.encode("utf-8"))})
            for i, page in enumerate(pages)
        ]

    @property
    def protocol(self) -> dict:
        return {"detokenizer": "megatron.wikitext", "documents": "lm-eval pages, each scored alone"}

    def evaluate(self, docs: list[Document], lm) -> list[dict]:
        sums, rows = [], []
        for i, d in enumerate(docs):
            ids, starts = lm.encode_with_offsets(d.text)
            scores = lm.score_stream(ids)  # one page, its own windows
            if self.save_tokens:
                rows.append(page_rows(i, d, ids, starts, scores, lm))
            sums.append({
                "nll_nats": float(scores.nll.sum()),
                "n_units": d.n_units,
                "n_bytes": d.extra["n_bytes"],
                "n_tokens": len(scores.nll),
                "n_greedy": int(scores.greedy.sum()),
            })
        if rows:
            from gpt2eval.engine.tokens import concat

            self.token_rows = concat(rows)
        return sums

    def metrics(self, totals: dict) -> dict:
        nll, words, n_bytes, n_tokens = totals["nll_nats"], totals["n_units"], totals["n_bytes"], totals["n_tokens"]
        if not words or not n_bytes or not n_tokens:
            return {k: math.nan for k in ("word_perplexity", "byte_perplexity", "bits_per_byte", "token_perplexity")}
        return {
            "word_perplexity": _exp(nll / words),
            "byte_perplexity": _exp(nll / n_bytes),
            "bits_per_byte": nll / (n_bytes * math.log(2)),
            "token_perplexity": _exp(nll / n_tokens),
            "token_accuracy": totals["n_greedy"] / n_tokens,
        }


def page_rows(i: int, doc: Document, ids, starts, scores, lm):
    """Token rows of one page scored alone (document ``i``)."""
    import numpy as np

    from gpt2eval.engine.tokens import stream_rows

    owner = np.full(len(scores.nll), i, dtype=np.int64)
    rows = stream_rows([len(doc.text)], starts, ids, lm.first_scored, np.zeros_like(owner), scores.nll, scores.greedy,
                       lm.stream_contexts(len(ids)))
    rows.columns["doc"] = owner
    return rows


def _exp(x: float) -> float:
    return math.exp(x) if x < 700 else math.inf

