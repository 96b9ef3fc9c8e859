"""One pipeline behind run, reproduce, sweep-stride and sensitivity: every check before the
weights load, the work-unit store, overwrite protection, presets resolved once per job."""
import json
import os
import re
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

import gpt2eval.models.loading
from gpt2eval.cli import main

from conftest import assert_usage_error as usage_error, run

ROOT = Path(__file__).resolve().parents[1]
# The two commands that once had a loop of their own, on PTB at a stride the tiny model allows.
COMMANDS = {
    "sensitivity": ["sensitivity", "--task", "ptb", "--strides", "64"],
    "sweep-stride": ["sweep-stride", "--task", "ptb", "--strides", "64,128"],
}


# Warnings (transformers' on loading) may stand beside the error line.
assert_usage_error = partial(usage_error, ignore=("warning:", "[transformers]"))


@pytest.fixture
def no_weights(monkeypatch):
    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: pytest.fail("the weights loaded"))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", ["bert", "stride 0", "max-length 4096", "output under a file", "output read-only"])
def test_refused_before_the_weights_load(command, case, tiny_model_dir, bert_dir, data_dir, tmp_path, monkeypatch, no_weights):
    import gpt2eval.results.paths

    out, model, extra = tmp_path / "out", tiny_model_dir, []
    fragment = {
        "bert": "not a causal decoder",
        "stride 0": "--stride 0 must be >= 1" if command == "sensitivity" else "--stride does not apply to sweep-stride",
        "max-length 4096": "--max-length 4096 exceeds the model's context length 128",
        "output under a file": "is a file, so nothing can be written under it",
        "output read-only": "is a folder you cannot write to",
    }[case]
    if case == "bert":
        model = bert_dir
    elif case in ("stride 0", "max-length 4096"):
        extra = ["--" + case.split()[0], case.split()[1]]
    elif case == "output under a file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "out"
    else:  # as root every folder is writable: the check itself is what is tested
        out.mkdir()
        real = os.access
        monkeypatch.setattr(gpt2eval.results.paths.os, "access",
                            lambda p, mode: real(p, mode) and not (Path(p) == out and mode & os.W_OK))
    result = run(*COMMANDS[command], "--model", model, "--data-dir", data_dir, "--limit", 5, "--output", out, *extra)
    assert_usage_error(result, fragment)
    assert not list(out.glob("*.json")) if out.is_dir() else not out.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_rerun_reuses_the_cache_and_another_config_is_kept(command, tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "out"
    args = [*COMMANDS[command], "--model", tiny_model_dir, "--data-dir", data_dir, "--output", out, "--quiet",
            "--work-unit-tokens", 256]
    first = run(*args, "--limit", 12)
    assert first.exit_code == 0, first.output
    files = sorted(p for p in out.glob("ptb-*.json") if not p.name.endswith(("summary.json", "sensitivity.json")))
    assert len(files) >= 2
    before = {p: json.loads(p.read_text()) for p in files}

    again = run(*args, "--limit", 12)
    assert again.exit_code == 0, again.output
    counts = re.findall(r"^ptb[^:\n]*: ([\d,]+) work units, ([\d,]+) from the cache", again.output, re.MULTILINE)
    assert len(counts) == len(files) and all(units == cached != "0" for units, cached in counts), again.output
    for p, old in before.items():
        new = json.loads(p.read_text())
        assert new["metrics"] == old["metrics"] and new["per_document"] == old["per_document"], p.name
        assert new["run"]["units_from_cache"] == new["run"]["units"] > 0, p.name

    texts = {p: p.read_text() for p in files}
    assert_usage_error(run(*args, "--limit", 6), "holds a result of another config (documents (--limit) 12 != 6")
    assert {p: p.read_text() for p in files} == texts, "nothing replaced"
    forced = run(*args, "--limit", 6, "--force")
    assert forced.exit_code == 0, forced.output
    assert all(json.loads(p.read_text())["config"]["data"]["limit"] == 6 for p in files)


def test_presets_are_resolved_once_per_job(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.pipeline.presets as presets

    calls = []
    real = presets.resolve
    monkeypatch.setattr(presets, "resolve", lambda cls, w, d: calls.append(cls.name) or real(cls, w, d))
    out = tmp_path / "sens"
    result = run(*COMMANDS["sensitivity"], "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 3,
                 "--output", out, "--quiet", "--no-resume")
    assert result.exit_code == 0, result.output
    n_jobs = len(json.loads((out / "ptb-sensitivity.json").read_text())["rows"])
    assert calls == ["ptb"] * n_jobs


def test_old_run_flags_still_work_with_a_warning(tiny_model_dir, data_dir, tmp_path):
    store = tmp_path / "store"
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 2, "--quiet",
                 "--unit-tokens", 300, "--cache-dir", store, "--output", tmp_path / "ptb.json")
    assert result.exit_code == 0, result.output
    assert "warning: --unit-tokens is deprecated: use --work-unit-tokens" in result.output
    assert "warning: --cache-dir is deprecated: use --store-dir" in result.output
    assert json.loads((tmp_path / "ptb.json").read_text())["config"]["run"] == {
        "resume": True, "store_dir": str(store), "work_unit_tokens": 300}
    assert (store / "gpt2eval-cache.sqlite").exists()
    both = run("run", "--task", "ptb", "--unit-tokens", 300, "--work-unit-tokens", 200)
    assert_usage_error(both, "--unit-tokens is the old name of --work-unit-tokens: pass only --work-unit-tokens")
    help_text = run("run", "--help").output
    assert "--work-unit-tokens" in help_text and "--store-dir" in help_text and "--no-resume" in help_text
    assert "--unit-tokens" not in help_text and "--cache-dir" not in help_text


def test_an_output_that_becomes_unwritable_says_how_to_finish(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.results.files

    def denied(result, path):
        raise PermissionError(13, "Permission denied", str(path))

    args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 4,
            "--output", tmp_path / "ptb.json", "--work-unit-tokens", 128]
    with monkeypatch.context() as m:
        m.setattr(gpt2eval.results.files, "write_json", denied)
        failed = run(*args)
    assert failed.exit_code == 2 and "Traceback" not in failed.output, failed.output
    assert failed.output.splitlines()[-1].startswith(
        f"error: cannot write {tmp_path / 'ptb.json'} (Permission denied): the scored work units are kept in "
        f"{tmp_path / 'gpt2eval-cache.sqlite'}: make the folder writable and rerun the same command"), failed.output
    again = run(*args)
    assert again.exit_code == 0, again.output
    units = json.loads((tmp_path / "ptb.json").read_text())["run"]
    assert units["units_from_cache"] == units["units"]


def test_a_summary_that_cannot_be_written_keeps_the_results(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.results.atomic

    def denied(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(gpt2eval.results.atomic, "write_text", denied)
    out = tmp_path / "sweep"
    result = run(*COMMANDS["sweep-stride"], "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 3, "--output", out)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.output.splitlines()[-1].startswith(f"error: cannot write {out / 'ptb-stride-summary.json'} (Permission denied)")
    assert (out / "ptb-stride64.json").exists() and (out / "ptb-stride128.json").exists()


def test_overlap_outputs_are_checked_before_the_corpus_pass(tmp_path, data_dir, monkeypatch):
    import gpt2eval.analysis.overlap

    monkeypatch.setattr(gpt2eval.analysis.overlap, "build_filter", lambda *a, **k: pytest.fail("the corpus was read"))
    (tmp_path / "afile").write_text("x")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("some training text\n")
    common = ["overlap", "--task", "ptb", "--data-dir", data_dir, "--limit", 2, "--corpus", corpus]
    assert_usage_error(run(*common, "--output", tmp_path / "afile" / "o.json"), "is a file, so nothing")
    assert_usage_error(run(*common, "--filter", tmp_path / "afile" / "f.bloom", "--output", tmp_path / "o.json"),
                       "--filter")


def test_only_the_pipeline_scores_and_writes_results():
    """No command or analysis keeps a loop of its own that loads a model, scores and writes."""
    calls = re.compile(r"\b(load_model|evaluate_task|write_json)\(")
    outside = [f"{p.relative_to(ROOT)}: {m.group(1)}" for p in (ROOT / "gpt2eval").rglob("*.py")
               if p.parent.name not in ("pipeline", "models", "results")
               for m in calls.finditer(p.read_text()) if not (p.name == "overlap.py" and m.group(1) == "write_json")]
    assert outside == []


@pytest.mark.slow
def test_sweep_stride_under_torchrun_equals_one_process(tiny_model_dir, data_dir, tmp_path):
    import subprocess
    import sys

    import torch

    args = [*COMMANDS["sweep-stride"], "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--limit", "12",
            "--work-unit-tokens", "200", "--quiet", "--no-resume"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as torchrun sets each CPU process: the thread count moves last bits
    try:
        one = CliRunner().invoke(main, args + ["--output", str(tmp_path / "one")])
    finally:
        torch.set_num_threads(threads)
    assert one.exit_code == 0, one.output
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "gpt2eval", *args, "--output", str(tmp_path / "two")],
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("ptb stride") == 2 and two.stdout.count("summary ->") == 1, f"rank 0 alone prints: {two.stdout}"
    for stride in (64, 128):
        a, b = (json.loads((tmp_path / d / f"ptb-stride{stride}.json").read_text()) for d in ("one", "two"))
        assert b["run"]["world_size"] == 2 and b["run"]["units"] >= 2
        assert a["metrics"] == b["metrics"] and a["per_document"] == b["per_document"]
    assert (tmp_path / "two" / "ptb-stride-summary.json").exists()
