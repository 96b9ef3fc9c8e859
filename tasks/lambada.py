"""LAMBADA: predict the last word of a passage (OpenAI's test set, and the original).

    passage   "... his mouth curved in a confident grin, I don't care about signs"
    context   "... his mouth curved in a confident grin, I don't care about"
    target    "signs"   (the last whitespace-separated word, punctuation and quotes kept)
    scored    log p(encode(" signs") | encode(context))

One passage is one document and one unit: 5,153 target words. Metrics, all from summed
per-passage counts (accuracies are fractions):

    perplexity       exp(sum target NLL / n_words)       Table 3 "LAMBADA PPL"
    acc_stopword     stop-word-filtered greedy word       Table 3 "LAMBADA ACC"
    acc              every target token is the argmax given the gold prefix (lm-eval's acc)
    acc_last_token   only the target's last token is the argmax (overstates accuracy)
    acc_greedy_word  greedy word, no filter: acc_stopword minus this is the filter's gain
    token_perplexity exp(sum target NLL / n_tokens), per target BPE token

Table 3's accuracy is the filtered one: the paper reports 52.66% for its largest model
without the filter and 63.24% "adding a stop-word filter as an approximation" of the
constraint that the word ends the sentence, and 63.24 is the number in the table.

The filter, ``--stopword-filter``: ``word`` (default, ``gpt2eval.engine.greedy``) tries the first
tokens of the word in order of probability, top ``--stopword-topk`` (default 10); each is
extended greedily into a word, and the first word that is neither a stop word nor
punctuation only is the prediction (if none of the k is, the plain greedy word).
``token`` is cybertronai/bflm's rule (``gpt2eval.engine.greedy_token``: at each of
``--stopword-steps`` steps, default 6, the most probable token among the top 128, default
``--stopword-topk``, that is not a stop word).
Whatever the filter, one pass per batch over context + target scores the target and keeps the
context's KV cache, from which the filter's search runs (``LM.score_and_search``), so the
perplexity and the token-level accuracies are bit-identical under ``word`` and ``token``.
``--stopwords``: ``nltk179`` (default), the 179-word English list of NLTK's stopwords
corpus, shipped as ``gpt2eval/data/stopwords_en.txt``, or ``nltk127``, NLTK's older
127-word list that bflm used (``stopwords_en_nltk127.txt``); the word filter matches
lower-case with ’ read as '. 51 of the 5,153 targets are stop words themselves (in both
versions): the word filter predicts those only when it falls back to the greedy word.

What the model sees, ``--lambada-format`` (``openai``, ``as-is``, ``lm-eval``, ``bflm``), and when
a predicted word counts, ``--lambada-match``: ``gpt2eval.tasks.lambada_formats``.

``lambada-standard`` scores the original release instead (lower-cased, PTB-tokenized, not
the paper's setting), detokenized by ``gpt2eval.detokenizers.lambada``. Its target comes
from the original line; in 37 passages detokenizing glues an opening quote onto it
(... `` nadia -> ..."nadia), and there the target is scored without a leading space.
``--lambada-standard-format lm-eval`` (set by ``--preset lm-eval``, with ``--detokenizer none``) is
lm-eval 0.4's ``lambada_standard``: the tokenized line as it is, split as ``lambada_openai``.

Hub, both read from the hub's parquet export (``refs/convert/parquet``, laid out
``<config>/<split>/0000.parquet``), so no loading script runs:

- ``lambada``: ``EleutherAI/lambada_openai``, ``default/test/0000.parquet`` (config
  ``default`` = OpenAI's English ``lambada_test.jsonl``; the other configs are translations),
  column ``text``. Layout read from the export's listing
  (huggingface.co/datasets/EleutherAI/lambada_openai/tree/711aa7c.../default/test); its
  main branch moved to parquet too, but the export's path is the stable one. The file is
  ``json.dumps({"text": row})`` per line; the sha256 the card publishes proves the rebuild.
- ``lambada-standard``: ``cimec/lambada`` (main still has ``lambada.py``),
  ``plain_text/test/0000.parquet``, column ``text`` (also ``domain``); layout from the
  export's commit listing (huggingface.co/datasets/cimec/lambada/commits/
  refs%2Fconvert%2Fparquet/plain_text). The script yields the test file's lines; no
  checksum of that file is published, so it is held to the release's file as found
  (gpt2eval.data.files.KNOWN_SHA256).
"""
from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from importlib import resources

