"""The chunked output layer (engine/head.py) computes the model's own output: the NLL sum of
every architecture it runs for equals the full-logits path's at float32 rounding, and any
model it cannot vouch for runs the full path, said in the result."""
import numpy as np
import pytest
import torch

from gpt2eval.engine import head as head_module
from gpt2eval.engine.head import OutputHead
from gpt2eval.engine.scoring import Scorer, Span

V = 300  # a small vocabulary: the point is the wiring, not the size


def tiny(name: str):
    import transformers as tf

    small = dict(num_hidden_layers=2, hidden_size=32, vocab_size=V, max_position_embeddings=64)
    attn = dict(num_attention_heads=2, intermediate_size=64)
    configs = {  # built on demand: each one imports its model's module
        "GPT2LMHeadModel": lambda: tf.GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=64, vocab_size=V),
        "GPTNeoXForCausalLM": lambda: tf.GPTNeoXConfig(**small, **attn),
        "LlamaForCausalLM": lambda: tf.LlamaConfig(**small, **attn, num_key_value_heads=1),
        "OPTForCausalLM": lambda: tf.OPTConfig(**small, num_attention_heads=2, ffn_dim=64, word_embed_proj_dim=16),
        "Qwen2ForCausalLM": lambda: tf.Qwen2Config(**small, **attn, num_key_value_heads=1),
        "Gemma2ForCausalLM": lambda: tf.Gemma2Config(**small, **attn, num_key_value_heads=1, head_dim=16,
                                                     final_logit_softcapping=2.0),
        "MambaForCausalLM": lambda: tf.MambaConfig(num_hidden_layers=2, hidden_size=32, state_size=4, vocab_size=V),
    }
    torch.manual_seed(0)
    return getattr(tf, name)(configs[name]()).eval()


def spans():
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (200,), generator=g).tolist()
    # Full windows, a stride-style tail, short continuations: rows of different lengths per batch.
    return [Span(ids[:48], ids[1:49]), Span(ids[50:90], ids[81:91]), Span(ids[100:120], ids[118:121]),
            Span(ids[130:131], ids[131:132]), Span(ids[140:188], ids[141:189])]


def nll_sums(model, batch_size: int):
    chunked, full = Scorer(model, batch_size), Scorer(model, batch_size)
    full.head.path = "full"
    a, b = chunked.score(spans()), full.score(spans())
    assert chunked.head.path == "chunked"
    return a, b


@pytest.mark.parametrize("name", list(head_module.POST))
def test_chunked_head_equals_full_logits(name, monkeypatch):
    monkeypatch.setattr("gpt2eval.engine.scoring.CACHE_ROWS", 7)  # many chunks and blocks, ending mid-span
    monkeypatch.setattr("gpt2eval.engine.scoring.HEAD_ROWS", 10)
    model = tiny(name)
    a, b = nll_sums(model, batch_size=3)
    got, want = sum(float(s.nll.sum()) for s in a), sum(float(s.nll.sum()) for s in b)
    assert abs(got - want) / abs(want) <= 1e-6, f"{name}: {got} vs {want}"
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.greedy, y.greedy)
    # Next-token logits (top-k, the word search's first step) go through the same head.
    scorer = Scorer(model, 2)
    logits, _ = scorer.forward([[1, 2, 3, 4], [5, 6]], [1, 3])
    with torch.inference_mode():
        want_logits = model(input_ids=torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]]), use_cache=False).logits[:, [1, 3]]
    torch.testing.assert_close(logits, want_logits, rtol=1e-5, atol=1e-5)


def test_softcapping_is_applied_and_a_wrong_head_falls_back(monkeypatch):
    model = tiny("Gemma2ForCausalLM")
    assert OutputHead(model).chunked
    # Without the model's soft-capping the head would differ: the check at first use sees it.
    monkeypatch.setitem(head_module.POST, "Gemma2ForCausalLM", head_module._identity)
    head_module._checked.clear()
    assert OutputHead(model).path == "full"


def test_unknown_models_run_the_full_path():
    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, **kwargs):
            return self.inner(**kwargs)

    model = tiny("GPT2LMHeadModel")
    assert OutputHead(Wrapped(model)).path == "full"
    sub = type("MyGPT2", (type(model),), {"__module__": "remote_code.modeling"})
    model.__class__ = sub
    assert OutputHead(model).path == "full"


def test_the_result_says_which_output_layer_ran(tiny_model_dir, data_dir, tmp_path):
    import json

    from conftest import run

    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 2,
                 "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "ptb.json").read_text())["config"]["engine"]["output_head"] == "chunked"
