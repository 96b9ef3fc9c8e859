"""Options as lm-eval users type them: --tasks a,b, aliases, dtype short names,
--batch-size auto; and --limit says what it kept."""
import json

import pytest
import torch

from gpt2eval.engine.autobatch import find_batch_size
from gpt2eval.errors import UsageError
from gpt2eval.commands.options import task_list

from conftest import run


def test_task_list_merges_splits_aliases_and_dedups():
    assert task_list(("ptb",), "lambada_openai, wikitext,ptb") == ["ptb", "lambada", "wikitext2-lmeval"]
    assert task_list((), "lambada_standard") == ["lambada-standard"]
    with pytest.raises(UsageError, match="no task given"):
        task_list((), " , ")


def test_run_takes_tasks_comma_list_dtype_alias_and_prints_the_table(tiny_model_dir, data_dir, tmp_path):
    result = run("run", "--tasks", "ptb,wikitext", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 1,
                 "--dtype", "fp32", "--output", tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    ptb = json.loads((tmp_path / "ptb.json").read_text())
    assert ptb["config"]["model"]["dtype"] == "float32"
    assert json.loads((tmp_path / "wikitext2-lmeval.json").read_text())["task"] == "wikitext2-lmeval"  # lm-eval's name
    # Several tasks: the table against the paper, with the size rule stated.
    assert "| ours" in result.output and "paper gpt2" in result.output and "Δ" in result.output


def test_limit_prints_documents_and_tokens_kept(tiny_model_dir, data_dir, tmp_path):
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 4,
                 "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 0, result.output
    n_tokens = json.loads((tmp_path / "ptb.json").read_text())["totals"]["n_tokens"]
    assert f"ptb: --limit 4 kept 4 of 3,761 documents (sentences), {n_tokens:,} tokens scored" in result.output
    assert "PTB or 1BW sentence" in run("run", "--help").output


def test_batch_size_auto_is_recorded(tiny_model_dir, data_dir, tmp_path):
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 2,
                 "--batch-size", "auto", "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "ptb.json").read_text())["config"]
    window, probe = config["window"], config["engine"]["batch_probe"]
    # On a CPU the size is measured (tokens/s per batch size, recorded), not a fixed start.
    assert window["batch_size_auto"] is True and str(window["batch_size"]) in probe and "1" in probe
    bad = run("run", "--task", "ptb", "--batch-size", "big")
    assert bad.exit_code == 2 and "'big' is not a positive integer or 'auto'" in bad.output


class OOMAbove(torch.nn.Module):
    """A model that runs out of memory on batches larger than ``limit`` rows."""

    def __init__(self, model, limit):
        super().__init__()
        self.inner, self.limit, self.batches = model, limit, []

    def forward(self, input_ids, attention_mask=None, **kwargs):
        self.batches.append(input_ids.shape[0])
        if input_ids.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, **kwargs)


class Broken(OOMAbove):
    def forward(self, input_ids, attention_mask=None, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


def test_auto_batch_halves_on_out_of_memory(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from gpt2eval.engine.scoring import Scorer

    model = OOMAbove(AutoModelForCausalLM.from_pretrained(tiny_model_dir), limit=5)
    scorer, eos = Scorer(model, 1), model.inner.config.eos_token_id
    assert find_batch_size(scorer, 16, eos_id=eos, start=32) == 4
    assert model.batches == [32, 16, 8, 4]
    assert scorer.progress is None
    with pytest.raises(UsageError, match="does not fit"):
        find_batch_size(Scorer(OOMAbove(model.inner, limit=0), 1), 16, eos_id=eos, start=4)
    with pytest.raises(RuntimeError, match="shapes"):  # anything but an out-of-memory error propagates
        find_batch_size(Scorer(Broken(model.inner, limit=0), 1), 16, eos_id=eos, start=2)


def test_cpu_probe_keeps_the_fastest_batch_size(monkeypatch):
    from gpt2eval.engine import autobatch

    clock = [0.0]

    class Fake:  # seconds per call: batch 4 is the fastest per token, 8 no faster
        device, progress = torch.device("cpu"), None
        cost = {1: 1.0, 2: 1.5, 4: 2.0, 8: 4.0}

        def score(self, spans):
            clock[0] += self.cost[len(spans)]

    monkeypatch.setattr(autobatch.time, "perf_counter", lambda: clock[0])
    size, probe = autobatch.auto_batch_size(Fake(), 1024, eos_id=0)
    assert size == 4 and list(probe) == ["1", "2", "4", "8"]
    Fake.cost = {1: 1.0, 2: 2.0, 4: 1.0, 8: 1.0}  # batch 2 no faster: the probe stops there
    size, probe = autobatch.auto_batch_size(Fake(), 1024, eos_id=0)
    assert size == 1 and list(probe) == ["1", "2"]


def test_auto_batch_size_does_not_block_compare(tmp_path):
    from gpt2eval.report.compare import config_differences

    base = {"config": {"window": {"max_length": 8, "stride": 8, "eos_prefix": True, "batch_size": 1}}, "model": {}}
    auto = {"config": {"window": {**base["config"]["window"], "batch_size": 8, "batch_size_auto": True}}, "model": {}}
    assert config_differences(base, auto) == []