from gpt2eval.data.files import parquet_files
from gpt2eval.detokenizers import lambada as lambada_detokenizer
from gpt2eval.errors import UsageError
from gpt2eval.engine.greedy import WordSearch
from gpt2eval.engine.greedy_token import STEPS, TokenSearch, first_word
from gpt2eval.engine.lm import LM
from gpt2eval.engine.options import Option
from gpt2eval.engine.stream import lines_of
from gpt2eval.engine.task import Document, Task

from gpt2eval.tasks.lambada_bflm import bflm_split
from gpt2eval.tasks.lambada_formats import bare, bflm_text, lm_eval_encode, lm_eval_split, matches, openai_split, split_target

MAX_WORD_TOKENS = 8  # a predicted word's tokens; targets take at most 5 (+ quote, punctuation)
FORMATS = ("openai", "as-is", "lm-eval", "bflm")
FILTERS = {"word": 10, "token": 128}  # filter -> default --stopword-topk
STOPWORD_FILES = {"nltk179": "data/resources/stopwords_en.txt", "nltk127": "data/resources/stopwords_en_nltk127.txt"}

FORMAT = Option(
    "lambada_format", choices=FORMATS, default="openai",
    presets={"paper": "openai", "lm-eval": "lm-eval", "megatron": "as-is", "bflm": "bflm"},
    absent_means="as-is",  # results from before the option were scored as they are
    help="what the model sees: openai (curly quotes straightened, \\n prefix) | as-is | lm-eval (lambada_openai's split) "
         "| bflm (cut before the last BERT-basic token)",
)
FILTER = Option("stopword_filter", choices=tuple(FILTERS), default="word", presets={"bflm": "token"},
                help="word (complete words from the top-k first tokens) | token (bflm's, token by token)")
STOPWORDS = Option("stopwords", choices=tuple(STOPWORD_FILES), default="nltk179", presets={"bflm": "nltk127"},
                   help="the stop-word list: nltk179 (NLTK's English list) | nltk127 (its older list, bflm's)")
TOPK = Option("stopword_topk", type=int, minimum=1, default=lambda values: FILTERS[values["stopword_filter"]], variants=(),
              help="first tokens the stop-word filter may try [default: 10 under --stopword-filter word, 128 under token]")
STEPS_TAKEN = Option("stopword_steps", type=int, minimum=1, default=STEPS, variants=(3, 6), applies=("stopword_filter", "token"),
                     help="tokens the token filter generates (bflm: 6; its older plain-text script: 3)")
MATCH = Option("lambada_match", choices=("bare", "bert"), default="bare", presets={"bflm": "bert"},
               help="when a predicted word counts: bare (equal without edge punctuation, case counts) | bert (bflm's: "
                    "lower-cased, punctuation split off as BERT's basic tokenizer does)")


@lru_cache(maxsize=None)
def stopwords(name: str = "nltk179") -> tuple[frozenset, str]:
    """An NLTK English stop-word list (``STOPWORD_FILES``) and the sha256 of the shipped file."""
    data = resources.files("gpt2eval").joinpath(STOPWORD_FILES[name]).read_bytes()
    return frozenset(data.decode("utf-8").split()), hashlib.sha256(data).hexdigest()


def is_answer(word: str, words: frozenset | None = None) -> bool:
    """A word the filter allows as LAMBADA's answer: some letters or digits, no stop word."""
    core = bare(word).lower().replace("\u2019", "'")
    return bool(core) and core not in (stopwords()[0] if words is None else words)


