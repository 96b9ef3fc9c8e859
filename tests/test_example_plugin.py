"""The example plugin (examples/gpt2eval-proverbs), installed as a third party installs it.

Its task registers through the ``gpt2eval.tasks`` entry point of its own pyproject, and
its one option, declared in its own file, gets a flag, a check, a preset value, a
sensitivity variant and a † marker: nothing in gpt2eval names it.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpt2eval.config import DataConfig, WindowConfig
from gpt2eval.registry import _entry_points, get_task_class

from conftest import run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gpt2eval-proverbs"


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """pip-installed into a temporary folder put on sys.path: its dist-info holds the entry
    point, as an installed package's would (built from a copy: a build writes beside its sources)."""
    tmp = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, tmp / "source")
    target = tmp / "site-packages"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                           "--target", str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(target))
    _entry_points.cache_clear()
    yield get_task_class("proverbs")
    sys.path.remove(str(target))
    _entry_points.cache_clear()
    sys.modules.pop("gpt2eval_proverbs", None)


def test_it_is_listed_and_its_option_is_a_flag(plugin):
    assert any(line.startswith("proverbs ") for line in run("tasks").output.splitlines())
    help_text = " ".join(run("run", "--help").output.split())
    assert "--proverbs-separator [newline|space] proverbs: what separates the proverbs" in help_text
    assert "[default: newline; --preset lm-eval: space]" in help_text
    assert "--proverbs-separator" in run("sensitivity", "--help").output


@pytest.mark.parametrize("args, message", [
    (["--task", "proverbs", "--proverbs-separator", "tab"], "error: Invalid value for '--proverbs-separator': 'tab' is not one of"),
    (["--task", "ptb", "--proverbs-separator", "space"], "error: --proverbs-separator does not apply to task ptb: drop it"),
])
def test_bad_values_are_one_line_errors(plugin, args, message):
    result = run("run", *args, "--model", "/nonexistent")
    assert result.exit_code == 2 and result.output.startswith(message) and len(result.output.splitlines()) == 1, result.output


def test_a_run_records_the_option_and_the_table_marks_it(plugin, tiny_model_dir, tmp_path):
    from gpt2eval.report.table import protocol_differences

    results = {}
    for separator in ("newline", "space"):
        out = tmp_path / f"{separator}.json"
        result = run("run", "--task", "proverbs", "--proverbs-separator", separator, "--model", tiny_model_dir, "--quiet",
                     "--output", out)
        assert result.exit_code == 0, result.output
        results[separator] = json.loads(out.read_text())
    space = results["space"]
    assert space["config"]["data"]["proverbs_separator"] == "space"
    assert space["config"]["protocol"] == {"detokenizer": "none", "proverbs_separator": "space"}
    assert space["totals"]["n_units"] == results["newline"]["totals"]["n_units"] == plugin.denominator == 198
    assert space["metrics"]["word_perplexity"] != results["newline"]["metrics"]["word_perplexity"]
    assert "--proverbs-separator space" in protocol_differences(space)
    assert not any("proverbs" in mark for mark in protocol_differences(results["newline"]))
    refused = run("compare", tmp_path / "newline.json", tmp_path / "space.json")
    assert refused.exit_code == 2 and "protocol.proverbs_separator 'newline' -> 'space'" in refused.output


def test_presets_fill_it_and_sensitivity_varies_it(plugin):
    from gpt2eval.analysis.sensitivity import apply_variant, choices_for
    from gpt2eval.pipeline.evaluate import prepare
    from gpt2eval.pipeline.presets import resolve

    window, data = resolve(plugin, WindowConfig(eos_prefix=None), DataConfig(detokenizer=None, preset="lm-eval"))
    assert data.option("proverbs_separator") == "space"
    window, data = resolve(plugin, WindowConfig(eos_prefix=None), DataConfig(detokenizer=None))
    assert data.option("proverbs_separator") is None  # the paper preset leaves it to the default
    variants = choices_for(plugin, window, data, [64])
    assert ("proverbs_separator", "space") in variants
    _, base = prepare("proverbs", data, window)
    varied_window, varied_data = apply_variant("proverbs_separator", "space", window, data)
    _, varied = prepare("proverbs", varied_data, varied_window)
    assert base[1].text == "Actions speak louder than words.\n" and varied[1].text == " Actions speak louder than words."
