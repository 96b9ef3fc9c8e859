"""Signs of life: plain progress lines in a log, the stop-word phase, hub bars left on;
detok-check's first difference; --log-samples for every task."""
import io
import json

import pytest

from gpt2eval.engine import progress as progress_module
from gpt2eval.commands.run import first_difference
from gpt2eval.engine.progress import Progress

from conftest import run


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_progress_line_every_interval_when_not_a_terminal():
    out, clock = io.StringIO(), Clock()
    p = Progress(stream=out, interval=30, clock=clock)
    p.label = "ptb"
    p.start(10_000, "scoring")
    clock.now = 10
    p(1_000)
    assert out.getvalue() == ""  # not yet 30 s
    clock.now = 40
    p(3_000)
    assert out.getvalue() == "ptb scoring: 4,000/10,000 tokens (40.0%), 100 tok/s, ETA 1m00s\n"
    p.close()
    assert out.getvalue().count("\n") == 2  # the end of a long phase shows too
    quiet = io.StringIO()
    Progress(enabled=False, stream=quiet).note("x")
    assert quiet.getvalue() == ""


def test_a_log_gets_progress_lines_and_the_stop_word_phase(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(progress_module, "INTERVAL", 0.0)
    result = run("run", "--task", "lambada", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 3,
                 "--output", tmp_path / "l.json")
    assert result.exit_code == 0, result.output
    assert "lambada scoring: " in result.output and "tok/s, ETA" in result.output
    assert "stop-word filter: top-10 first tokens after 3 contexts" in result.output


@pytest.mark.fresh_load  # what loading leaves behind: a cached model would not load
def test_hub_download_bars_stay_on(tiny_model_dir):
    from huggingface_hub.utils import are_progress_bars_disabled, enable_progress_bars

    from gpt2eval.config import ModelConfig
    from gpt2eval.models.loading import load_model

    enable_progress_bars()
    load_model(ModelConfig(model=str(tiny_model_dir), device="cpu"))
    assert not are_progress_bars_disabled()


def test_first_difference_shows_a_window_not_whole_lines():
    original = "a" * 200 + " , said he" + "b" * 200
    text = first_difference(original, original.replace(" , ", ", "))
    assert "first difference at character 200 of 410" in text
    assert all(len(line) < 80 for line in text.splitlines()), text


def test_log_samples_for_stream_tasks_and_lambada_context(tiny_model_dir, data_dir, tmp_path):
    result = run("run", "--task", "ptb", "--task", "lambada", "--model", tiny_model_dir, "--data-dir", data_dir,
                 "--limit", 2, "--output", tmp_path, "--log-samples", "--quiet")
    assert result.exit_code == 0, result.output
    ptb = [json.loads(line) for line in (tmp_path / "ptb.samples.jsonl").read_text().splitlines()]
    assert len(ptb) == 2 and {"id", "nll_nats", "n_tokens", "n_units"} <= set(ptb[0])
    assert sum(s["n_tokens"] for s in ptb) == json.loads((tmp_path / "ptb.json").read_text())["totals"]["n_tokens"]
    lambada = [json.loads(line) for line in (tmp_path / "lambada.samples.jsonl").read_text().splitlines()]
    assert lambada[0]["context"] and lambada[0]["context"].split()[-1] != lambada[0]["target"]


def test_log_samples_cbt_has_every_candidates_score(tiny_model_dir, tmp_path):
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures" / "cbt"
    result = run("run", "--task", "cbt-cn", "--model", tiny_model_dir, "--data-dir", fixtures, "--limit", 2,
                 "--output", tmp_path / "cbt.json", "--log-samples", "--quiet")
    assert result.exit_code == 0, result.output
    samples = [json.loads(line) for line in (tmp_path / "cbt.samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 and len(samples[0]["nll_nats"]) == len(samples[0]["candidates"]) == 10
    assert samples[0]["predicted"] == samples[0]["candidates"][samples[0]["nll_nats"].index(min(samples[0]["nll_nats"]))]
    acc = json.loads((tmp_path / "cbt.json").read_text())["metrics"]["acc"]
    assert acc == sum(s["correct"] for s in samples) / 2


def test_detok_check_failure_shows_where_not_whole_lines(data_dir):
    result = run("detok-check", "--task", "wikitext103", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "4,357/4,358 lines round-trip" in result.output  # the one line that does not
    assert "first difference at character" in result.output
    assert max(len(line) for line in result.output.splitlines()) < 120, result.output
