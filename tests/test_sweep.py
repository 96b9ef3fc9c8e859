"""`gpt2eval sweep-stride` on the tiny random GPT-2 (context 128) and a few PTB lines."""
import json

import pytest

import gpt2eval.models.loading
from gpt2eval.errors import UsageError
from gpt2eval.analysis.sweep import parse_strides

from conftest import assert_usage_error, run


def test_two_strides_write_results_summary_and_figure(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    loads = []
    real_load = gpt2eval.models.loading.load_model
    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: loads.append(cfg) or real_load(cfg))
    out = tmp_path / "sweep"
    result = run("sweep-stride", "--task", "ptb", "--strides", "64,128", "--model", tiny_model_dir,
                 "--data-dir", data_dir, "--limit", 30, "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert len(loads) == 1, "the model loads once for all strides"
    runs = {s: json.loads((out / f"ptb-stride{s}.json").read_text()) for s in (128, 64)}
    for stride, r in runs.items():
        assert r["config"]["window"]["stride"] == stride and r["config"]["window"]["max_length"] == 128
        assert r["sweep"] == {"parameter": "stride", "values": [128, 64]}
    # The same tokens are scored at both strides; only their context differs.
    assert runs[64]["totals"]["n_units"] == runs[128]["totals"]["n_units"]
    assert runs[64]["totals"]["n_tokens"] == runs[128]["totals"]["n_tokens"]
    assert runs[64]["totals"]["nll_nats"] != runs[128]["totals"]["nll_nats"]
    summary = json.loads((out / "ptb-stride-summary.json").read_text())
    assert [row["stride"] for row in summary["rows"]] == [128, 64]
    assert summary["rows"][1]["word_perplexity"] == runs[64]["metrics"]["word_perplexity"]
    assert (out / "ptb-stride.png").read_bytes()[:4] == b"\x89PNG"
    assert "ptb stride 64: word_perplexity=" in result.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--strides", "256,64"], "--strides: 256 > the window length 128"),
        (["--strides", "64", "--max-length", "32"], "--strides: 64 > the window length 32 (--max-length)"),
        (["--strides", "0,64"], "stride 0 must be >= 1"),
        (["--strides", "64,x"], "expected comma-separated integers"),
        (["--strides", "64", "--stride", "32"], "--stride does not apply to sweep-stride"),
        (["--strides", "64", "--task", "lambada"], "does not score a stream"),
    ],
)
def test_bad_strides_fail_before_any_work(tiny_model_dir, data_dir, monkeypatch, args, fragment):
    def no_load(cfg):
        raise AssertionError("the model must not load")

    monkeypatch.setattr(gpt2eval.models.loading, "load_model", no_load)
    task = [] if "--task" in args else ["--task", "ptb"]
    result = run("sweep-stride", *task, *args, "--model", tiny_model_dir, "--data-dir", data_dir)
    assert_usage_error(result, fragment)


def test_parse_strides_orders_largest_first():
    assert parse_strides("128, 1024,512,128") == [1024, 512, 128]
    with pytest.raises(UsageError, match="empty"):
        parse_strides(",")
