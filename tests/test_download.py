"""The offline workflow: `gpt2eval download` (hub monkeypatched to local parquet files), its
verification table, and the resumable `gpt2eval reproduce`."""
import hashlib
import json
import re
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gpt2eval.models.loading
from gpt2eval.data.files import HubDataset
from gpt2eval.pipeline.download import Fetched
from gpt2eval.tasks.cbt import CBTCN
from gpt2eval.tasks.characters import Text8
from gpt2eval.tasks.ptb import PTB
from gpt2eval.commands.reproduce import table3_tasks

from conftest import assert_usage_error as usage_error, run


# Exit 2 and one line on stderr (stdout may have reported what was fetched before).
assert_usage_error = partial(usage_error, stderr=True)


def parquet(path, **columns):
    pq.write_table(pa.table(columns), path)
    return str(path)


@pytest.fixture
def ptb_hub(data_dir, tmp_path, monkeypatch):
    """PTB's hub split as local parquet: the file's lines, stripped, as the hub has them."""
    lines = (data_dir / "ptb" / "ptb.test.txt").read_text(encoding="utf-8").splitlines()
    files = {"test": parquet(tmp_path / "ptb.parquet", sentence=[line.strip() for line in lines])}
    monkeypatch.setattr(PTB, "hub", HubDataset("parquet", None, "test", "sentence", data_files=files))


def table_rows(output):
    """{first cell: cells} of the download table (header first); cells are two or more spaces apart."""
    lines = output.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["what", "source", "rows", "sha256", "bytes", "time"], output
    return {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[1:] if not line.startswith("error:"))}


