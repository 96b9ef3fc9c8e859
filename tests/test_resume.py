"""Nothing lost: kill -9 then rerun resumes from the unit cache; results are written whole,
one writer per output; a local model is identified by its files' sha256."""
import json
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path


from gpt2eval.cli import main
from gpt2eval.models.fingerprint import weights_sha256
from gpt2eval.results.files import write_json
from gpt2eval.testing import SMALL_VOCAB_SIZE, save_tiny_gpt2

from conftest import run

GPT2EVAL = [sys.executable, "-m", "gpt2eval"]


def committed(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as c:
            return c.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_then_rerun_resumes_with_identical_metrics(tiny_model_dir, data_dir, tmp_path):
    args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 800, "--unit-tokens", 256, "--quiet"]
    reference = run(*args, "--no-cache", "--output", tmp_path / "ref.json")
    assert reference.exit_code == 0, reference.output
    assert not (tmp_path / "gpt2eval-cache.sqlite").exists(), "--no-cache keeps nothing"

    out, db = tmp_path / "run" / "ptb.json", tmp_path / "run" / "gpt2eval-cache.sqlite"
    proc = subprocess.Popen(GPT2EVAL + [str(a) for a in args] + ["--output", str(out)], stderr=subprocess.PIPE)
    while committed(db) < 3:
        assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read().decode()}"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "killed before the end: no result yet"
    done = committed(db)

    again = run(*args, "--output", out)
    assert again.exit_code == 0, again.output
    found = re.search(r"ptb: ([\d,]+) work units, ([\d,]+) from the cache", again.output)
    assert found, again.output
    n_units, n_cached = (int(x.replace(",", "")) for x in found.groups())
    assert done <= n_cached < n_units, found.group(0)
    a, b = json.loads((tmp_path / "ref.json").read_text()), json.loads(out.read_text())
    assert a["metrics"] == b["metrics"] and a["totals"] == b["totals"] and a["per_document"] == b["per_document"]
    assert b["run"]["units_from_cache"] == n_cached and b["config"]["run"]["work_unit_tokens"] == 256
    assert b["model"]["weights_sha256"] == weights_sha256(str(tiny_model_dir))

    info = run("cache", "info", tmp_path / "run")
    assert info.exit_code == 0 and f"spans: {n_units:,} units" in info.output, info.output
    cleared = run("cache", "clear", tmp_path / "run")
    assert cleared.exit_code == 0 and not db.exists() and out.exists(), cleared.output


def test_a_second_process_on_the_same_output_is_refused(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from gpt2eval.results.atomic import OutputLock; OutputLock().acquire(sys.argv[1]); print('held', flush=True); time.sleep(120)", str(out)],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"held"
        args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 5, "--output", out, "--quiet"]
        refused = run(*args)
        assert refused.exit_code == 2, refused.output
        assert refused.output.strip() == f"error: another gpt2eval process is writing {out}: wait for it to finish, or pass another --output"
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert run(*args).exit_code == 0 and json.loads(out.read_text())["task"] == "ptb"


def test_concurrent_writers_never_leave_a_broken_file(tmp_path):
    path = tmp_path / "r.json"
    errors = []

    def writer(n):
        try:
            for i in range(100):
                write_json({"writer": n, "i": i, "pad": "x" * 20_000}, path)
        except Exception as e:  # noqa: BLE001 -- the test reports any failure
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if path.exists():
            assert json.loads(path.read_text())["pad"] == "x" * 20_000
    for t in threads:
        t.join()
    assert not errors, errors
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"], "no temp files left behind"


def test_revision_with_a_local_directory_is_refused(tiny_model_dir, data_dir, tmp_path):
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--revision", "main", "--data-dir", data_dir, "--limit", 1, "--output", tmp_path)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --revision main applies to hub models") and len(result.output.splitlines()) == 1


def test_local_weights_hash_identifies_the_checkpoint(tiny_model_dir, tmp_path):
    other = save_tiny_gpt2(tmp_path / "other", seed=1, vocab_size=SMALL_VOCAB_SIZE)  # only the weights differ
    assert weights_sha256(str(tiny_model_dir)) != weights_sha256(str(other))
    assert weights_sha256(str(tiny_model_dir)) == weights_sha256(str(tiny_model_dir))
    assert weights_sha256("gpt2-large") is None
