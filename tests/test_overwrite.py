"""Issue 16.3: overwrite protection compares what the numbers depend on, resolved.

The data read (sha256), the weights (a local folder's sha256, wherever it lies), and the
options as run, not as spelled: `--dtype auto` is float32 on a CPU, a --limit that cuts
nothing is no limit. `run` and `reproduce` apply it, `overlap` too (with --force), and
`check_replace` is the one function a command calls.
"""
import json
import shutil

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(result, fragment):
    assert result.exit_code == 2, result.output
    assert "holds a result of another config" in result.output and fragment in result.output, result.output


@pytest.fixture
def ptb_dirs(data_dir, tmp_path):
    """Two data folders, each with a 40-line ptb.test.txt: the same length, other lines."""
    lines = (data_dir / "ptb" / "ptb.test.txt").read_text().splitlines(keepends=True)
    dirs = []
    for name, chunk in (("a", lines[:40]), ("b", lines[40:80])):
        (tmp_path / name / "ptb").mkdir(parents=True)
        (tmp_path / name / "ptb" / "ptb.test.txt").write_text("".join(chunk))
        dirs.append(tmp_path / name)
    return dirs


def test_run_refuses_to_replace_a_result_made_from_other_data(tiny_model_dir, ptb_dirs, tmp_path):
    out = tmp_path / "ptb.json"
    first = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", ptb_dirs[0], "--output", out, "--quiet")
    assert first.exit_code == 0, first.output
    before = out.read_text()
    refused(run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", ptb_dirs[1], "--output", out, "--quiet"),
            "the data differ (ptb.test.txt")
    assert out.read_text() == before
    again = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", ptb_dirs[1], "--output", out, "--quiet", "--force")
    assert again.exit_code == 0 and out.read_text() != before


def test_run_refuses_to_replace_a_result_of_other_weights_at_the_same_path(tiny_model_dir, data_dir, tmp_path):
    from gpt2eval.testing import save_tiny_gpt2

    model, out = tmp_path / "model", tmp_path / "ptb.json"
    shutil.copytree(tiny_model_dir, model)
    args = ("run", "--task", "ptb", "--model", model, "--data-dir", data_dir, "--limit", 5, "--output", out, "--quiet")
    assert run(*args).exit_code == 0
    save_tiny_gpt2(model, seed=1)  # new weights, same folder
    refused(run(*args), "model 'local weights sha256")


def test_the_same_weights_elsewhere_are_the_same_model(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    args = ("run", "--task", "ptb", "--data-dir", data_dir, "--limit", 5, "--output", out, "--quiet")
    assert run(*args, "--model", tiny_model_dir).exit_code == 0
    moved = shutil.copytree(tiny_model_dir, tmp_path / "copy")
    result = run(*args, "--model", moved)
    assert result.exit_code == 0, result.output


def test_dtype_auto_and_float32_are_one_config_on_a_cpu(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    args = ("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 5, "--output", out,
            "--quiet", "--device", "cpu")
    assert run(*args, "--dtype", "float32").exit_code == 0
    result = run(*args, "--dtype", "auto")
    assert result.exit_code == 0, result.output
    refused(run(*args, "--dtype", "bfloat16"), "dtype as run 'float32' != 'bfloat16'")


def test_a_limit_that_cuts_nothing_is_no_limit(tiny_model_dir, ptb_dirs, tmp_path):
    out = tmp_path / "ptb.json"
    args = ("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", ptb_dirs[0], "--output", out, "--quiet")
    assert run(*args).exit_code == 0
    result = run(*args, "--limit", 10_000)  # 40 sentences either way
    assert result.exit_code == 0, result.output
    refused(run(*args, "--limit", 39), "documents (--limit) 40 != 39")


def test_reproduce_reruns_nothing_of_other_data_and_says_why(tiny_model_dir, ptb_dirs, tmp_path):
    args = ("reproduce", "--tasks", "ptb", "--model", tiny_model_dir, "--output", tmp_path / "out", "--no-report", "--quiet")
    assert run(*args, "--data-dir", ptb_dirs[0]).exit_code == 0
    before = (tmp_path / "out" / "ptb.json").read_text()
    same = run(*args, "--data-dir", ptb_dirs[0])
    assert same.exit_code == 0 and "skipped" in same.output and "same config and data" in same.output, same.output
    other = run(*args, "--data-dir", ptb_dirs[1])
    assert "kept" in other.output and "the data differ" in other.output, other.output
    assert (tmp_path / "out" / "ptb.json").read_text() == before


def test_check_replace_is_one_call_for_any_command(tiny_model_dir, ptb_dirs, tmp_path):
    """What the pipeline's plan calls for every job of run, reproduce, sensitivity and sweep-stride."""
    from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
    from gpt2eval.errors import UsageError
    from gpt2eval.pipeline.overwrite import check_replace, model_identity
    from gpt2eval.pipeline.plan import build_tasks, job, load_documents, model_config

    out = tmp_path / "ptb.json"
    assert run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", ptb_dirs[0], "--output", out, "--quiet").exit_code == 0
    model_cfg = ModelConfig(model=str(tiny_model_dir), dtype="auto", device="cpu")
    model = model_identity(model_cfg, model_config(model_cfg))

    def prepared(data_dir):
        j = job("ptb", WindowConfig(eos_prefix=None), DataConfig(data_dir=str(data_dir)), out)
        build_tasks([j])
        return j.instance, load_documents(j.instance)

    check_replace(out, *prepared(ptb_dirs[0]), model, force=False)  # the same run
    with pytest.raises(UsageError, match="the data differ"):
        check_replace(out, *prepared(ptb_dirs[1]), model, force=False)
    check_replace(out, *prepared(ptb_dirs[1]), model, force=True)


def test_sweep_stride_keeps_a_result_of_other_data(tiny_model_dir, ptb_dirs, tmp_path):
    args = ("sweep-stride", "--task", "ptb", "--strides", "64", "--model", tiny_model_dir, "--output", tmp_path / "sweep", "--quiet")
    assert run(*args, "--data-dir", ptb_dirs[0]).exit_code == 0
    refused(run(*args, "--data-dir", ptb_dirs[1]), "the data differ")


def test_overlap_keeps_an_analysis_of_another_corpus_unless_forced(data_dir, tmp_path):
    (tmp_path / "a.txt").write_text("no it was n't black monday but while the new york stock exchange did n't fall apart\n")
    (tmp_path / "b.txt").write_text("something else entirely that shares nothing with the test set at all today\n")
    out = tmp_path / "overlap.json"
    args = ("overlap", "--task", "ptb", "--data-dir", data_dir, "--limit", 5, "--output", out)
    assert run(*args, "--corpus", tmp_path / "a.txt").exit_code == 0
    before = out.read_text()
    assert run(*args, "--corpus", tmp_path / "a.txt").exit_code == 0, "the same analysis is simply rewritten"
    kept = run(*args, "--corpus", tmp_path / "b.txt")
    assert kept.exit_code == 2 and "holds another overlap analysis (corpus differ)" in kept.output, kept.output
    assert json.loads(out.read_text())["corpus"] == json.loads(before)["corpus"]
    forced = run(*args, "--corpus", tmp_path / "b.txt", "--force")
    assert forced.exit_code == 0 and json.loads(out.read_text())["corpus"][0]["name"].endswith("b.txt")
