"""timing.mfu and peak memory in result files when the model runs on a GPU (faked here)."""
from types import SimpleNamespace

import pytest
import torch

from gpt2eval.models import flops
from gpt2eval.pipeline.build import timing


def test_peak_flops_by_device_and_dtype():
    assert flops.peak_flops("NVIDIA H100 80GB HBM3", "bfloat16") == 989e12
    assert flops.peak_flops("NVIDIA A100-SXM4-40GB", "float32") == 19.5e12
    assert flops.peak_flops("Some New GPU", "bfloat16") is None
    # 2 x 1e9 parameters x 1e5 tokens in 1 s against 1e15 FLOP/s: 20%.
    assert flops.mfu(10**9, 10**5, 1.0, 1e15) == pytest.approx(0.2)
    assert flops.mfu(10**9, 10**5, 1.0, None) is None


def fake_lm(device: str):
    loaded = SimpleNamespace(device=torch.device(device), dtype=torch.bfloat16, n_parameters=10**9)
    return SimpleNamespace(loaded=loaded, forward_tokens=10**5)


def test_timing_has_mfu_and_peak_memory_on_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 123)
    out = timing(fake_lm("cuda:0"), 2.0, 5_000)
    assert out["mfu"] == pytest.approx(2 * 10**9 * 10**5 / 2.0 / 989e12)
    assert out["peak_memory_bytes"] == 123 and out["forward_tokens"] == 10**5
    assert out["tokens_per_second"] == 2_500


def test_timing_on_a_cpu_has_no_mfu():
    out = timing(fake_lm("cpu"), 2.0, 5_000)
    assert "mfu" not in out and "peak_memory_bytes" not in out