def test_data_dir_gets_the_original_file_back(ptb_hub, tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "data"
    result = run("download", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", out)
    assert result.exit_code == 0, result.output
    assert (out / "ptb" / "ptb.test.txt").read_bytes() == (data_dir / "ptb" / "ptb.test.txt").read_bytes()
    rows = table_rows(result.stdout)
    assert rows["ptb"][:5] == ["ptb", "parquet", "3,761", "ok", "449,945"], result.output
    assert "(3,761 documents)" in result.output  # read back through the task
    assert rows[f"model {tiny_model_dir}"][1] == "local directory"  # a local model needs nothing


def test_cache_mode_checks_the_rebuild_as_a_run_does(ptb_hub, tiny_model_dir):
    result = run("download", "--task", "ptb", "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout)["ptb"][:5] == ["ptb", "parquet", "3,761", "ok", "449,945"]


def test_a_rebuild_that_is_not_exact_is_a_mismatch_row_and_exit_1(data_dir, tiny_model_dir, tmp_path, monkeypatch):
    lines = (data_dir / "ptb" / "ptb.test.txt").read_text(encoding="utf-8").splitlines()
    files = {"test": parquet(tmp_path / "ptb.parquet", sentence=[line.strip() for line in lines[1:]])}  # one row lost
    monkeypatch.setattr(PTB, "hub", HubDataset("parquet", None, "test", "sentence", data_files=files))
    result = run("download", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", tmp_path / "data")
    assert result.exit_code == 1, result.output
    assert table_rows(result.stdout)["ptb"][2:4] == ["3,760", "mismatch"]
    assert "error: 1 of 2 not fetched or not exact: ptb (mismatch)" in result.stderr
    assert not (tmp_path / "data" / "ptb").exists()  # no wrong file under the original's name


def test_cbt_is_rebuilt_from_its_fields(tiny_model_dir, tmp_path, monkeypatch):
    from tests.test_cbt import hub_rows

    rows = hub_rows()
    files = {"validation": parquet(tmp_path / "cbt.parquet", **{k: [r[k] for r in rows] for k in rows[0]})}
    monkeypatch.setattr(CBTCN, "hub", HubDataset("parquet", None, "validation", "question", data_files=files))
    result = run("download", "--task", "cbt-cn", "--model", tiny_model_dir, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    [written] = (tmp_path / "data" / "cbt").glob("cbtest_*_valid_2000ex.txt")  # named after hub.name
    assert written.read_text().count("\n21 ") == len(rows)
    assert f"({len(rows)} documents)" in result.output
    assert table_rows(result.stdout)["cbt-cn"][3] == "unknown"  # no published checksum: counted, not proven


def test_character_tasks_write_the_whole_file(tiny_model_dir, tmp_path, monkeypatch):
    full = b" anarchism originated as a term of abuse" * 300  # 12,000 characters
    monkeypatch.setattr(Text8, "full_size", len(full))
    monkeypatch.setattr(Text8, "split_size", 3_000)
    monkeypatch.setattr(Text8, "full_sha256", hashlib.sha256(full).hexdigest())
    files = {s: parquet(tmp_path / f"{s}.parquet", text=[part.decode()])
             for s, part in (("train", full[:6_000]), ("validation", full[6_000:9_000]), ("test", full[9_000:]))}
    monkeypatch.setattr(Text8, "hub", HubDataset("parquet", None, "test", "text", data_files=files))
    result = run("download", "--task", "text8", "--model", tiny_model_dir, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "text8" / "text8").read_bytes() == full


def test_unreachable_hub_is_one_line_per_task_and_exit_1(tiny_model_dir, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def offline(repo_id, filename, **kwargs):  # what hf_hub_download raises with no network
        calls.append(repo_id)
        raise huggingface_hub.errors.LocalEntryNotFoundError("Got: ConnectError: Name or service not known")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    result = run("download", "--task", "ptb", "--task", "wikitext2", "--task", "1bw", "--model", tiny_model_dir,
                 "--data-dir", tmp_path / "data")
    assert result.exit_code == 1, result.output
    rows = table_rows(result.stdout)
    assert len(result.stdout.splitlines()) == 1 + 1 + 3  # header, the model, one line per task
    assert rows["ptb"][1:4] == ["ptb-text-only/ptb_text_only@refs/convert/parquet", "-", "unreachable"]
    assert "cannot load ptb-text-only/ptb_text_only@refs/convert/parquet from the hub (LocalEntryNotFoundError)" in result.stdout
    assert rows["1bw"][3] == "unreachable" and "not tried: the hub did not answer for ptb" in result.stdout
    assert calls == ["ptb-text-only/ptb_text_only"]  # no wait on the others
    assert result.stderr.startswith("error: 3 of 4 not fetched or not exact: ptb (unreachable), wikitext2 (unreachable)")
    assert "Traceback" not in result.output and not (tmp_path / "data" / "ptb").exists()


def test_failed_model_is_one_row_and_exit_1(monkeypatch):
    import huggingface_hub

    def missing(*args, **kwargs):
        raise OSError("404 Repository Not Found")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", missing)
    monkeypatch.setattr("gpt2eval.pipeline.download.fetch_task", lambda name, data_dir: Fetched(name, "stub", sha256="ok"))
    result = run("download", "--task", "ptb", "--model", "gpt2-xxl")
    assert result.exit_code == 1, result.output
    assert table_rows(result.stdout)["model gpt2-xxl"][1:4] == ["hub gpt2-xxl", "-", "failed"]
    assert "cannot download model 'gpt2-xxl' (OSError: 404 Repository Not Found)" in result.stdout
    assert result.stderr.strip() == "error: 1 of 2 not fetched or not exact: model gpt2-xxl (failed) (see the table): " \
        "runs need the network, the original files in --data-dir, or --allow-data-mismatch for a rebuild that is not exact"


def test_hub_model_snapshot_skips_other_frameworks(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def snapshot(repo, revision=None, allow_patterns=()):
        calls.append(allow_patterns)
        (tmp_path / "model.safetensors").write_bytes(b"")
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    monkeypatch.setattr("gpt2eval.pipeline.download.fetch_task", lambda name, data_dir: Fetched(name, "stub", sha256="ok"))
    result = run("download", "--model", "gpt2", "--model", "gpt2-medium")
    assert result.exit_code == 0, result.output
    assert len(calls) == 2 and "*.safetensors" in calls[0] and not any("h5" in p or "msgpack" in p for p in calls[0])
    assert [line.split()[0] for line in result.output.splitlines()[3:]] == table3_tasks()


@pytest.mark.parametrize("args, fragment", [
    (["--task", "nope"], "unknown task 'nope'"),
    (["--task", "text"], "task text reads only your own files"),
])
def test_bad_downloads_are_one_line(tiny_model_dir, args, fragment):
    assert_usage_error(run("download", *args, "--model", tiny_model_dir), fragment)


def test_offline_mode_refuses_to_download(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert_usage_error(run("download", "--task", "ptb"), "HF_HUB_OFFLINE is set")


# --- gpt2eval reproduce: resumable, each task on its own ---------------------------------
def test_reproduce_skips_same_config_keeps_another_and_reruns_on_force(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    out = tmp_path / "results"
    base = ["reproduce", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 5, "--output", out, "--quiet"]
    first = run(*base, "--tasks", "ptb,cbt-cn", "--no-report")  # the report is drawn once, below
    assert first.exit_code == 1, first.output  # a skipped task is not a success
    assert "ptb: word_perplexity=" in first.output
    assert "cbt-cn: SKIPPED, data missing: " in first.output and "no result for cbt-cn" in first.output
    stamp = json.loads((out / "ptb.json").read_text())["created_at"], (out / "ptb.json").stat().st_mtime_ns

    def no_load(cfg):
        raise AssertionError("nothing to run: the model must not load")

    with monkeypatch.context() as m:
        m.setattr(gpt2eval.models.loading, "load_model", no_load)
        again = run(*base, "--tasks", "ptb", "--device", "cpu", "--batch-size", 4)  # neither changes numbers
        assert again.exit_code == 0, again.output
        assert "ptb: skipped" in again.output and (out / "ptb.json").stat().st_mtime_ns == stamp[1]
        assert (out / "table3.md").exists() and (out / "figures" / "scaling.pdf").exists(), "nothing to run: still the report"
    changed = run(*base, "--tasks", "ptb", "--stride", 64, "--no-report")  # another config: the old result is kept
    assert "ptb: kept" in changed.output and "stride 128 != 64" in changed.output, changed.output
    assert json.loads((out / "ptb.json").read_text())["config"]["window"]["stride"] == 128
    forced = run(*base, "--tasks", "ptb", "--stride", 64, "--force", "--no-report")
    assert forced.exit_code == 0 and "skipped" not in forced.output and "ptb: word_perplexity=" in forced.output
    assert json.loads((out / "ptb.json").read_text())["config"]["window"]["stride"] == 64


def test_reproduce_defaults_to_the_table3_tasks_and_checks_names_first(tiny_model_dir, tmp_path):
    assert table3_tasks() == ["lambada", "cbt-cn", "cbt-ne", "wikitext2", "ptb", "enwik8", "text8", "wikitext103", "1bw"]
    result = run("reproduce", "--model", tiny_model_dir, "--tasks", "ptb,nope", "--output", tmp_path)
    assert_usage_error(result, "unknown task 'nope'")
