"""LAMBADA: target split on real passages, denominators, the three accuracies and the
stop-word filter on a scripted LM, batch-size invariance, the hub path and the CLI."""
import json
import math
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.data.files import HubDataset
from gpt2eval.errors import UsageError
from gpt2eval.engine.greedy import predict_words
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model
from gpt2eval.report.paper import paper_value
from gpt2eval.engine.scoring import SpanScore
from gpt2eval.tasks.lambada import Lambada, LambadaStandard, bare, is_answer, split_target, stopwords
from gpt2eval.testing import gpt2_tokenizer


def task(cls=Lambada, data_dir=None, limit=None, detokenizer="default", **options):
    return cls(DataConfig(data_dir=str(data_dir) if data_dir else None, limit=limit, detokenizer=detokenizer, options=options))


# --- data: target split and denominators on the real files -----------------------------


def test_openai_passages_split_into_context_and_last_word(data_dir):
    docs = task(data_dir=data_dir, lambada_format="as-is").documents()
    assert len(docs) == Lambada.denominator == 5_153
    first = docs[0]
    assert first.extra == {
        "context": first.original[: -len(" signs")],
        "continuation": " signs",
        "target": "signs",
    }
    assert first.extra["context"].endswith("his mouth curved in a confident grin, I don't care about")
    assert first.text == first.original and first.n_units == 1
    # Quotes stay on the target; a line break before it becomes the one scored space.
    by_id = {d.id: d for d in docs}
    assert by_id["passage-1053"].extra["target"] == "“Sal"
    assert by_id["passage-2881"].extra["context"].endswith("to do with the")
    assert by_id["passage-2881"].text.endswith("to do with the gloves")
    assert all(d.extra["continuation"][0] == " " and not d.extra["context"][-1:].isspace() for d in docs)


def test_standard_passages_keep_the_original_target(data_dir):
    t = task(LambadaStandard, data_dir=data_dir)
    docs = t.documents()
    assert len(docs) == LambadaStandard.denominator == 5_153
    assert docs[0].extra["target"] == "signs"
    assert docs[0].extra["context"].endswith("his mouth curved in a confident grin, i don't care about")
    glued = [d for d in docs if not d.extra["continuation"].startswith(" ")]
    assert len(glued) == 37
    assert all(d.extra["context"][-1] in "\"'" and d.original.split()[-2] in ("``", "`") for d in glued)
    assert all(d.extra["target"] == d.original.split()[-1] for d in docs)
    # --detokenizer none scores the tokenized line itself.
    raw = task(LambadaStandard, data_dir=data_dir, detokenizer="none", limit=3).documents()
    assert [d.text for d in raw] == [d.original for d in raw]


def test_both_versions_agree_on_almost_every_target(data_dir):
    openai = task(data_dir=data_dir, lambada_format="as-is").documents()
    standard = task(LambadaStandard, data_dir=data_dir).documents()
    same = sum(bare(a.extra["target"]).lower() == b.extra["target"] for a, b in zip(openai, standard))
    assert same >= 5_120, same


def test_checksum_and_limit(data_dir):
    t = task(data_dir=data_dir, limit=7)
    assert [d.id for d in t.documents()] == [f"passage-{i}" for i in range(7)]
    assert t.record.files[0]["checksum"] == "ok"


def test_split_target_rules():
    assert split_target("a b  c\n") == ("a b", " ", "c")
    assert split_target('he said "nadia', "nadia") == ('he said "', "", "nadia")
    assert split_target("alone") == ("", " ", "alone")
    with pytest.raises(AssertionError, match="does not end with its target"):
        split_target("can not", "na")


def test_hub_rows_rebuild_the_file(data_dir, tmp_path):
    path = tmp_path / "lambada.parquet"
    rows = [json.loads(line)["text"] for line in (data_dir / Lambada.file).read_text(encoding="utf-8").splitlines()]
    pq.write_table(pa.table({"text": rows}), path)
    hub = task()
    hub.hub = HubDataset("parquet", None, "train", "text", data_files=str(path))
    got, want = hub.documents(), task(data_dir=data_dir).documents()
    assert [(d.id, d.text, d.extra) for d in got] == [(d.id, d.text, d.extra) for d in want]
    assert hub.record.hub["checksum"] == "ok"


def test_bad_options_and_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--stopword-topk 0"):
        task(stopword_topk=0)
    (tmp_path / "lambada").mkdir()
    (tmp_path / "lambada" / "lambada_test.jsonl").write_text('{"text": "fine"}\nnot json\n')
    with pytest.raises(UsageError, match="line 2 is not a JSON object"):
        task(data_dir=tmp_path).documents()


