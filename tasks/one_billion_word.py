"""One Billion Word benchmark test: heldout shard 00000, detokenized sentences, per-word PPL.

Denominator: 159,658 = 153,583 words + 6,075 end-of-sentence, counted on the original
Moses-tokenized file. Each line is a sentence and a document (the bootstrap resamples
sentences). The sentences are shuffled news, so context across them is little help.

How the sentences form one stream is ``--join`` (default ``newline``):

- ``newline``: each sentence followed by "\\n", as in the file (and as for PTB);
- ``eos``: each sentence followed by ``<|endoftext|>``, GPT-2's document separator, since
  the sentences are unrelated; the model must write it as its single EOS token;
- ``space``: sentences separated by one space, put before every sentence but the first
  so that it joins the next word's token as GPT-2's BPE would (no end-of-sentence token).

The end-of-sentence unit is counted in every mode: the denominator is a property of the
original text, not of the stream.

Hub: ``billion-word-benchmark/lm1b`` (a loading script, read through its parquet export)
has all 50 heldout shards as its test split (306,688 rows), in sorted file order, each
line stripped. No line of shard 00000 has surrounding spaces, so its first 6,075 rows,
each plus "\\n", rebuild the file; ``Task.original_text`` checks the sha256.
"""
from gpt2eval.data import HubDataset
from gpt2eval.errors import UsageError
from gpt2eval.lm import LM
from gpt2eval.stream import StreamTask
from gpt2eval.task import Document

from .wikitext import lines_of

EOS = "<|endoftext|>"
JOINS = ("newline", "eos", "space")
N_SENTENCES = 6_075  # lines in news.en.heldout-00000-of-00050


class OneBillionWord(StreamTask):
    name = "1bw"
    document_name = "sentence"
    description = "One Billion Word test (heldout shard 00000), detokenized sentences, per-word perplexity"
    denominator = 159_658
    detokenizer = "one_billion_word"
    file = "1bw/news.en.heldout-00000-of-00050"
    hub = HubDataset(
        "parquet", None, "test", "text",
        data_files={"test": "hf://datasets/billion-word-benchmark/lm1b@refs%2Fconvert%2Fparquet/plain_text/test/0000.parquet"},
    )
    options = ("join",)
    defaults = {"join": "newline"}

    def __init__(self, data):
        super().__init__(data)
        if self.option("join") not in JOINS:
            raise UsageError(f"--join {self.option('join')!r} is not one of {', '.join(JOINS)}")

    def documents(self) -> list[Document]:
        lines = self.limited(lines_of(self.original_text()))
        return [
            Document(
                id=f"line-{i}",
                text=self.joined(i, self.detokenize(line)),
                n_units=len(line.split()) + 1,
                original=line + "\n",
            )
            for i, line in enumerate(lines)
        ]

    def joined(self, i: int, sentence: str) -> str:
        join = self.option("join")
        if join == "space":
            return sentence if i == 0 else " " + sentence
        return sentence + ("\n" if join == "newline" else EOS)

    def evaluate(self, docs: list[Document], lm: LM) -> list[dict]:
        if self.option("join") == "eos" and lm.encode(EOS) != [lm.loaded.eos_id]:
            raise UsageError(f"--join eos: this tokenizer does not read {EOS} as its EOS token; use --join newline")
        return super().evaluate(docs, lm)

    def text_from_rows(self, rows: list) -> str:
        return "".join(row + "\n" for row in rows[:N_SENTENCES])
