"""CBT on a hand-written fixture in the original file format (no CBT file is available here).

tests/fixtures/cbt/cbt/ holds 6 CN and 3 NE questions written in CBT's style, with the
awkward cases on purpose: `` '' quotes (and a quotation spanning two sentences), a
candidate that appears twice in the query, a blank as the first word, right after an
opening quote, and as the very last token, candidates with an apostrophe (ma'am, O'Brien),
a clitic after the blank (XXXXX 's), -LRB- -RRB-, ``--``, ``...``, ``can not``.
"""
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig
from gpt2eval.data.files import HubDataset
from gpt2eval.detokenizers import cbt as detok
from gpt2eval.detokenizers import round_trip_failures
from gpt2eval.errors import UsageError
from gpt2eval.registry import get_task_class
from gpt2eval.results.files import totals_of
from gpt2eval.engine.scoring import SpanScore
from gpt2eval.tasks.cbt import BLANK, parse

FIXTURES = Path(__file__).parent / "fixtures" / "cbt"
CN_FILE = FIXTURES / "cbt" / "cbtest_CN_valid_2000ex.txt"
N_FIXTURE = {"cbt-cn": 6, "cbt-ne": 3}


def task_of(name="cbt-cn", **given):
    """The task on the fixtures; a keyword that is no DataConfig field is a task option."""
    fields = {f.name for f in dataclasses.fields(DataConfig)}
    data = {"data_dir": str(FIXTURES), **{k: v for k, v in given.items() if k in fields}}
    return get_task_class(name)(DataConfig(**data, options={k: v for k, v in given.items() if k not in fields}))


def questions(name="cbt-cn"):
    kind = name[-2:].upper()
    return parse((FIXTURES / "cbt" / f"cbtest_{kind}_valid_2000ex.txt").read_text(encoding="utf-8"), "fixture")


# --- parsing --------------------------------------------------------------------------


def test_parser_reads_every_field():
    qs = questions()
    assert len(qs) == 6
    assert all(len(q.sentences) == 20 and len(q.candidates) == 10 for q in qs)
    assert qs[0].sentences[0] == "Once upon a time there lived a king and a queen who had one little daughter ."
    assert qs[3].query == "`` Only a little , XXXXX , '' said Polly , `` but I should like to learn . ''"
    assert qs[3].answer == "ma'am"
    assert qs[3].candidates[6] == "ma'am"
    assert [q.answer for q in questions("cbt-ne")] == ["Tom", "Mary", "Peter"]


def test_original_is_the_file_block_by_block():
    assert "".join(q.original() for q in questions()) == CN_FILE.read_text(encoding="utf-8")


LINES = CN_FILE.read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize(
    "lines, message",
    [
        (LINES[:5] + LINES[6:], "line 6: expected sentence 6, found '7'"),
        (LINES[:20] + [LINES[20].split("\t")[0]] + LINES[21:], "line 21: expected query<TAB>answer"),
        (LINES[:20] + [LINES[20].replace("\tdoor\t", "\tdoors\t")] + LINES[21:], "answer 'doors' is not among"),
        (LINES[:20] + [LINES[20].replace(BLANK, "door")] + LINES[21:], "the query has no XXXXX"),
        (LINES[:30], "ends inside a question"),
    ],
)
def test_damaged_files_are_usage_errors(lines, message):
    with pytest.raises(UsageError, match=message):
        parse("\n".join(lines), "damaged")


# --- what the model sees ----------------------------------------------------------------


def pair(name, question, candidate, **data):
    doc = task_of(name, **data).documents()[question]
    return doc.extra["pairs"][doc.extra["candidates"].index(candidate)]


@pytest.mark.parametrize(
    "name, question, candidate, context_end, continuation",
    [
        # the candidate also appears, twice, earlier in the query: cut at the blank
        ("cbt-cn", 2, "fox", "The fox said that the fox was the friend of every", " fox in the yard, but nobody believed him."),
        # the blank is the last token
        ("cbt-cn", 1, "bricks", "happily ever after in the little brick", " bricks"),
        # apostrophe in the candidate, inside `` ''
        ("cbt-cn", 3, "ma'am", 'she could read. "Only a little,', ' ma\'am," said Polly, "but I should like to learn."'),
        # a clitic after the blank joins the candidate
        ("cbt-cn", 4, "dog", "his legs and trotted by. The",
         " dog's tail was wagging again by the time the blackberries were ripe for a second picking."),
        # the blank is the first word: the context is the 20 sentences
        ("cbt-ne", 0, "Jack", "the Princess Rose thought him very handsome.",
         " Jack was the only one who was not surprised when they were married, for he had always said that Jack would go far."),
        # right after an opening quote: no space before the candidate
        ("cbt-ne", 1, "Mary", 'moving about inside. "', 'Mary, come here at once!" cried her mother from the kitchen door.'),
        ("cbt-ne", 2, "O'Brien", 'for a moment at the door. "Sleep well, Master', ' O\'Brien."'),
    ],
)
def test_context_and_continuation(name, question, candidate, context_end, continuation):
    context, cont = pair(name, question, candidate)
    assert context.endswith(context_end)
    assert cont == continuation