# --- metrics and the stop-word filter, on a scripted LM ---------------------------------


def test_stopword_list():
    words, digest = stopwords()
    assert len(words) == 179 and {"the", "him", "don't", "wouldn't", "s"} <= words
    assert len(digest) == 64
    assert not is_answer("The") and not is_answer("don’t") and not is_answer('"him,"')
    assert not is_answer(".") and not is_answer("")
    assert is_answer("signs.") and is_answer("“Sal")


_tokenizer = lru_cache(maxsize=1)(gpt2_tokenizer)


class ScriptedLM:
    """An LM whose next tokens are scripted by how the decoded text ends."""

    def __init__(self, script, scores=None):
        self.tokenizer = _tokenizer()
        self.max_length = 1024
        self.eos_prefix = False
        self.loaded = SimpleNamespace(eos_id=self.tokenizer.eos_token_id)
        self.script = script  # {text ending: [next token strings, most probable first]}
        self.scores = scores or {}  # {target: SpanScore}

    def encode(self, text):
        return self.tokenizer.encode(text)

    def token(self, piece):
        ids = self.tokenizer.encode(piece)
        assert len(ids) == 1, f"{piece!r} is {len(ids)} tokens"
        return ids[0]

    def topk_next(self, contexts, k):
        import torch

        rows = []
        for ids in contexts:
            text = self.tokenizer.decode(ids)
            ending = max((e for e in self.script if text.endswith(e)), key=len, default=None)
            ranked = self.script.get(ending, [" x"]) + [" y", " z"] * k
            rows.append([self.token(p) for p in ranked[:k]])
        return torch.tensor(rows)

    def score_continuations(self, pairs):
        return [self.scores[self.tokenizer.decode(cont).strip()] for _, cont in pairs]

    def score_and_search(self, items, search):
        """The combined request, as LM runs it when the search cannot start from the cache."""
        results = [search.result(r) for r in search.rerun(self, [ctx for ctx, _ in items])]
        return list(zip(self.score_continuations(items), results))


SCRIPT = {
    # Greedy says "the" (a stop word); the filter takes rank 1, "signs" + "." .
    "care about": [" the", " sign", " it"],
    "care about the": [" fact"],
    "care about sign": ["s"],
    "care about signs": ["."],
    "care about signs.": [" He"],
    # Every first token in the top 3 is a stop word or punctuation: fall back to greedy.
    "looked at": [" him", ",", " her"],
    # A word may run into the next line's first word only through a line break.
    "named": ["\n", " Sal"],
    "named\n": ["Sal"],
    "named\nSal": ["ly"],
    "named\nSally": [" and"],
}


def test_filter_skips_stop_words_and_falls_back_to_greedy():
    lm = ScriptedLM(SCRIPT)
    ctx = [lm.encode(t) for t in ("I don't care about", "She looked at", "a girl named")]
    care, looked, named = predict_words(lm, ctx, is_answer, topk=3, max_tokens=8)
    assert (care.greedy, care.word, care.rank) == ("the", "signs.", 1)
    assert (looked.greedy, looked.word, looked.rank) == ("him", "him", -1)
    assert (named.greedy, named.word, named.rank) == ("Sally", "Sally", 0)
    # Only the top k first tokens are tried.
    assert predict_words(lm, ctx[:1], is_answer, topk=1, max_tokens=8)[0].rank == -1
    # A word stops after max_tokens tokens.
    assert predict_words(lm, ctx[2:], is_answer, topk=1, max_tokens=2)[0].greedy == "Sal"


def test_accuracies_from_per_passage_sums():
    hit, miss = np.array([True]), np.array([False])
    scores = {
        "signs": SpanScore(np.array([0.5]), hit),  # all tokens argmax, filter finds it
        "him": SpanScore(np.array([1.0, 2.0]), np.array([False, True])),  # last token only
        "Sal": SpanScore(np.array([3.0]), miss),  # greedy "Sally" is not "Sal"
    }
    lm = ScriptedLM(SCRIPT, scores)
    t = task(stopword_topk=3)
    docs = [t.document(i, p) for i, p in enumerate(["I don't care about signs", "She looked at him", "a girl named Sal"])]
    sums = t.evaluate(docs, lm)
    assert [s["n_correct"] for s in sums] == [1, 0, 0]
    assert [s["n_correct_last_token"] for s in sums] == [1, 1, 0]
    assert [s["n_correct_greedy_word"] for s in sums] == [0, 1, 0]
    assert [s["n_correct_stopword"] for s in sums] == [1, 1, 0]
    assert [s["n_stopword_fallback"] for s in sums] == [0, 1, 0]
    totals = {k: sum(s[k] for s in sums) for k in sums[0]}
    m = t.metrics(totals)
    assert m["perplexity"] == pytest.approx(math.exp(6.5 / 3))
    assert m["token_perplexity"] == pytest.approx(math.exp(6.5 / 4))
    assert (m["acc"], m["acc_last_token"], m["acc_greedy_word"], m["acc_stopword"]) == pytest.approx((1 / 3, 2 / 3, 1 / 3, 2 / 3))
    sample = t.samples()[0]
    assert sample["greedy_word"] == "the" and sample["stopword_word"] == "signs." and sample["correct_stopword"]
    assert sample["context_tokens"] == len(lm.encode("\nI don't care about"))  # openai: "\n" + context


