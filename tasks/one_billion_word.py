"""One Billion Word benchmark test: heldout shard 00000, detokenized sentences, per-word PPL.

Denominator: 159,658 = 153,583 words + 6,075 end-of-sentence, counted on the original
Moses-tokenized file. Each line is a sentence and a document (the bootstrap resamples
sentences). The sentences are shuffled news, so context across them is little help.

How the sentences form one stream is ``--1bw-join`` (default ``newline``; was ``--join``):

- ``newline``: each sentence followed by "\\n", as in the file (and as for PTB);
- ``eos``: each sentence followed by ``<|endoftext|>``, GPT-2's document separator, since
  the sentences are unrelated; its EOS id is inserted directly (document text is never
  parsed for special tokens), and its 13 characters count in ``n_bytes`` as before;
- ``space``: sentences separated by one space, put before every sentence but the first
  so that it joins the next word's token as GPT-2's BPE would (no end-of-sentence token).

The end-of-sentence unit is counted in every mode: the denominator is a property of the
original text, not of the stream.

Hub: ``billion-word-benchmark/lm1b`` is a loading script (``lm1b.py``); its parquet export
``refs/convert/parquet`` holds ``plain_text/test/0000.parquet``, column ``text`` (layout from
the export's commit listing huggingface.co/datasets/lm1b/commits/refs%2Fconvert%2Fparquet/
plain_text/test; 306,688 rows per the card's ``dataset_info``). That split is all 50
heldout shards, each line stripped, in the order the script met the files in the tar
archive, which nothing promises to start with shard 00000. So the shard is located by
content: the one run of 6,075 rows that starts with its first sentence and ends with its
last (``FIRST``, ``LAST``); each row plus "\\n" (no line of the shard has surrounding
spaces) rebuilds the file, and ``Task.original_text`` checks the sha256.
"""
from gpt2eval.data.files import parquet_files
from gpt2eval.detokenizers import one_billion_word as one_billion_word_detokenizer
from gpt2eval.errors import UsageError
from gpt2eval.engine.lm import LM
from gpt2eval.engine.options import Option
from gpt2eval.engine.stream import StreamTask, lines_of
from gpt2eval.engine.task import Document

EOS = "<|endoftext|>"
JOIN = Option("1bw_join", choices=("newline", "eos", "space"), default="newline", old_names=("join",),
              help="how the sentences form one stream: newline (as in the file) | eos (<|endoftext|> after each) | space")
N_SENTENCES = 6_075  # lines in news.en.heldout-00000-of-00050
FIRST = "Having a little flexibility on that issue would go a long way to putting together a final package ."
LAST = "If the Irish vote Yes , there will be no surge of popular enthusiasm across Europe ."


class OneBillionWord(StreamTask):
    name = "1bw"
    document_name = "sentence"
    description = "One Billion Word test (heldout shard 00000), detokenized sentences, per-word perplexity"
    denominator = 159_658
    detokenizer = one_billion_word_detokenizer
    file = "1bw/news.en.heldout-00000-of-00050"
    hub = parquet_files("billion-word-benchmark/lm1b", "refs/convert/parquet", "text", "test",
                        test="plain_text/test/0000.parquet")
    options = (JOIN,)

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
        join = self.option("1bw_join")
        if join == "space":
            return sentence if i == 0 else " " + sentence
        return sentence + ("\n" if join == "newline" else EOS)

    def encode_stream(self, docs: list[Document], lm: LM) -> tuple[list[int], list[int]]:
        """Under ``--1bw-join eos`` each sentence is encoded alone and followed by the EOS id."""
        if self.option("1bw_join") != "eos":
            return super().encode_stream(docs, lm)
        eos = lm.tokenizer.eos_token_id
        if eos is None:
            raise UsageError("--1bw-join eos: this tokenizer has no EOS token; use --1bw-join newline")
        ids, starts, offset = [], [], 0
        for d in docs:
            sentence = d.text.removesuffix(EOS)
            sentence_ids, sentence_starts = lm.encode_with_offsets(sentence)
            ids += [*sentence_ids, eos]
            starts += [offset + s for s in sentence_starts] + [offset + len(sentence)]
            offset += len(d.text)
        return ids, starts

    def text_from_rows(self, rows: list) -> str:
        """Shard 00000 found among all heldout shards by its first and last sentences."""
        end = N_SENTENCES - 1
        starts = [i for i, row in enumerate(rows[: len(rows) - end]) if row == FIRST and rows[i + end] == LAST]
        if len(starts) != 1:
            raise UsageError(
                f"{self.name}: the hub rows hold {len(starts)} runs of {N_SENTENCES:,} sentences that start and end "
                "as heldout shard 00000 (expected 1): pass --data-dir with news.en.heldout-00000-of-00050"
            )
        return "".join(row + "\n" for row in rows[starts[0] : starts[0] + N_SENTENCES])