class Lambada(Task):
    name = "lambada"
    document_name = "passage"
    description = "LAMBADA, OpenAI's test set (lambada_test.jsonl): last-word PPL and stop-word-filtered accuracy"
    metric = "perplexity"
    counts = "word"
    denominator = 5_153
    options = (FORMAT, FILTER, STOPWORDS, TOPK, STEPS_TAKEN, MATCH)
    format_option = "lambada_format"
    megatron = "lambada"  # Megatron-LM scores LAMBADA as it is (the identity)
    file = "lambada/lambada_test.jsonl"
    hub = parquet_files("EleutherAI/lambada_openai", "refs/convert/parquet", "text", "test",
                        test="default/test/0000.parquet")

    def __init__(self, data):
        super().__init__(data)
        self._samples: list[dict] | None = None

    @classmethod
    def reads_eos_prefix(cls, values) -> bool:
        """Only as-is contexts start with <|endoftext|>: openai's and lm-eval's have their own start."""
        return values.get(cls.format_option, "as-is") == "as-is"

    @property
    def format(self) -> str:
        return self.values.get(self.format_option, "as-is")

    @property
    def topk(self) -> int:
        """First tokens the filter may try: the user's, else the filter's default."""
        return self.option("stopword_topk")

    @property
    def protocol(self) -> dict:
        words, digest = stopwords(self.option("stopwords"))
        stop = {"source": f"NLTK English stop words ({self.option('stopwords')})", "count": len(words), "sha256": digest}
        return {**super().protocol, "stopword_list": stop, "max_word_tokens": MAX_WORD_TOKENS}

    def passages(self) -> list[str]:
        """The original passages, in file order."""
        out = []
        for i, line in enumerate(lines_of(self.original_text())):
            try:
                text = json.loads(line)["text"]
            except (ValueError, KeyError, TypeError):
                raise UsageError(f"{self.file} line {i + 1} is not a JSON object with a 'text' field: wrong file?") from None
            if not isinstance(text, str):
                raise UsageError(f"{self.file} line {i + 1}: 'text' is {json.dumps(text)}, not a string: wrong or damaged file?")
            out.append(text)
        return out

    def documents(self) -> list[Document]:
        docs = []
        for i, passage in enumerate(self.limited(self.passages())):
            if not passage.split():
                raise UsageError(f"{self.file}: passage {i + 1} is empty: wrong file?")
            docs.append(self.document(i, passage))
        return docs

    def document(self, i: int, passage: str) -> Document:
        fmt = self.format
        if fmt == "openai":
            context, cont, target = openai_split(passage)
        elif fmt == "lm-eval":
            context, cont, target = lm_eval_split(passage)
        elif fmt == "bflm":
            context, cont, target = bflm_split(passage)
        else:
            context, sep, target = split_target(self.detokenize(passage))
            cont = sep + target
        extra = {"context": context, "continuation": cont, "target": target}
        return Document(id=f"passage-{i}", text=context + cont, n_units=1, original=passage, extra=extra)

    def text_from_rows(self, rows: list) -> str:
        # The file is json.dumps of each row (ASCII escapes), one a line.
        return "".join(json.dumps({"text": row}) + "\n" for row in rows)

    def encode(self, d: Document, lm: LM) -> tuple[list[int], list[int]]:
        """(context ids, continuation ids) of a passage under this run's format."""
        fmt = self.format
        if fmt == "lm-eval":
            return lm_eval_encode(lm, d.extra["context"], d.extra["continuation"])
        prefix = [lm.loaded.start_id] if fmt == "as-is" and lm.eos_prefix else []
        return prefix + lm.encode(d.extra["context"]), lm.encode(d.extra["continuation"])

    def search(self):
        """The stop-word filter of this run, as a search of ``LM.score_and_search``."""
        name = self.option("stopwords")
        words, digest = stopwords(name)
        if self.option("stopword_filter") == "word":
            return WordSearch(lambda w: is_answer(w, words), self.topk, MAX_WORD_TOKENS, rule=f"word filter, stop words {name} {digest}")
        return TokenSearch(words, self.topk, self.option("stopword_steps"), MAX_WORD_TOKENS, rule=f"stop words {name} {digest}")

    def evaluate(self, docs: list[Document], lm: LM) -> list[dict]:
        pairs = [self.encode(d, lm) for d in docs]
        contexts = [ctx or [lm.loaded.start_id] for ctx, _ in pairs]
        # One pass per batch scores the target, whatever the filter, and feeds the search from
        # its KV cache: the scores are bit-identical under --stopword-filter word and token.
        search = self.search()
        results = lm.score_and_search([(ctx, cont) for ctx, (_, cont) in zip(contexts, pairs)], search)
        scores = [score for score, _ in results]
        if isinstance(search, WordSearch):
            greedy, filtered, ranks = ([getattr(p, a) for _, p in results] for a in ("greedy", "word", "rank"))
        else:
            read = bflm_text if self.option("lambada_match") == "bert" else first_word
            greedy = [g for _, (g, _) in results]
            filtered = [read(lm.tokenizer, tokens) for _, (_, tokens) in results]
            ranks = [0] * len(results)
        if self.save_tokens:
            self.token_rows = self.target_rows(docs, pairs, contexts, scores, greedy, filtered, lm)
        sums, self._samples = [], []
        rule = self.option("lambada_match")
        for d, (ctx, _), score, g, f, rank in zip(docs, pairs, scores, greedy, filtered, ranks):
            gold = d.extra["target"]
            sums.append(
                {
                    "nll_nats": float(score.nll.sum()),
                    "n_words": d.n_units,
                    "n_tokens": len(score.nll),
                    "n_correct": int(score.greedy.all()),
                    "n_correct_last_token": int(score.greedy[-1]),
                    "n_correct_greedy_word": int(matches(rule, g, gold)),
                    "n_correct_stopword": int(matches(rule, f, gold)),
                    "n_stopword_fallback": int(rank < 0),
                }
            )
            self._samples.append(
                {
                    "id": d.id,
                    "context": d.extra["context"],
                    "context_tokens": len(ctx),
                    "target": d.extra["target"],
                    "target_tokens": len(score.nll),
                    "nll_nats": float(score.nll.sum()),
                    "greedy_word": g,
                    "stopword_word": f,
                    "stopword_rank": rank,
                    "correct": bool(score.greedy.all()),
                    "correct_last_token": bool(score.greedy[-1]),
                    "correct_greedy_word": bool(sums[-1]["n_correct_greedy_word"]),
                    "correct_stopword": bool(sums[-1]["n_correct_stopword"]),
                }
            )
        return sums

    def target_rows(self, docs, pairs, contexts, scores, greedy, filtered, lm):
        """Token rows (``--save-tokens``): each target token, with its passage's predictions."""
        import numpy as np

        from gpt2eval.engine.tokens import TokenRows

        cols: dict[str, list] = {k: [] for k in ("doc", "token_id", "start", "end", "nll", "greedy", "context", "target",
                                                 "predicted", "greedy_word", "correct", "correct_stopword")}
        for i, (d, (_, cont), ctx, score, g, f) in enumerate(zip(docs, pairs, contexts, scores, greedy, filtered)):
            starts = self.continuation_starts(d, cont, lm)
            k = len(cont)
            cols["doc"] += [i] * k
            cols["token_id"] += list(cont)
            cols["start"] += starts
            cols["end"] += starts[1:] + [len(d.text)]
            cols["nll"].append(score.nll)
            cols["greedy"].append(score.greedy)
            cols["context"].append(lm.continuation_contexts(len(ctx), k))
            for name, value in (("target", d.extra["target"]), ("predicted", f), ("greedy_word", g),
                                ("correct", bool(score.greedy.all())), ("correct_stopword", matches(self.option("lambada_match"), f, d.extra["target"]))):
                cols[name] += [value] * k
        for name in ("nll", "greedy", "context"):
            cols[name] = np.concatenate(cols[name]) if cols[name] else np.zeros(0)
        return TokenRows("lambada", cols)

    def continuation_starts(self, d: Document, cont: list[int], lm: LM) -> list[int]:
        """Where each continuation token starts in the passage's scored text ``d.text``."""
        if self.format == "lm-eval":  # the continuation's ids are the tail of the whole text's
            ids, starts = lm.encode_with_offsets(d.text)
        else:  # encoded alone, after the context
            ids, starts = lm.encode_with_offsets(d.extra["continuation"])
            starts = [s + len(d.extra["context"]) for s in starts]
        assert list(ids[len(ids) - len(cont):]) == list(cont), f"{d.id}: continuation tokens not found in its text"
        return list(starts[len(starts) - len(cont):])

    def samples(self) -> list[dict] | None:
        """Per-passage records of the last ``evaluate`` call (for ``--log-samples``)."""
        return self._samples

    def metrics(self, totals: dict) -> dict:
        n, n_tokens, nll = totals["n_words"], totals["n_tokens"], totals["nll_nats"]
        if not n:
            return {k: math.nan for k in ("perplexity", "acc_stopword", "acc", "acc_last_token", "acc_greedy_word", "token_perplexity")}
        return {
            "perplexity": _exp(nll / n),
            "acc_stopword": totals["n_correct_stopword"] / n,
            "acc": totals["n_correct"] / n,
            "acc_last_token": totals["n_correct_last_token"] / n,
            "acc_greedy_word": totals["n_correct_greedy_word"] / n,
            "token_perplexity": _exp(nll / n_tokens),
        }