def test_metric_names_match_the_paper_table():
    assert Lambada.metric == "perplexity"
    assert paper_value("lambada", "gpt2-large", "perplexity") == 10.87
    assert paper_value("lambada", "gpt2-large", "acc_stopword") == 60.12
    totals = dict(nll_nats=1.0, n_words=1, n_tokens=1, n_correct=0, n_correct_last_token=0,
                  n_correct_greedy_word=0, n_correct_stopword=1, n_stopword_fallback=0)
    assert {"perplexity", "acc_stopword"} <= set(task().metrics(totals))


# --- the tiny random GPT-2 --------------------------------------------------------------


@pytest.fixture
def one_thread():
    """Tiny matrices: one thread is faster, and immune to a busy machine's thread contention."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def lm_of(model_dir, batch_size, max_length=None):
    window = WindowConfig(batch_size=batch_size, max_length=max_length)
    return LM(load_model(ModelConfig(model=str(model_dir), device="cpu")), window)


def test_batch_size_does_not_change_any_score(tiny_model_dir, data_dir, one_thread):
    t = task(data_dir=data_dir, limit=20)
    docs = t.documents()
    one, seven = lm_of(tiny_model_dir, 1, 96), lm_of(tiny_model_dir, 7, 96)
    sums1, samples1 = t.evaluate(docs, one), t.samples()
    sums7, samples7 = t.evaluate(docs, seven), t.samples()
    lengths = [s["context_tokens"] for s in samples1]
    assert min(lengths) < 95 < max(lengths), f"want passages both shorter and longer than the window: {lengths}"
    for a, b in zip(sums1 + samples1, sums7 + samples7):
        assert a["nll_nats"] == pytest.approx(b["nll_nats"], rel=1e-5)
        assert {k: v for k, v in a.items() if k != "nll_nats"} == {k: v for k, v in b.items() if k != "nll_nats"}
    # The last-position shortcut agrees with the full logits.
    ctx = [one.encode(d.extra["context"]) for d in docs[:5]]
    assert seven.topk_next(ctx, 3).tolist() == one.logits_next(ctx).topk(3).indices.tolist()


def test_cli_run(gpt2_model_dir, data_dir, tmp_path, one_thread):
    out = tmp_path / "lambada.json"
    args = ["run", "--task", "lambada", "--model", gpt2_model_dir, "--data-dir", data_dir,
            "--limit", 30, "--batch-size", 8, "--stopword-topk", 5, "--output", out, "--quiet", "--log-samples"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["headline"] == "perplexity" and r["n_documents"] == 30 and r["totals"]["n_words"] == 30
    t, m = r["totals"], r["metrics"]
    assert m["perplexity"] == pytest.approx(math.exp(t["nll_nats"] / 30))
    assert m["acc_stopword"] == t["n_correct_stopword"] / 30
    # A random model is near-uniform over 50,257 tokens.
    assert 10_000 < m["token_perplexity"] < 300_000
    stop = r["config"]["protocol"]["stopword_list"]
    assert r["config"]["protocol"]["stopword_topk"] == 5 and stop["count"] == 179
    assert r["config"]["protocol"]["lambada_format"] == "openai" and r["config"]["data"]["preset"] == "paper"
    assert r["data"]["files"][0]["checksum"] == "ok"
    assert len(r["per_document"]["n_correct_stopword"]) == 30
    samples = [json.loads(line) for line in out.with_suffix(".samples.jsonl").read_text().splitlines()]
    assert [s["id"] for s in samples] == r["per_document"]["id"]
    assert samples[0]["target"] == "signs" and samples[0]["target_tokens"] == 1
    assert sum(s["correct_stopword"] for s in samples) == t["n_correct_stopword"]

    bad = CliRunner().invoke(main, ["run", "--task", "lambada", "--stopword-topk", "0", "--data-dir", str(data_dir)])
    assert bad.exit_code == 2 and bad.output.startswith("error: --stopword-topk 0") and "Traceback" not in bad.output
