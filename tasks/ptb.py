"""Penn Treebank (Mikolov's preprocessing) test: sentences as one detokenized stream.

Denominator: 82,430 = 78,669 words + 3,761 end-of-sentence, on the original file. Each
line is a sentence and a document (the bootstrap resamples sentences); in the stream each
sentence ends with "\\n", as in the file.

``--detokenizer megatron`` runs Megatron-LM's PTB rules over the stream as its
zero-shot script runs them over the whole file; ``--word-count megatron`` takes its
denominator, ``len(file.strip().split(" "))`` (``gpt2eval.detokenizers.megatron``).
"""
from gpt2eval.data import HubDataset
from gpt2eval.stream import StreamTask
from gpt2eval.task import Document

from .wikitext import lines_of, stream_documents


class PTB(StreamTask):
    name = "ptb"
    description = "Penn Treebank test (ptb.test.txt), detokenized stream, per-word perplexity"
    denominator = 82_430
    detokenizer = "ptb"
    file = "ptb/ptb.test.txt"
    # The hub rows are the file's lines with their surrounding spaces stripped.
    hub = HubDataset("ptb-text-only/ptb_text_only", "penn_treebank", "test", "sentence")
    megatron = "ptb"
    options = ("word_count",)
    defaults = {"word_count": "paper"}

    def documents(self) -> list[Document]:
        lines = self.limited(lines_of(self.original_text()))
        return stream_documents(self, [f"line-{i}" for i in range(len(lines))], [[line] for line in lines])

    def text_from_rows(self, rows: list) -> str:
        return "".join(f" {row} \n" for row in rows)
