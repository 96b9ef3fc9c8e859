"""Data that is not the published file is never a plain number (issue 9 item 3).

A local --data-dir file is scored whatever it holds (a user-made subset such as half of
ptb.test.txt is a legitimate thing to score), with or without --allow-data-mismatch, but
marked: the run's summary line, `table` († and a footnote), `compare` (refused without
--ignore-config). A rebuild from the hub that does not match is refused (test_hub_rebuild.py)
unless --allow-data-mismatch, and then marked the same way.
"""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gpt2eval.data.files import HubDataset
from gpt2eval.registry import get_task_class

from conftest import run


@pytest.fixture(scope="module")
def half_ptb(data_dir, tmp_path_factory):
    """A data dir whose ptb.test.txt is the first half of the real one."""
    folder = tmp_path_factory.mktemp("half")
    text = (data_dir / "ptb/ptb.test.txt").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    (folder / "ptb").mkdir()
    (folder / "ptb/ptb.test.txt").write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def two_runs(tiny_model_dir, data_dir, half_ptb, tmp_path_factory):
    """``ptb`` scored on the real file and on half of it: (full folder, half folder, half run output)."""
    out = tmp_path_factory.mktemp("runs")
    base = ["run", "--task", "ptb", "--model", tiny_model_dir, "--limit", 50, "--quiet"]
    full = run(*base, "--data-dir", data_dir, "--output", out / "full" / "ptb.json")
    half = run(*base, "--data-dir", half_ptb, "--output", out / "half" / "ptb.json")
    assert full.exit_code == 0 and half.exit_code == 0, full.output + half.output
    assert "MISMATCH" not in full.output
    return out / "full", out / "half", half.output


def test_summary_line_says_the_data_differ(two_runs):
    _, half, output = two_runs
    [line] = [line for line in output.splitlines() if line.startswith("ptb: word_perplexity=")]
    assert "word_perplexity=" in line and "† DATA MISMATCH: not the published file (ptb.test.txt sha256 " in line
    assert json.loads((half / "ptb.json").read_text())["data"]["files"][0]["checksum"] == "mismatch"


def test_table_marks_the_cell_and_says_why(two_runs, tmp_path):
    full, half, _ = two_runs
    out = run("table", half / "ptb.json", "--format", "markdown", "--paper-model", "gpt2")
    assert out.exit_code == 0, out.output
    row = next(line for line in out.output.splitlines() if "| ours" in line)
    notes = [line for line in out.output.splitlines() if line.startswith("†")]
    marker = next(n for n in notes if "data differ from the published file (sha256 mismatch)" in n).split()[0]
    assert marker in row, (row, notes)
    clean = run("table", full / "ptb.json", "--format", "markdown", "--paper-model", "gpt2")
    assert clean.exit_code == 0 and "data differ" not in clean.output, clean.output


def test_compare_refuses_other_data_unless_ignore_config(two_runs):
    full, half, _ = two_runs
    refused = run("compare", full, half)
    assert refused.exit_code == 2, refused.output
    assert refused.output.startswith("error: the data differ (ptb: baseline the published data, new ptb.test.txt sha256 ")
    assert "--ignore-config" in refused.output and len(refused.output.strip().splitlines()) == 1
    forced = run("compare", full, half, "--ignore-config")  # the first 50 lines agree, so do the numbers
    assert forced.exit_code == 0 and "note: compared anyway: the data differ" in forced.output, forced.output
    assert run("compare", half, half).exit_code == 0  # the same other data on both sides: comparable


def test_local_subset_is_scored_with_the_flag_too_and_still_marked(tiny_model_dir, half_ptb, tmp_path):
    out = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", half_ptb, "--limit", 3,
              "--allow-data-mismatch", "--quiet", "--output", tmp_path / "ptb.json")
    assert out.exit_code == 0 and "† DATA MISMATCH" in out.output, out.output


def test_hub_rebuild_mismatch_refused_before_the_model_loads_then_allowed_and_marked(data_dir, tmp_path, monkeypatch):
    import gpt2eval.models.loading

    def no_load(cfg):
        raise AssertionError("a refused task must not load the model")

    lines = (data_dir / "ptb/ptb.test.txt").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "half.parquet"
    pq.write_table(pa.table({"sentence": [line.strip() for line in lines[:1_000]]}), path)
    monkeypatch.setattr(get_task_class("ptb"), "hub", HubDataset("parquet", None, "test", "sentence", {"test": str(path)}))
    with monkeypatch.context() as m:
        m.setattr(gpt2eval.models.loading, "load_model", no_load)
        refused = run("run", "--task", "ptb", "--model", "/nowhere/tiny", "--output", tmp_path / "r.json")
    assert refused.exit_code == 2, refused.output
    [line] = [line for line in refused.output.splitlines() if "error" in line]  # (datasets' progress bar aside)
    assert line.startswith("error: ptb: parquet rebuilt as ptb/ptb.test.txt is not the original ptb/ptb.test.txt")
    assert "1,000 lines" in line and "--allow-data-mismatch" in line


def test_hub_rebuild_mismatch_allowed_is_marked(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    lines = (data_dir / "ptb/ptb.test.txt").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "half.parquet"
    pq.write_table(pa.table({"sentence": [line.strip() for line in lines[:1_000]]}), path)
    monkeypatch.setattr(get_task_class("ptb"), "hub", HubDataset("parquet", None, "test", "sentence", {"test": str(path)}))
    out = run("run", "--task", "ptb", "--model", tiny_model_dir, "--limit", 3, "--allow-data-mismatch", "--quiet",
              "--output", tmp_path / "r.json")
    assert out.exit_code == 0, out.output
    assert "† DATA MISMATCH: not the published file (parquet rebuilt, sha256 " in out.output
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["data"]["hub"]["checksum"] == "mismatch" and r["config"]["data"]["allow_data_mismatch"] is True
