"""Children's Book Test (Hill et al. 2016): common nouns (``cbt-cn``), named entities (``cbt-ne``).

A question is 20 consecutive sentences of a book and a 21st, the query, with one word
blanked as ``XXXXX``; one of 10 candidates is right. The original files hold blank-line
separated blocks of numbered, PTB-tokenized lines::

    1 With almost everything else to make them happy , they wanted one thing : ...
    ...
    20 `` No ; the old cats ! ''
    21 replied the XXXXX ; for the king 's aunts were old-fashioned , ...<TAB>queen<TAB><TAB>aunts|...|queen

Scoring, as the GPT-2 paper: fill the blank with each candidate c and compute

    log p(c + rest of the query | the 20 sentences + the query up to the blank)

summed over the continuation's tokens; predict the candidate with the largest sum. The
rest of the query is scored because it is what tells whether c fits (``the XXXXX 's tail``).
Summed, so that it is the log-probability of the filled sentence, not a per-token mean,
which would favour candidates that split into many easy sub-word tokens. ``acc`` =
correct / questions; the mean rule is reported alongside as ``acc_token_mean``.

Text the model sees: every sentence detokenized on its own, joined by one space (they are
consecutive prose; CBT kept no paragraph breaks, so a newline would be invented), then the
query, also after a space (``--cbt-join newline`` puts a line break there instead). The
FILLED query is detokenized whole and cut where the
candidate starts, so context + continuation is exactly one detokenized text; the space
before the candidate opens the continuation, as GPT-2's BPE attaches it to the word. No
<|endoftext|> prefix: the context is a mid-book excerpt, not a document start.

Data: ``--cbt-split valid`` (default, 2,000 questions: the paper's choice, since a test-set
book is in WebText) or ``test`` (2,500); the flag was ``--split``. With --data-dir the file
is ``cbt/<name>`` or, as in the original CBTest.tgz, ``CBTest/data/<name>``. Without it,
hub ``cam-cst/cbt``, plain
parquet on its main branch since "Convert dataset to Parquet (#4)":
``<CN|NE>/<validation|test>-00000-of-00001.parquet`` (layout read from the repository
listing huggingface.co/datasets/cam-cst/cbt/tree/97a933d.../CN; only the one split's file
is downloaded, not the 28 MB train file). Documents are built from its columns
(sentences, question, answer, options), which are the file's fields with the numbers and
surrounding spaces stripped. No checksum of the CBT files is published, so a rebuild
cannot be proven exact: its checksum is "unknown", and a question count other than the
split's warns.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace

from gpt2eval.data.files import find_file, hub_label, load_hub_column, parquet_files, read_text
from gpt2eval.detokenizers import cbt as cbt_detokenizer
from gpt2eval.errors import UsageError
from gpt2eval.engine.options import Option
from gpt2eval.engine.task import Document, Task

BLANK = "XXXXX"
JOINS = {"space": " ", "newline": "\n"}  # --cbt-join: between sentences, and before the query
SPLITS = {"valid": ("valid_2000ex", 2_000, "validation"), "test": ("test_2500ex", 2_500, "test")}
SPLIT = Option("cbt_split", choices=tuple(SPLITS), default="valid", old_names=("split",), selects_data=True,
               help="the questions: valid (2,000, the paper's: a test book is in WebText) | test (2,500)")
JOIN = Option("cbt_join", choices=tuple(JOINS), default="space",
              help="how the 20 context sentences and the query are joined: space | newline")
RELEASE_DIR = "CBTest/data"  # where CBTest.tgz puts the files
HUB_COLUMNS = ("sentences", "question", "answer", "options")


@dataclass(frozen=True)
class Question:
    sentences: tuple  # 20 context sentences, tokenized as in the file
    query: str  # the 21st sentence, holding BLANK
    answer: str
    candidates: tuple

    def check(self, where: str) -> None:
        """A malformed question is a data problem the user must fix, not a crash later."""
        if len(self.sentences) != 20:
            raise UsageError(f"{where}: {len(self.sentences)} context sentences, CBT has 20: wrong or damaged file?")
        if BLANK not in self.query:
            raise UsageError(f"{where}: the query has no {BLANK}: wrong or damaged file?")
        if self.answer not in self.candidates:
            raise UsageError(f"{where}: answer {self.answer!r} is not among the candidates: wrong or damaged file?")

    def original(self) -> str:
        """The question in the file's format (from the fields: the hub keeps no more)."""
        lines = [f"{i} {s}" for i, s in enumerate(self.sentences, 1)]
        return "\n".join(lines + [f"21 {self.query}\t{self.answer}\t\t{'|'.join(self.candidates)}"]) + "\n\n"


