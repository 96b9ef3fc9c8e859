"""``--word-count`` and ``--word-divisor``, shared by the word-level streams (PTB, WikiText).

``--word-count``, what the denominator counts:

    paper     (default) the words of the original file plus one end-of-line per line
    megatron  Megatron-LM's count, ``len(file.strip().split(" "))`` per document
              (``gpt2eval.detokenizers.megatron.word_counts``); ``--preset megatron`` sets it

``--word-divisor``: ``words`` (default) divides the NLL by that count; ``words-1`` by one
fewer, as Megatron-LM's adjusted perplexity does, ``exp(loss / (num_original_tokens - 1))``
(``tasks/zeroshot_gpt/evaluate.py``: its stream's first word is never predicted). The word
comes off the first document, so the bootstrap still resamples whole documents.
"""
from gpt2eval.detokenizers import megatron
from gpt2eval.engine.options import Option
from gpt2eval.engine.stream import originals_of, stream_documents
from gpt2eval.engine.task import Document

WORD_COUNT = Option(
    "word_count", choices=("paper", "megatron"), default="paper", presets={"megatron": "megatron"},
    help="words of the denominator: paper (words + one per line) | megatron (Megatron-LM's count)",
)
WORD_DIVISOR = Option(
    "word_divisor", choices=("words", "words-1"), default="words", presets={"megatron": "words-1"},
    help="divide the NLL by the words, or by one fewer as Megatron-LM's adjusted perplexity does",
)


def word_stream(task, ids: list[str], groups: list[list[str]]) -> list[Document]:
    """``stream_documents`` with the denominator ``--word-count`` and ``--word-divisor`` pick."""
    originals = originals_of(groups)
    counts = megatron.word_counts(originals) if task.option("word_count") == "megatron" else None
    if task.option("word_divisor") == "words-1" and groups:
        counts = counts or [sum(len(line.split()) + 1 for line in group) for group in groups]
        counts = [counts[0] - 1, *counts[1:]]
    return stream_documents(task, ids, groups, counts)