# The original release: its own detokenizer (as-is), or lm-eval's lambada_standard reading.
STANDARD_FORMAT = Option("lambada_standard_format", choices=("as-is", "lm-eval"), default="as-is", presets={"lm-eval": "lm-eval"},
                         help="as-is (detokenized, its target from the original line) | lm-eval (lambada_standard's split)")


class LambadaStandard(Lambada):
    name = "lambada-standard"
    description = "LAMBADA, original release (lambada_test_plain_text.txt), detokenized; not the paper's setting"
    detokenizer = lambada_detokenizer
    file = "lambada/lambada_test_plain_text.txt"
    # The hub's `lambada` script yields the file's lines (str.splitlines) as `text`.
    hub = parquet_files("cimec/lambada", "refs/convert/parquet", "text", "test", test="plain_text/test/0000.parquet")
    options = (STANDARD_FORMAT, FILTER, STOPWORDS, TOPK, STEPS_TAKEN, MATCH)
    format_option = "lambada_standard_format"
    detokenizer_presets = {"lm-eval": "none"}  # lm-eval's lambada_standard scores the tokenized line

    def passages(self) -> list[str]:
        return lines_of(self.original_text())

    def document(self, i: int, passage: str) -> Document:
        if self.format == "lm-eval":
            context, cont, target = lm_eval_split(self.detokenize(passage))
            return Document(id=f"passage-{i}", text=context + cont, n_units=1, original=passage,
                            extra={"context": context, "continuation": cont, "target": target})
        # The target comes from the original line: detokenizing may glue a quote onto it.
        context, sep, target = split_target(self.detokenize(passage), passage.split()[-1])
        extra = {"context": context, "continuation": sep + target, "target": target}
        return Document(id=f"passage-{i}", text=context + sep + target, n_units=1, original=passage, extra=extra)

    def text_from_rows(self, rows: list) -> str:
        return "".join(row + "\n" for row in rows)


def _exp(x: float) -> float:
    return math.exp(x) if x < 700 else math.inf
