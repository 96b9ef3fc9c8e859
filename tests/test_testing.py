"""The test infrastructure: the cut GPT-2 vocabulary (gpt2eval.testing) and the session
cache of loaded models (conftest), so that neither changes what a test checks."""
import json

import pytest

import gpt2eval.models.loading
from gpt2eval.config import ModelConfig
from gpt2eval.errors import UsageError
from gpt2eval.testing import GPT2_VOCAB_SIZE, SMALL_VOCAB_SIZE, gpt2_tokenizer, save_tiny_gpt2

from conftest import _real_load_model, load_model_cached

TEXT = "The game began development in 2010, carrying over a large portion of the work done on\n Valkyria Chronicles II. <|endoftext|>"


@pytest.fixture(scope="module")
def tokenizers():
    return gpt2_tokenizer(), gpt2_tokenizer(SMALL_VOCAB_SIZE)


def test_the_cut_vocabulary_is_a_prefix_of_gpt2s(tokenizers):
    full, small = tokenizers
    assert len(small) == SMALL_VOCAB_SIZE and small.eos_token_id == SMALL_VOCAB_SIZE - 1
    assert len(full) == GPT2_VOCAB_SIZE and full.eos_token_id == GPT2_VOCAB_SIZE - 1
    vocab = full.get_vocab()
    assert {t: i for t, i in small.get_vocab().items() if i < SMALL_VOCAB_SIZE - 1} == {t: i for t, i in vocab.items() if i < SMALL_VOCAB_SIZE - 1}
    # Each id means what it means in GPT-2, text round-trips, and only words get longer.
    ids = small.encode(TEXT)
    assert max(i for i in ids if i != small.eos_token_id) < SMALL_VOCAB_SIZE - 1
    assert small.decode(ids) == full.decode(full.encode(TEXT)) == TEXT
    assert len(full.encode(TEXT)) < len(ids) < 2 * len(full.encode(TEXT))
    assert small.decode([small.eos_token_id]) == "<|endoftext|>"


def test_real_data_round_trips_through_the_cut_vocabulary(tokenizers, data_dir):
    _, small = tokenizers
    text = (data_dir / "ptb" / "ptb.test.txt").read_text(encoding="utf-8")[:20_000]
    assert small.decode(small.encode(text)) == text


def test_tiny_model_dirs(tiny_model_dir, gpt2_model_dir):
    for folder, vocab in ((tiny_model_dir, SMALL_VOCAB_SIZE), (gpt2_model_dir, GPT2_VOCAB_SIZE)):
        config = json.loads((folder / "config.json").read_text())
        assert config["vocab_size"] == vocab and config["eos_token_id"] == vocab - 1 and config["n_positions"] == 128


def test_load_model_is_the_cache_unless_fresh_load(tiny_model_dir):
    assert gpt2eval.models.loading.load_model is load_model_cached
    cfg = ModelConfig(model=str(tiny_model_dir), device="cpu")
    a, b = load_model_cached(cfg), load_model_cached(cfg)
    assert a is not b and a.model is b.model and a.tokenizer is b.tokenizer, "one module, a new LoadedModel each time"
    assert a.weights_sha256 == b.weights_sha256 and not a.model.training


@pytest.mark.fresh_load
def test_fresh_load_marker_loads_for_real():
    assert gpt2eval.models.loading.load_model is _real_load_model


def test_changed_files_load_again_and_failures_are_not_kept(tmp_path):
    folder = save_tiny_gpt2(tmp_path / "m", vocab_size=300, n_layer=1)
    cfg = ModelConfig(model=str(folder), device="cpu")
    first = load_model_cached(cfg)
    assert load_model_cached(ModelConfig(model=str(folder), device="cpu", dtype="bfloat16")).model is not first.model
    save_tiny_gpt2(folder, seed=1, vocab_size=300, n_layer=1)  # new weights, same names and sizes
    second = load_model_cached(cfg)
    assert second.model is not first.model and second.weights_sha256 != first.weights_sha256
    (folder / "model.safetensors").write_bytes(b"broken")
    for _ in range(2):
        with pytest.raises(UsageError):
            load_model_cached(cfg)