def parse(text: str, where: str) -> list[Question]:
    """Questions of an original CBT file; line numbers are checked so a lost line shows."""
    questions, sentences = [], []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        number, _, rest = line.partition(" ")
        if number != str(len(sentences) + 1):
            expected = len(sentences) + 1
            raise UsageError(f"{where} line {n}: expected sentence {expected}, found {number!r}: not a CBT question file?")
        if number != "21":
            sentences.append(rest.strip())
            continue
        fields = rest.split("\t")
        if len(fields) < 3:
            raise UsageError(f"{where} line {n}: expected query<TAB>answer<TAB><TAB>candidates: not a CBT question file?")
        question = Question(tuple(sentences), fields[0].strip(), fields[1].strip(), tuple(fields[-1].strip().split("|")))
        question.check(f"{where} line {n}")
        questions.append(question)
        sentences = []
    if sentences:
        raise UsageError(f"{where}: the file ends inside a question (after sentence {len(sentences)}): truncated?")
    return questions


class CBTCN(Task):
    name = "cbt-cn"
    document_name = "question"  # 20 sentences, a query and 10 candidates
    description = "Children's Book Test, common nouns (validation), 10-way cloze by sum of log-probs"
    metric = "acc"
    counts = "question"
    denominator = 2_000
    detokenizer = cbt_detokenizer
    file = "cbt/cbtest_CN_valid_2000ex.txt"  # the defaults; __init__ picks the --cbt-split's
    hub = parquet_files("cam-cst/cbt", "main", "question", "validation", validation="CN/validation-00000-of-00001.parquet",
                        test="CN/test-00000-of-00001.parquet")
    options = (SPLIT, JOIN)

    def __init__(self, data):
        super().__init__(data)
        self.join = JOINS[self.option("cbt_join")]
        infix, self.denominator, hub_split = SPLITS[self.option("cbt_split")]
        self.file = f"cbt/cbtest_{self.file.split('_')[1]}_{infix}.txt"  # CN or NE
        self.hub = replace(self.hub, split=hub_split)

    @property
    def protocol(self) -> dict:
        return {**super().protocol, "sentence_join": self.join, "rank_by": "sum_logprob"}

    def documents(self) -> list[Document]:
        questions = self.read_file() if self.data.data_dir else self.read_hub()
        if len(questions) != self.denominator:
            print(f"warning: {self.name}: {len(questions):,} questions, the {self.option('cbt_split')} split has "
                  f"{self.denominator:,}: results are not comparable to the paper", file=sys.stderr)
        return [self.document(i, q) for i, q in enumerate(self.limited(questions))]

    def overlap_text(self, doc: Document) -> str:
        """The passage and the query filled with the answer: the file's numbers and candidate lists are format."""
        return doc.text

    def detokenizer_lines(self) -> list[str]:
        """Context sentences and queries filled with the answer: what gets detokenized."""
        questions = self.read_file() if self.data.data_dir else self.read_hub()
        return [line for q in questions for line in (*q.sentences, q.query.replace(BLANK, q.answer))]

    def read_file(self) -> list[Question]:
        release = f"{RELEASE_DIR}/{self.file.split('/')[-1]}"
        for relative in (self.file, release):
            try:
                path = find_file(self.data.data_dir, relative, self.name)
            except UsageError:
                continue
            return parse(read_text(path, self.record), str(path))
        raise UsageError(f"{self.name}: neither {self.file} nor {release} found under {self.data.data_dir}: "
                         "point --data-dir at the folder holding cbt/ (or CBTest/), or drop it to use the hub")

    def read_hub(self) -> list[Question]:
        columns = [load_hub_column(replace(self.hub, column=c), self.record) for c in HUB_COLUMNS]
        questions = [Question(tuple(s), q, a, tuple(o)) for s, q, a, o in zip(*columns)]
        for i, question in enumerate(questions):
            question.check(f"{hub_label(self.hub)} ({self.hub.split}) row {i}")
        return questions

    def document(self, i: int, q: Question) -> Document:
        passage = self.join.join(self.detokenize(s) for s in q.sentences)
        pairs = [self.cut(passage, q.query, c) for c in q.candidates]
        gold = q.candidates.index(q.answer)
        return Document(id=f"question-{i}", text="".join(pairs[gold]), n_units=1, original=q.original(),
                        extra={"candidates": list(q.candidates), "answer_index": gold, "pairs": pairs})

    def cut(self, passage: str, query: str, candidate: str) -> tuple[str, str]:
        """(context, continuation): the filled, detokenized text cut where the candidate starts.

        The blank's place in the detokenized query locates the candidate: of the
        candidate's occurrences in the filled text the nearest one is taken, so the same
        word earlier in the query is not, and a detokenization that shifts when the
        candidate is filled in still is. Every BLANK is filled; the cut is at the first.
        """
        head = passage + self.join
        blank_at = len(head) + self.detokenize(query).index(BLANK)
        text = head + self.detokenize(query.replace(BLANK, candidate))
        at = min((m.start() for m in re.finditer(re.escape(candidate), text)), key=lambda s: abs(s - blank_at))
        context = text[:at].rstrip()
        return context, text[len(context):]

    def evaluate(self, docs: list[Document], lm) -> list[dict]:
        """Each question's context runs once, its 10 continuations from the context's KV
        cache (``LM.score_shared_context``), many questions per batch."""
        # A question's candidates (almost always) share one context: encode it once.
        contexts = {ctx: lm.encode(ctx) for ctx in {ctx for d in docs for ctx, _ in d.extra["pairs"]}}
        pairs = [(contexts[ctx], lm.encode(cont)) for d in docs for ctx, cont in d.extra["pairs"]]
        groups: dict[tuple, list[int]] = {}  # (question, context) -> indices into pairs
        at = 0
        for q, d in enumerate(docs):
            for ctx, _ in d.extra["pairs"]:
                groups.setdefault((q, ctx), []).append(at)
                at += 1
        items = [(pairs[js[0]][0], [pairs[j][1] for j in js]) for js in groups.values()]
        scores = [None] * len(pairs)
        for js, item_scores in zip(groups.values(), lm.score_shared_context(items)):
            for j, score in zip(js, item_scores):
                scores[j] = score
        self._scored = (docs, scores)  # for samples()
        if self.save_tokens:
            self.token_rows = self.candidate_rows(docs, scores, pairs, lm)
        sums, at = [], 0
        for d in docs:
            k = len(d.extra["pairs"])
            sums.append(self.question_sums(d, scores[at : at + k], pairs[at : at + k], lm.max_length))
            at += k
        return sums

    @staticmethod
    def candidate_rows(docs, scores, pairs, lm):
        """Rows for ``--save-tokens``: one per candidate, its summed NLL over the continuation."""
        import numpy as np

        from gpt2eval.engine.tokens import TokenRows

        cols: dict[str, list] = {k: [] for k in ("doc", "candidate_index", "candidate", "answer", "chosen", "nll", "n_tokens",
                                                 "context", "continuation", "orig_start", "orig_end")}
        at = 0
        for i, d in enumerate(docs):
            k = len(d.extra["pairs"])
            total = [float(s.nll.sum()) for s in scores[at : at + k]]
            chosen = int(np.argmin(total))
            blank = d.original.rfind(BLANK)  # in the query line, the file's last line
            for c, (score, (ctx, cont), (_, text)) in enumerate(zip(scores[at : at + k], pairs[at : at + k], d.extra["pairs"])):
                for name, value in (("doc", i), ("candidate_index", c), ("candidate", d.extra["candidates"][c]),
                                    ("answer", c == d.extra["answer_index"]), ("chosen", c == chosen),
                                    ("nll", total[c]), ("n_tokens", len(score.nll)),
                                    ("context", int(lm.continuation_contexts(len(ctx), len(cont))[0])), ("continuation", text),
                                    ("orig_start", blank), ("orig_end", blank + len(BLANK))):
                    cols[name].append(value)
            at += k
        return TokenRows("cbt", cols)

    @staticmethod
    def question_sums(doc: Document, scores, pairs, max_length: int) -> dict:
        import numpy as np  # not at import time: `gpt2eval tasks` stays fast

        total = np.array([s.nll.sum() for s in scores])  # (10,) nats of each filled continuation
        mean = np.array([s.nll.mean() for s in scores])
        gold = doc.extra["answer_index"]
        return {
            "n_questions": 1,
            "n_correct": int(np.argmin(total) == gold),
            "n_correct_token_mean": int(np.argmin(mean) == gold),
            # The scorer keeps the end of a context that does not fit the window.
            "n_truncated": int(any(len(c) + len(t) > max_length + 1 for c, t in pairs)),
            "n_tokens": int(sum(len(s.nll) for s in scores)),
        }

    def samples(self) -> list[dict] | None:
        """Per-question records of the last ``evaluate``: every candidate's summed NLL."""
        if not hasattr(self, "_scored"):
            return None
        docs, scores = self._scored
        out, at = [], 0
        for d in docs:
            k = len(d.extra["candidates"])
            nll = [float(s.nll.sum()) for s in scores[at : at + k]]
            at += k
            best = min(range(k), key=nll.__getitem__)
            out.append({"id": d.id, "candidates": d.extra["candidates"], "answer": d.extra["candidates"][d.extra["answer_index"]],
                        "nll_nats": nll, "n_tokens": [len(s.nll) for s in scores[at - k : at]],
                        "predicted": d.extra["candidates"][best], "correct": best == d.extra["answer_index"]})
        return out

    def metrics(self, totals: dict) -> dict:
        n = totals["n_questions"] or float("nan")
        return {"acc": totals["n_correct"] / n, "acc_token_mean": totals["n_correct_token_mean"] / n}


class CBTNE(CBTCN):
    name = "cbt-ne"
    file = "cbt/cbtest_NE_valid_2000ex.txt"
    hub = parquet_files("cam-cst/cbt", "main", "question", "validation", validation="NE/validation-00000-of-00001.parquet",
                        test="NE/test-00000-of-00001.parquet")
    description = "Children's Book Test, named entities (validation), 10-way cloze by sum of log-probs"
