"""WikiText-2 / WikiText-103 test: the whole file as one detokenized stream, per-word PPL.

Denominator: 245,569 = 241,211 words + one end-of-line per line (4,358 lines), counted on
the original tokenized file. Documents are articles (a line `` = Title = `` starts one), so
the bootstrap resamples articles. The paper's numbers are on the tokenized files
(``wiki.test.tokens``, with ``<unk>``); the ``-raw`` variants score ``wiki.test.raw``
(same words, no ``<unk>``), which many public reproductions quote instead.

Hub: ``Salesforce/wikitext`` is plain parquet on its main branch since "Convert dataset to
Parquet (#8)": one folder per config, ``<config>/test-00000-of-00001.parquet``, one column
``text`` (layout read from the repository listing huggingface.co/datasets/Salesforce/wikitext
/tree/main/wikitext-103-raw-v1 and its siblings). Only the test file is downloaded (not the
~310 MB WikiText-103 train files a ``load_dataset(repo, config)`` would fetch). A row is
a line with its "\\n"; a blank line " \\n" became "" (the old loading script stripped
blank lines), which ``text_from_rows`` puts back; the sha256 proves it.

``--detokenizer megatron``, ``--word-count megatron`` and ``--word-divisor words-1`` are
Megatron-LM's zero-shot choices (``gpt2eval.detokenizers.megatron``). ``wikitext2-lmeval`` (``tasks/wikitext_lmeval.py``)
is lm-eval 0.4's ``wikitext`` task exactly: raw articles scored one by one.
"""
import re

from gpt2eval.data.files import parquet_files
from gpt2eval.detokenizers import wikitext as wikitext_detokenizer
from gpt2eval.engine.stream import StreamTask, lines_of
from gpt2eval.engine.task import Document

from gpt2eval.tasks.word_count import WORD_COUNT, WORD_DIVISOR, word_stream

ARTICLE_TITLE = re.compile(r"^ = [^=].* = $")  # `` = = Section = = `` is not a new article


def articles(lines: list[str]) -> list[list[str]]:
    """Lines grouped by article; blank lines before the first title join the first article."""
    groups: list[list[str]] = [[]]
    for line in lines:
        if ARTICLE_TITLE.match(line) and any(x.strip() for x in groups[-1]):
            groups.append([])
        groups[-1].append(line)
    return groups


class WikiText2(StreamTask):
    name = "wikitext2"
    document_name = "article"  # a " = Title = " heading and the lines up to the next one
    description = "WikiText-2 test (wiki.test.tokens), detokenized stream, per-word perplexity"
    denominator = 245_569
    detokenizer = wikitext_detokenizer
    file = "wikitext-2/wiki.test.tokens"
    hub = parquet_files("Salesforce/wikitext", "main", "text", "test", test="wikitext-2-v1/test-00000-of-00001.parquet")
    megatron = "wikitext"
    options = (WORD_COUNT, WORD_DIVISOR)

    def documents(self) -> list[Document]:
        groups = self.limited(articles(lines_of(self.original_text())))
        return word_stream(self, [f"article-{i}" for i in range(len(groups))], groups)

    def text_from_rows(self, rows: list) -> str:
        # Hub rows are the file's lines with their "\n"; blank lines (" ") became "".
        return "".join(row if row else " \n" for row in rows)


class WikiText103(WikiText2):
    name = "wikitext103"
    description = "WikiText-103 test (wiki.test.tokens), detokenized stream, per-word perplexity"
    file = "wikitext-103/wiki.test.tokens"
    hub = parquet_files("Salesforce/wikitext", "main", "text", "test", test="wikitext-103-v1/test-00000-of-00001.parquet")


class WikiText2Raw(WikiText2):
    name = "wikitext2-raw"
    description = "WikiText-2 test, raw variant (wiki.test.raw, no <unk>); not the paper's setting"
    file = "wikitext-2/wiki.test.raw"
    hub = parquet_files("Salesforce/wikitext", "main", "text", "test", test="wikitext-2-raw-v1/test-00000-of-00001.parquet")


class WikiText103Raw(WikiText2):
    name = "wikitext103-raw"
    description = "WikiText-103 test, raw variant (wiki.test.raw, no <unk>); not the paper's setting"
    file = "wikitext-103/wiki.test.raw"
    hub = parquet_files("Salesforce/wikitext", "main", "text", "test", test="wikitext-103-raw-v1/test-00000-of-00001.parquet")
