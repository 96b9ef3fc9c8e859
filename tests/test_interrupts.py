"""Issue 16.5 and 16.9: preemption and resuming.

SIGTERM (what SLURM and Kubernetes send before they kill a job) is handled as Ctrl-C is:
a message that says where the finished work is and how to resume, exit 143, and a rerun
that reports its cache hits before it scores the rest. A result folder that turns
unwritable mid-run is one line saying the same.
"""
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main

GPT2EVAL = [sys.executable, "-m", "gpt2eval"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def committed(db) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as c:
            return c.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow  # a subprocess run, stopped and resumed: ~20 s on 2 free cores
def test_sigterm_mid_run_keeps_the_work_and_the_rerun_resumes(tiny_model_dir, data_dir, tmp_path):
    out, db = tmp_path / "run" / "ptb.json", tmp_path / "run" / "gpt2eval-cache.sqlite"
    args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 300, "--work-unit-tokens", 128,
            "--output", out]
    proc = subprocess.Popen(GPT2EVAL + [str(a) for a in args] + ["--quiet"], stderr=subprocess.PIPE, text=True)
    while committed(db) < 2:
        assert proc.poll() is None, f"finished before it could be stopped: {proc.stderr.read()}"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("terminated (SIGTERM): results written so far are kept") and str(db) in last, err
    assert "rerun the same command to resume" in last
    assert not out.exists()
    done = committed(db)

    again = run(*args)
    assert again.exit_code == 0, again.output
    lines = again.output.splitlines()
    note = next(i for i, x in enumerate(lines) if re.match(r"ptb scoring: [\d,]+ of [\d,]+ work units from the cache", x))
    final = next(i for i, x in enumerate(lines) if re.match(r"ptb: [\d,]+ work units, [\d,]+ from the cache", x))
    assert note < final, "the cache hits are reported before the scoring, not only at the end"
    cached = int(re.search(r"([\d,]+) from the cache", lines[final]).group(1).replace(",", ""))
    assert cached >= done and "tokens left to score" in lines[note]


def test_ctrl_c_says_how_to_resume(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.pipeline.evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gpt2eval.pipeline.evaluate, "evaluate_task", interrupted)
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 5,
                 "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == (
        "interrupted (Ctrl-C): results written so far are kept, and finished work units are in the work-unit store "
        f"{tmp_path / 'gpt2eval-cache.sqlite'}: rerun the same command to resume from there")


def test_without_a_cache_ctrl_c_says_only_what_is_kept(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.pipeline.evaluate

    monkeypatch.setattr(gpt2eval.pipeline.evaluate, "evaluate_task", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 5, "--no-resume",
                 "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 130 and result.output.strip().endswith("interrupted (Ctrl-C): results written so far are kept")


def test_an_output_folder_unwritable_mid_run_says_the_work_is_in_the_cache(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.results.files

    out = tmp_path / "out" / "ptb.json"
    args = ("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 5, "--output", out, "--quiet")

    def denied(result, path):
        raise PermissionError(13, "Permission denied", str(path))

    with monkeypatch.context() as m:
        m.setattr(gpt2eval.results.files, "write_json", denied)
        result = run(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert line == (f"error: cannot write {out} (Permission denied): the scored work units are kept in "
                    f"{out.parent / 'gpt2eval-cache.sqlite'}: make the folder writable and rerun the same command to finish from them")
    again = run(*args)
    assert again.exit_code == 0 and re.search(r"ptb: (\d+) work units, \1 from the cache", again.output), again.output


def test_sigterm_is_restored_after_a_command(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    run("tasks")
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_unwritable_result_is_named_not_its_temp_file(tmp_path):
    """results.atomic writes `.<name>.<random>.tmp` and renames it: the error names <name>."""
    from gpt2eval.pipeline.execute import named

    assert named(str(tmp_path / ".ptb.json.k2j4h.tmp")) == tmp_path / "ptb.json"
    assert named(str(tmp_path / "table3.md")) == tmp_path / "table3.md"
    assert named(None) is None
