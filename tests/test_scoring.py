"""The scorer against a naive per-target computation on a tiny random GPT-2."""
import numpy as np
import pytest
import torch

from gpt2eval.engine import scoring
from gpt2eval.config import ModelConfig, WindowConfig
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model

TEXT = (
    "The game began development in 2010, carrying over a large portion of the work done on "
    "Valkyria Chronicles II. While it retained the standard features of the series, it also "
    "underwent multiple adjustments, such as making the game more forgiving for series newcomers."
)


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(ModelConfig(model=str(tiny_model_dir), device="cpu"))


def naive_nll(model, stream, L):
    """Target p conditioned on exactly the min(p, L) tokens before it, one forward each."""
    out = []
    with torch.inference_mode():
        for p in range(1, len(stream)):
            ctx = torch.tensor([stream[max(0, p - L) : p]])
            logprobs = torch.log_softmax(model(ctx).logits[0, -1].double(), -1)
            out.append(-logprobs[stream[p]].item())
    return np.array(out)


def lm_for(loaded, **window):
    return LM(loaded, WindowConfig(**window))


def test_stride_one_equals_naive_per_target(loaded):
    lm = lm_for(loaded, max_length=8, stride=1)
    ids = lm.encode(TEXT)[:40]
    got = lm.score_stream(ids).nll
    want = naive_nll(loaded.model, [loaded.eos_id] + ids, 8)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride", [1, 5, 32])
def test_short_stream_equals_one_full_forward(loaded, stride):
    lm = lm_for(loaded, max_length=32, stride=stride)
    ids = lm.encode(TEXT)[:31]  # with the EOS prefix: exactly one window of 32
    stream = torch.tensor([[loaded.eos_id] + ids])
    with torch.inference_mode():
        logprobs = torch.log_softmax(loaded.model(stream).logits[0].double(), -1)
    want = -logprobs[torch.arange(len(ids)), torch.tensor(ids)].numpy()
    np.testing.assert_allclose(lm.score_stream(ids).nll, want, rtol=1e-4, atol=1e-4)


def test_batch_size_does_not_change_scores(loaded):
    ids = lm_for(loaded).encode(TEXT * 3)
    results = [lm_for(loaded, max_length=16, stride=6, batch_size=b).score_stream(ids) for b in (1, 3, 8)]
    for r in results[1:]:
        np.testing.assert_allclose(r.nll, results[0].nll, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(r.greedy, results[0].greedy)
    assert len(results[0].nll) == len(ids)


def test_chunked_log_softmax_matches_one_chunk(loaded, monkeypatch):
    ids = lm_for(loaded).encode(TEXT)
    whole = lm_for(loaded, max_length=16, batch_size=4).score_stream(ids)
    monkeypatch.setattr(scoring, "LOGSOFTMAX_BYTES", 3 * 4 * loaded.model.config.vocab_size)  # 3 positions per chunk
    chunked = lm_for(loaded, max_length=16, batch_size=4).score_stream(ids)
    np.testing.assert_allclose(chunked.nll, whole.nll, rtol=1e-6)


def test_greedy_hits_are_argmax(loaded):
    lm = lm_for(loaded, max_length=64)
    ids = lm.encode(TEXT)[:20]
    with torch.inference_mode():
        logits = loaded.model(torch.tensor([[loaded.eos_id] + ids])).logits[0]
    want = (logits[:-1].argmax(-1) == torch.tensor(ids)).numpy()
    np.testing.assert_array_equal(lm.score_stream(ids).greedy, want)


def test_no_eos_prefix_skips_the_first_token(loaded):
    lm = lm_for(loaded, max_length=16, eos_prefix=False)
    ids = lm.encode(TEXT)[:30]
    assert lm.first_scored == 1
    assert len(lm.score_stream(ids).nll) == len(ids) - 1


def test_empty_stream_scores_nothing(loaded):
    assert len(lm_for(loaded).score_stream([]).nll) == 0


def test_continuation_keeps_the_end_of_a_long_context(loaded):
    lm = lm_for(loaded, max_length=8)
    ctx, cont = list(range(100, 120)), [5, 6, 7]
    span = scoring.continuation_span(ctx, cont, 8)
    # One window of L = 8 inputs ending just before the last target.
    assert list(span.input_ids) == ctx[-6:] + [5, 6] and list(span.target_ids) == cont
    [score] = lm.score_continuations([(ctx, cont)])
    with torch.inference_mode():
        logprobs = torch.log_softmax(loaded.model(torch.tensor([span.input_ids])).logits[0, -3:].double(), -1)
    want = -logprobs[torch.arange(3), torch.tensor(cont)].numpy()
    np.testing.assert_allclose(score.nll, want, rtol=1e-4, atol=1e-4)


def test_output_layer_at_scored_positions_only_changes_nothing(loaded):
    assert lm_for(loaded).scorer.logits_to_keep, "GPT-2 takes logits_to_keep"
    ids = lm_for(loaded).encode(TEXT * 2)
    kept = lm_for(loaded, max_length=16, stride=5, batch_size=3)
    full = lm_for(loaded, max_length=16, stride=5, batch_size=3)
    full.scorer.logits_to_keep = False
    a, b = kept.score_stream(ids), full.score_stream(ids)
    np.testing.assert_allclose(a.nll, b.nll, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(a.greedy, b.greedy)
    ctx = [ids[:40], ids[:7], ids[3:60]]
    np.testing.assert_allclose(kept.logits_next(ctx), full.logits_next(ctx), rtol=1e-4, atol=1e-4)
