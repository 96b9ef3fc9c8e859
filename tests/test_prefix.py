"""Shared prefixes (gpt2eval/prefix.py) against unshared scoring, and batch-size invariance."""
import numpy as np
import pytest
import torch

from gpt2eval.config import ModelConfig, WindowConfig
from gpt2eval.engine.greedy import WordSearch, predict_words
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model
from gpt2eval.testing import SMALL_VOCAB_SIZE, save_tiny_gpt2
from tasks.lambada import is_answer

TEXT = (
    "The game began development in 2010, carrying over a large portion of the work done on "
    "Valkyria Chronicles II. While it retained the standard features of the series, it also "
    "underwent multiple adjustments, such as making the game more forgiving for series newcomers. "
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A tiny random GPT-2 with GPT-2's 1,024-token context, so CBT-sized contexts fit."""
    folder = save_tiny_gpt2(tmp_path_factory.mktemp("m") / "m", n_positions=1024, vocab_size=SMALL_VOCAB_SIZE)
    return load_model(ModelConfig(model=str(folder), device="cpu"))


def cbt_sized(lm, n_questions=3):
    """~450-token contexts, 10 continuations of 8-16 tokens each, as CBT's questions."""
    ids = lm.encode(TEXT * 40)
    rng = np.random.default_rng(0)
    items = []
    for q in range(n_questions):
        ctx = ids[q * 7 : q * 7 + 440 + q]
        items.append((ctx, [ids[int(a) : int(a) + int(n)] for a, n in zip(rng.integers(0, 900, 10), rng.integers(8, 17, 10))]))
    return items


def count_forward_tokens(model):
    counted = []
    handle = model.register_forward_pre_hook(lambda m, args, kw: counted.append(kw["input_ids"].numel()), with_kwargs=True)
    return counted, handle


def test_shared_context_equals_naive_with_5x_fewer_forward_tokens(loaded):
    lm = LM(loaded, WindowConfig(batch_size=2))
    items = cbt_sized(lm)
    counted, handle = count_forward_tokens(loaded.model)
    try:
        shared = lm.score_shared_context(items)
        n_shared = sum(counted)
        counted.clear()
        naive = lm.score_continuations([(ctx, c) for ctx, conts in items for c in conts])
        n_naive = sum(counted)
    finally:
        handle.remove()
    flat = [s for scores in shared for s in scores]
    for a, b in zip(flat, naive):
        np.testing.assert_allclose(a.nll.sum(), b.nll.sum(), rtol=1e-6)
        np.testing.assert_array_equal(a.greedy, b.greedy)
    assert n_naive >= 5 * n_shared, f"{n_naive} naive forward tokens vs {n_shared} shared"


def test_a_context_that_does_not_fit_is_scored_unshared(loaded):
    lm = LM(loaded, WindowConfig(max_length=64))
    ids = lm.encode(TEXT * 3)
    items = [(ids[:70], [ids[70:73], ids[80:82]]), (ids[:20], [ids[30:33]])]  # the first slides the window
    shared = lm.score_shared_context(items)
    naive = lm.score_continuations([(ctx, c) for ctx, conts in items for c in conts])
    np.testing.assert_allclose([s.nll.sum() for ss in shared for s in ss], [s.nll.sum() for s in naive], rtol=1e-6)


@pytest.mark.parametrize("max_length", [1024, 40])  # the cached search, and the sliding fallback
def test_word_search_from_the_cache_equals_rerunning_contexts(loaded, max_length):
    lm = LM(loaded, WindowConfig(max_length=max_length, batch_size=3))
    ids = lm.encode(TEXT * 2)
    items = [([loaded.eos_id] + ids[:n], ids[n : n + 2]) for n in (5, 17, 30, 44, 61)]
    got = lm.score_and_search(items, WordSearch(is_answer, topk=10, max_tokens=8, rule="nltk179"))
    scores = lm.score_continuations(items)
    preds = predict_words(lm, [ctx for ctx, _ in items], is_answer, topk=10, max_tokens=8)
    for (score, pred), want, want_pred in zip(got, scores, preds):
        np.testing.assert_allclose(score.nll, want.nll, rtol=1e-5)
        assert pred == want_pred


def test_stream_scores_are_bit_identical_across_batch_sizes(loaded, all_cpu_threads):
    ids = LM(loaded, WindowConfig()).encode(TEXT * 12)  # ~600 tokens: windows of 128, some sliding
    for stride in (128, 48):
        runs = [LM(loaded, WindowConfig(max_length=128, stride=stride, batch_size=b)).score_stream(ids) for b in (1, 4, 8)]
        for run in runs[1:]:
            np.testing.assert_array_equal(run.nll, runs[0].nll)
            np.testing.assert_array_equal(run.greedy, runs[0].greedy)
