"""LAMBADA's one scoring path: the target's scores are bit-identical whatever the stop-word
filter, and both filters searched from the scoring pass's KV cache give the words (and
tokens) of the straightforward reference, which reruns every growing sequence whole."""
import json

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.engine.greedy import WordSearch
from gpt2eval.engine.greedy_token import TokenSearch
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model
from gpt2eval.report.sensitivity import summarize
from gpt2eval.tasks.lambada import MAX_WORD_TOKENS, Lambada, bare, is_answer, stopwords

N = 40  # passages; with a 96-token window some contexts leave no room for the search, a few do not fit at all


@pytest.fixture(scope="module")
def lm(gpt2_model_dir):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is faster and immune to a busy machine
    yield LM(load_model(ModelConfig(model=str(gpt2_model_dir), device="cpu")), WindowConfig(batch_size=4, max_length=96))
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def pairs(lm, data_dir):
    t = Lambada(DataConfig(data_dir=str(data_dir), limit=N))
    pairs = [t.encode(d, lm) for d in t.documents()]
    room = [len(ctx) + MAX_WORD_TOKENS - 1 <= lm.max_length for ctx, _ in pairs]
    fits = [len(ctx) + len(cont) - 1 <= lm.max_length for ctx, cont in pairs]
    assert 0 < sum(room) < N and not all(fits), "want cached searches, reruns and cut contexts"
    return pairs


@pytest.mark.parametrize("accept, ranks", [(is_answer, 2), (lambda w: len(bare(w)) >= 7, 4)], ids=["stop-words", "long-words-only"])
def test_word_search_from_the_cache_is_the_reference_on_every_passage(lm, pairs, accept, ranks):
    """The second rule rejects most words: several rounds, several ranks to a round."""
    search = WordSearch(accept, 10, MAX_WORD_TOKENS, rule="test")
    got = [p for _, p in lm.score_and_search(pairs, search)]
    want = [search.result(r) for r in search.rerun(lm, [ctx for ctx, _ in pairs])]
    assert got == want
    assert len({p.rank for p in got}) >= ranks, f"the filter should have taken several ranks: {[p.rank for p in got]}"


def test_token_search_from_the_cache_is_the_reference_on_every_passage(lm, pairs):
    search = TokenSearch(stopwords("nltk127")[0], 128, 6, MAX_WORD_TOKENS, rule="test")
    got = [r for _, r in lm.score_and_search(pairs, search)]
    want = [search.result(r) for r in search.rerun(lm, [ctx for ctx, _ in pairs])]
    assert got == want


def test_scores_are_bit_identical_across_searches(lm, pairs):
    words = stopwords()[0]
    searches = [WordSearch(is_answer, 10, MAX_WORD_TOKENS, rule="a"), WordSearch(is_answer, 3, 2, rule="b"),
                TokenSearch(words, 128, 6, MAX_WORD_TOKENS, rule="c"), TokenSearch(words, 5, 3, MAX_WORD_TOKENS, rule="d")]
    runs = [[score for score, _ in lm.score_and_search(pairs, s)] for s in searches]
    for run in runs[1:]:
        assert all((a.nll == b.nll).all() and (a.greedy == b.greedy).all() for a, b in zip(runs[0], run))


def test_sensitivity_shows_an_exact_zero_for_the_filter(gpt2_model_dir, data_dir, tmp_path):
    """Perplexity moves not a bit between --stopword-filter word and token (and the bflm-style steps)."""
    def run(*args):
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}.json"
        cli = ["run", "--task", "lambada", "--model", str(gpt2_model_dir), "--data-dir", str(data_dir), "--limit", "12",
               "--batch-size", "4", "--max-length", "96", "--no-cache", "--quiet", "--log-samples", "--output", str(out), *args]
        result = CliRunner().invoke(main, cli)
        assert result.exit_code == 0, result.output
        samples = [json.loads(line) for line in out.with_suffix(".samples.jsonl").read_text().splitlines()]
        return json.loads(out.read_text()), [s["nll_nats"] for s in samples]

    (word, word_nll), (token, token_nll), (three, three_nll) = (
        run(), run("--stopword-filter", "token"), run("--stopword-filter", "token", "--stopword-steps", "3"))
    assert word_nll == token_nll == three_nll
    assert word["totals"]["nll_nats"] == token["totals"]["nll_nats"]
    for r, choice in ((word, None), (token, "stopword_filter")):
        r["sweep"] = {"parameter": "sensitivity", "choice": choice, "value": "token" if choice else None, "preset": "paper"}
    rows = {(r["choice"], r["metric"]): r for r in summarize([word, token])["rows"]}
    assert rows["stopword_filter", "perplexity"]["diff"] == 0.0


def test_search_units_resume_whole_and_are_keyed_by_the_window(gpt2_model_dir, data_dir, tmp_path):
    """A rerun takes every unit (scores and search) from the store; another window length or
    filter takes none: the items are whole contexts, and what is cut depends on the window."""
    import re

    from conftest import run

    def units(*args, out="a"):
        result = run("run", "--task", "lambada", "--model", gpt2_model_dir, "--data-dir", data_dir, "--limit", 12,
                     "--batch-size", 4, "--unit-tokens", 300, "--output", tmp_path / out / "lambada.json", "--quiet",
                     "--store-dir", tmp_path / "store", *args)
        assert result.exit_code == 0, result.output
        found = re.search(r"lambada: ([\d,]+) work units, ([\d,]+) from the cache", result.output)
        return int(found.group(1)), int(found.group(2)), json.loads((tmp_path / out / "lambada.json").read_text())

    n, cached, first = units("--max-length", "96")
    assert n > 1 and cached == 0
    n_again, cached, again = units("--max-length", "96", out="b")
    assert n_again == cached == n and again["metrics"] == first["metrics"] and again["per_document"] == first["per_document"]
    assert units("--max-length", "128", out="c")[1] == 0
    assert units("--max-length", "96", "--stopword-filter", "token", out="d")[1] == 0
