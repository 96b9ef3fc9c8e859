"""Penn Treebank (Mikolov's preprocessing) test: sentences as one detokenized stream.

Denominator: 82,430 = 78,669 words + 3,761 end-of-sentence, on the original file. Each
line is a sentence and a document (the bootstrap resamples sentences); in the stream each
sentence ends with "\\n", as in the file.
"""
from gpt2eval.data import HubDataset
from gpt2eval.stream import StreamTask
from gpt2eval.task import Document

from .wikitext import lines_of


class PTB(StreamTask):
    name = "ptb"
    document_name = "sentence"  # one line of ptb.test.txt
    description = "Penn Treebank test (ptb.test.txt), detokenized stream, per-word perplexity"
    denominator = 82_430
    detokenizer = "ptb"
    file = "ptb/ptb.test.txt"
    # The hub rows are the file's lines with their surrounding spaces stripped.
    hub = HubDataset("ptb-text-only/ptb_text_only", "penn_treebank", "test", "sentence")

    def documents(self) -> list[Document]:
        return [
            Document(id=f"line-{i}", text=self.detokenize(line) + "\n", n_units=len(line.split()) + 1, original=line + "\n")
            for i, line in enumerate(self.limited(lines_of(self.original_text())))
        ]

    def text_from_rows(self, rows: list) -> str:
        return "".join(f" {row} \n" for row in rows)