@pytest.mark.parametrize("name", ["cbt-cn", "cbt-ne"])
def test_every_pair_is_one_detokenized_text_cut_before_the_candidate(name):
    for q, doc in zip(questions(name), task_of(name).documents()):
        passage = " ".join(detok.detokenize(s) for s in q.sentences)
        assert len({context for context, _ in doc.extra["pairs"]}) == 1, "a question's candidates share the context"
        for candidate, (context, cont) in zip(q.candidates, doc.extra["pairs"]):
            assert context + cont == passage + " " + detok.detokenize(q.query.replace(BLANK, candidate))
            assert cont.removeprefix(" ").startswith(candidate)
            assert context == context.rstrip(), "the space before the candidate belongs to the continuation"
        assert doc.text == "".join(doc.extra["pairs"][doc.extra["answer_index"]])
        assert doc.n_units == 1


def test_detokenizer_none_scores_the_file_text():
    q = questions()[0]
    context, cont = pair("cbt-cn", 0, "door", detokenizer="none")
    assert context + cont == " ".join(q.sentences + (q.query.replace(BLANK, "door"),))
    assert cont.startswith(" door and let him in , ''")


def test_detokenizer_round_trips_every_fixture_line():
    lines = [s for name in N_FIXTURE for q in questions(name) for s in q.sentences + (q.query.replace(BLANK, q.answer),)]
    assert len(lines) == 9 * 21
    assert round_trip_failures(detok, lines) == []


# --- scoring, with a deterministic fake LM ----------------------------------------------


class FakeLM:
    """Characters as tokens; each continuation's per-token NLLs come from ``nll_of(text)``."""

    def __init__(self, nll_of, max_length=100_000):
        self.nll_of = nll_of
        self.max_length = max_length
        self.requests = []

    def encode(self, text):
        return [ord(c) for c in text]

    def score_continuations(self, pairs):
        self.requests.append(pairs)
        nlls = [np.asarray(self.nll_of("".join(map(chr, cont))), dtype=np.float64) for _, cont in pairs]
        return [SpanScore(nll, np.zeros(len(nll), dtype=bool)) for nll in nlls]

    def score_shared_context(self, items):
        """The shared-context request, as pairs (what LM falls back to)."""
        scores = iter(self.score_continuations([(ctx, cont) for ctx, conts in items for cont in conts]))
        return [[next(scores) for _ in conts] for _, conts in items]


def favouring(continuation):
    """Every token 0.1 nats in the favoured continuation, 1 nat elsewhere."""
    return FakeLM(lambda text: [0.1 if text == continuation else 1.0] * len(text))


@pytest.mark.parametrize("name", ["cbt-cn", "cbt-ne"])
def test_prediction_follows_the_more_likely_candidate(name):
    task = task_of(name)
    for doc in task.documents():
        gold = doc.extra["answer_index"]
        wrong = (gold + 1) % len(doc.extra["pairs"])
        assert task.evaluate([doc], favouring(doc.extra["pairs"][gold][1]))[0]["n_correct"] == 1
        assert task.evaluate([doc], favouring(doc.extra["pairs"][wrong][1]))[0]["n_correct"] == 0


def test_candidates_are_ranked_by_sum_not_mean():
    task = task_of()
    docs = task.documents()
    gold = {doc.extra["pairs"][doc.extra["answer_index"]][1] for doc in docs}
    # gold: one token of 1 nat (sum 1, mean 1); others: ten of 0.5 (sum 5, mean 0.5)
    lm = FakeLM(lambda text: [1.0] if text in gold else [0.5] * 10)
    totals = totals_of(task.evaluate(docs, lm))
    assert task.metrics(totals) == {"acc": 1.0, "acc_token_mean": 0.0}


def test_all_candidates_go_to_the_scorer_in_one_request():
    task = task_of()
    docs = task.documents()
    lm = FakeLM(lambda text: [1.0] * len(text))
    sums = task.evaluate(docs, lm)
    assert len(lm.requests) == 1 and len(lm.requests[0]) == 60
    assert [s["n_questions"] for s in sums] == [1] * 6
    assert sum(s["n_tokens"] for s in sums) == sum(len(cont) for d in docs for _, cont in d.extra["pairs"])
    contexts = [ctx for ctx, _ in lm.requests[0][:10]]
    assert all(c == contexts[0] for c in contexts)


def test_truncation_is_counted():
    task = task_of()
    docs = task.documents()
    n_tokens = [len(c) + len(t) for d in docs for c, t in d.extra["pairs"]]  # characters are tokens
    truncated = lambda max_length: [s["n_truncated"] for s in task.evaluate(docs, FakeLM(lambda t: [1.0] * len(t), max_length))]
    # A window of L inputs scores L + 1 tokens: the first one is never predicted.
    assert truncated(max(n_tokens) - 1) == [0] * 6
    assert truncated(min(n_tokens) - 2) == [1] * 6


