"""`reproduce` and the Makefile: a skipped task is a failure, the model is tried first,
the table is printed and written, and no make variable reaches a shell unquoted."""
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run


ROOT = Path(__file__).resolve().parents[1]


def test_reproduce_exits_1_and_says_how_to_fetch_when_a_task_is_skipped(tiny_model_dir, data_dir, tmp_path):
    result = run("reproduce", "--model", tiny_model_dir, "--data-dir", data_dir, "--tasks", "ptb,cbt-cn",
                 "--limit", 3, "--output", tmp_path / "out", "--quiet")
    assert result.exit_code == 1, result.output
    assert "cbt-cn: SKIPPED, data missing" in result.output
    assert "no result for cbt-cn" in result.output and "make download" in result.output and "DATA_DIR=" in result.output
    assert (tmp_path / "out" / "ptb.json").exists()
    # The table of what was computed is printed and written (with the figures).
    assert "| ours" in result.output and "paper gpt2" in result.output
    assert (tmp_path / "out" / "table3.md").exists() and (tmp_path / "out" / "figures" / "scaling.png").exists()
    assert "Traceback" not in result.output


def test_reproduce_tries_the_model_before_reporting_missing_data(tmp_path):
    result = run("reproduce", "--model", tmp_path / "no-such-model", "--data-dir", tmp_path, "--tasks", "ptb",
                 "--results-dir", tmp_path / "results", "--quiet")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.strip() and not line.startswith("results folder")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "model" in errors[0], result.output
    assert "SKIPPED" not in result.output


def test_reproduce_takes_repeated_task_and_prints_its_folder(tiny_model_dir, data_dir, tmp_path):
    result = run("reproduce", "--model", tiny_model_dir, "--data-dir", data_dir, "--task", "ptb", "--limit", 2,
                 "--results-dir", tmp_path / "res", "--no-report", "--quiet")
    assert result.exit_code == 0, result.output
    assert f"results folder: {tmp_path / 'res' / tiny_model_dir.name}" in result.output
    assert (tmp_path / "res" / tiny_model_dir.name / "ptb.json").exists()
    assert not (tmp_path / "res" / tiny_model_dir.name / "table3.md").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_makefile_quotes_every_variable_and_runs_nothing_under_dry_run(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()  # newer than pyproject.toml: install is up to date
    canary = tmp_path / "pwned"
    model = f"x'; touch {canary}; echo '"
    args = ["make", "-n", "-C", str(ROOT), f"VENV={venv}", "reproduce-table", f"MODEL={model}",
            "BATCH_SIZE=8; echo hi", "DATA_DIR=/data dir", "LIMIT=5 --force", f"RESULTS={tmp_path}/r s"]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not canary.exists(), "make ran user text through a shell"
    [line] = [line for line in out.stdout.splitlines() if " reproduce " in line]
    words = shlex.split(line)
    assert words[words.index("--model") + 1] == model
    assert words[words.index("--batch-size") + 1] == "8; echo hi"
    assert words[words.index("--data-dir") + 1] == "/data dir"
    assert words[words.index("--limit") + 1] == "5 --force" and "--force" not in words
    assert words[words.index("--results-dir") + 1] == f"{tmp_path}/r s"
    assert "$(shell" not in (ROOT / "Makefile").read_text()
