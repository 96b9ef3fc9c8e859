"""`gpt2eval sensitivity`: one choice varied at a time from a preset, one result per variant
(left out of tables), the summary and the tornado chart; `plot` redraws it."""
import json

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig, WindowConfig
from gpt2eval.pipeline.presets import resolve
from gpt2eval.analysis.sensitivity import choices_for
from gpt2eval.tasks.lambada import Lambada
from gpt2eval.tasks.ptb import PTB


def test_choices_follow_what_the_task_reads():
    w, d = resolve(Lambada, WindowConfig(eos_prefix=None), DataConfig(detokenizer=None))
    assert choices_for(Lambada, w, d, [64]) == [
        ("lambada_format", "as-is"), ("lambada_format", "lm-eval"), ("lambada_format", "bflm"), ("stopword_filter", "token"),
        ("stopwords", "nltk127"), ("lambada_match", "bert")]  # no --stopword-steps: the word filter takes none
    w, d = resolve(Lambada, WindowConfig(eos_prefix=None), DataConfig(detokenizer=None, preset="bflm"))
    assert choices_for(Lambada, w, d, []) == [
        ("lambada_format", "openai"), ("lambada_format", "as-is"), ("lambada_format", "lm-eval"), ("stopword_filter", "word"),
        ("stopwords", "nltk179"), ("stopword_steps", 3), ("lambada_match", "bare")]
    w, d = resolve(Lambada, WindowConfig(eos_prefix=None), DataConfig(detokenizer=None, options={"lambada_format": "as-is"}))
    assert ("eos_prefix", False) in choices_for(Lambada, w, d, [])  # as-is reads the prefix
    w, d = resolve(PTB, WindowConfig(eos_prefix=None, stride=128, last_window=None), DataConfig(detokenizer=None, preset="megatron"))
    assert choices_for(PTB, w, d, [128, 32]) == [
        ("detokenizer", "default"), ("detokenizer", "none"), ("word_count", "paper"), ("word_divisor", "words"),
        ("eos_prefix", True), ("last_window", "right"), ("stride", 32)]


def test_sensitivity_cli(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "sens"
    args = ["sensitivity", "--task", "ptb", "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--limit", "20",
            "--strides", "64", "--batch-size", "8", "--quiet", "--output", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "ptb-sensitivity.json").read_text())
    assert summary["preset"] == "paper" and summary["paper_model"] == "gpt2" and summary["limit"] == 20  # table's nearest-size rule
    rows = {(r["choice"], str(r["value"])): r for r in summary["rows"]}
    assert set(rows) == {("base", "paper"), ("detokenizer", "none"), ("detokenizer", "megatron"), ("word_count", "megatron"),
                         ("word_divisor", "words-1"), ("eos_prefix", "False"), ("last_window", "stride"), ("stride", "64")}
    base = rows[("base", "paper")]["result"]
    assert rows[("base", "paper")]["diff"] == 0 and rows[("base", "paper")]["to_paper"] == pytest.approx(base - 65.85)
    none = json.loads((out / "ptb-detokenizer-none.json").read_text())
    assert none["sweep"] == {"parameter": "sensitivity", "choice": "detokenizer", "value": "none", "preset": "paper"}
    assert rows[("detokenizer", "none")]["diff"] == pytest.approx(none["metrics"]["word_perplexity"] - base)
    assert json.loads((out / "ptb-stride-64.json").read_text())["config"]["window"]["stride"] == 64
    assert (out / "ptb-tornado.png").stat().st_size > 10_000 and "| stride | 64 |" in (out / "ptb-sensitivity.md").read_text()
    # Tables leave sensitivity runs out; plot draws their tornado.
    table = CliRunner().invoke(main, ["table", str(out)])
    assert table.exit_code == 2 and "no gpt2eval result files" in table.output
    figures = CliRunner().invoke(main, ["plot", str(out), "--output", str(tmp_path / "fig")])
    assert figures.exit_code == 0 and (tmp_path / "fig" / f"tornado-{tiny_model_dir.name}-ptb.png").exists(), figures.output


@pytest.mark.parametrize("args, message", [
    (["--task", "ptb", "--strides", "0"], "--strides: stride 0 must be >= 1"),
    (["--task", "ptb", "--strides", "a,b"], "--strides 'a,b': expected comma-separated integers"),
    (["--task", "ptb", "--paper-model", "gpt3"], "--paper-model 'gpt3' is not one of"),
    (["--task", "lambada", "--word-count", "megatron"], "--word-count does not apply to task lambada"),
])
def test_bad_options_are_one_line_errors(args, message, data_dir):
    result = CliRunner().invoke(main, ["sensitivity", *args, "--model", "/nonexistent", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