# --- data sources and options -----------------------------------------------------------


def test_split_option():
    task = task_of(cbt_split="test")
    assert (task.file, task.denominator, task.hub.split) == ("cbt/cbtest_CN_test_2500ex.txt", 2_500, "test")
    ne = task_of("cbt-ne")
    assert (ne.file, ne.hub.data_files[ne.hub.split]) == ("cbt/cbtest_NE_valid_2000ex.txt",
                                                          "hf://datasets/cam-cst/cbt@main/NE/validation-00000-of-00001.parquet")
    assert task.hub.data_files[task.hub.split].endswith("/CN/test-00000-of-00001.parquet")
    assert task.protocol["cbt_split"] == "test"
    assert task_of().protocol == {"detokenizer": "cbt", "cbt_split": "valid", "cbt_join": "space", "sentence_join": " ", "rank_by": "sum_logprob"}
    with pytest.raises(UsageError, match="--cbt-split 'train' is not one of valid, test"):
        task_of(cbt_split="train")
    with pytest.raises(UsageError, match="neither cbt/cbtest_CN_test_2500ex.txt nor CBTest/data/cbtest_CN_test_2500ex.txt found"):
        task_of(cbt_split="test").documents()
    assert task_of(split="test").file == task.file, "an old name (a result recorded before the rename) still reads"


def test_count_other_than_the_split_warns(capsys):
    assert len(task_of(limit=2).documents()) == 2
    assert "cbt-cn: 6 questions, the valid split has 2,000" in capsys.readouterr().err


def test_original_release_layout(tmp_path):
    (tmp_path / "CBTest" / "data").mkdir(parents=True)
    shutil.copy(CN_FILE, tmp_path / "CBTest" / "data" / "cbtest_CN_test_2500ex.txt")
    docs = task_of(data_dir=str(tmp_path), cbt_split="test").documents()
    assert [d.text for d in docs] == [d.text for d in task_of().documents()]


def hub_task(tmp_path, rows):
    path = tmp_path / "cbt.parquet"
    pq.write_table(pa.table({k: [r[k] for r in rows] for k in ("sentences", "question", "answer", "options")}), path)
    task = get_task_class("cbt-cn")(DataConfig())
    task.hub = HubDataset("parquet", None, "train", "question", data_files=str(path))
    return task


def hub_rows():
    return [
        {"sentences": list(q.sentences), "question": q.query, "answer": q.answer, "options": list(q.candidates)}
        for q in questions()
    ]


def as_tuples(docs):
    return [(d.id, d.text, d.n_units, d.original, d.extra) for d in docs]


def test_hub_schema_gives_the_same_documents(tmp_path):
    task = hub_task(tmp_path, hub_rows())
    assert as_tuples(task.documents()) == as_tuples(task_of().documents())
    assert task.record.hub["path"] == "parquet"


def test_damaged_hub_row_is_a_usage_error(tmp_path):
    rows = hub_rows()
    rows[4]["sentences"] = rows[4]["sentences"][:19]
    with pytest.raises(UsageError, match="row 4: 19 context sentences"):
        hub_task(tmp_path, rows).documents()


# --- end to end through the CLI, on the tiny random GPT-2 -------------------------------


def test_cli_run_writes_results(tiny_model_dir, tmp_path):
    # --max-length 64 keeps the test fast on CPU; long contexts keep their end, as at 1024.
    args = ["run", "--task", "cbt-cn", "--model", str(tiny_model_dir), "--device", "cpu",
            "--data-dir", str(FIXTURES), "--output", str(tmp_path), "--batch-size", "7", "--max-length", "64", "--quiet"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    result = json.loads((tmp_path / "cbt-cn.json").read_text())
    assert result["headline"] == "acc"
    assert result["totals"]["n_questions"] == 6
    assert result["totals"]["n_truncated"] == 6, "20 sentences never fit a 64-token window"
    assert 0.0 <= result["metrics"]["acc"] <= 1.0
    assert result["config"]["protocol"]["detokenizer"] == "cbt"
    assert result["config"]["protocol"]["cbt_split"] == "valid"
    assert result["data"]["files"][0]["path"].endswith("cbt/cbtest_CN_valid_2000ex.txt")
    assert len(result["per_document"]["n_correct"]) == 6
    assert "cbt-cn: acc=" in out.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--cbt-split", "dev"], "error: Invalid value for '--cbt-split': 'dev' is not one of 'valid', 'test'"),
        (["--cbt-split", "test"], "neither cbt/cbtest_CN_test_2500ex.txt nor CBTest/data/cbtest_CN_test_2500ex.txt found"),
        (["--split", "test"], "warning: --split is deprecated: use --cbt-split\n"),  # the old flag still works
    ],
)
def test_cli_bad_split_is_one_line(tiny_model_dir, tmp_path, extra, message):
    args = ["run", "--task", "cbt-cn", "--model", str(tiny_model_dir), "--data-dir", str(FIXTURES), "--output", str(tmp_path)]
    out = CliRunner().invoke(main, args + extra)
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output
