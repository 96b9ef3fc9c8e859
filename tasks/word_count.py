"""``--word-count``, shared by the word-level streams (PTB, WikiText): what the denominator counts.

    paper     (default) the words of the original file plus one end-of-line per line
    megatron  Megatron-LM's count, ``len(file.strip().split(" "))`` per document
              (``gpt2eval.detokenizers.megatron.word_counts``); ``--preset megatron`` sets it
"""
from gpt2eval.detokenizers import megatron
from gpt2eval.engine.options import Option
from gpt2eval.engine.stream import originals_of, stream_documents
from gpt2eval.engine.task import Document

WORD_COUNT = Option(
    "word_count", choices=("paper", "megatron"), default="paper", presets={"megatron": "megatron"},
    help="words of the denominator: paper (words + one per line) | megatron (Megatron-LM's count)",
)


def word_stream(task, ids: list[str], groups: list[list[str]]) -> list[Document]:
    """``stream_documents`` with the denominator ``--word-count`` picks."""
    counts = megatron.word_counts(originals_of(groups)) if task.option("word_count") == "megatron" else None
    return stream_documents(task, ids, groups, counts)
