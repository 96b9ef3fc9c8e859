"""Issue 9: no silent wrong number, no lost result, no traceback (one line, exit 2).

Each test here failed on the code before the fix it covers: a number reported for a
bidirectional model or for empty data, a result overwritten, a traceback at write time.
"""
import gzip
import json
import shutil
from functools import partial

import pytest

from conftest import assert_usage_error as usage_error, run


# Warnings (transformers' on loading) may stand beside the error line.
assert_usage_error = partial(usage_error, ignore=("warning:", "[transformers]"))


@pytest.fixture
def text_file(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text("Some words to score, and a few more of them.\n", encoding="utf-8")
    return f


def model_copy(src, dst):
    shutil.copytree(src, dst)
    return dst


# 1. Non-causal models are refused.
def test_bidirectional_model_is_refused_by_its_config(bert_dir, text_file, tmp_path):
    result = run("run", "--task", "text", "--data-file", text_file, "--model", bert_dir, "--output", tmp_path / "r.json")
    assert_usage_error(result, "not a causal decoder")
    assert not (tmp_path / "r.json").exists()


def test_bidirectional_model_is_refused_by_the_runtime_probe(bert_dir, text_file, tmp_path, monkeypatch):
    import gpt2eval.models.checks as checks

    monkeypatch.setattr(checks, "check_causal_config", lambda config, name: None)  # a config that hides it
    result = run("run", "--task", "text", "--data-file", text_file, "--model", bert_dir, "--output", tmp_path / "r.json")
    assert_usage_error(result, "the model is not causal")


# 2. Empty data and zero scored targets.
def test_empty_data_file_is_an_error(tiny_model_dir, tmp_path):
    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb" / "ptb.test.txt").write_text("")
    result = run("run", "--task", "ptb", "--data-dir", tmp_path, "--model", tiny_model_dir, "--output", tmp_path / "r.json")
    assert_usage_error(result, "is empty")


def test_nothing_scored_is_an_error(gpt2_model_dir, tmp_path):
    f = tmp_path / "one.txt"
    f.write_text("Hello")  # one token, and no <|endoftext|> before it: nothing to predict
    result = run("run", "--task", "text", "--data-file", f, "--no-eos-prefix", "--model", gpt2_model_dir,
                 "--output", tmp_path / "r.json")
    assert_usage_error(result, "nothing was scored")
    assert not (tmp_path / "r.json").exists()


# 4. Document text is never parsed for special tokens.
def test_literal_endoftext_in_a_document_is_text(gpt2_model_dir, tmp_path):
    f = tmp_path / "eot.txt"
    f.write_text("<|endoftext|>")
    out = tmp_path / "r.json"
    result = run("run", "--task", "text", "--data-file", f, "--model", gpt2_model_dir, "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["totals"]["n_tokens"] == 7  # < | end of text | >, not the EOS id


def test_1bw_join_eos_inserts_the_eos_id(gpt2_model_dir, data_dir, tmp_path):
    from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
    from gpt2eval.engine.lm import LM
    from gpt2eval.models.loading import load_model
    from tasks.one_billion_word import OneBillionWord

    lm = LM(load_model(ModelConfig(model=str(gpt2_model_dir), device="cpu")), WindowConfig())
    ids = {}
    for join in ("eos", "newline"):
        task = OneBillionWord(DataConfig(data_dir=str(data_dir), limit=5, options={"1bw_join": join}))
        ids[join], starts = task.encode_stream(task.documents(), lm)
        assert len(starts) == len(ids[join])
    assert ids["eos"].count(50256) == 5 and ids["newline"].count(50256) == 0
    assert [t if t != 50256 else 198 for t in ids["eos"]] == ids["newline"]  # "\n" is one token, like EOS


# 6. A result of another config is kept.
def test_run_keeps_a_result_of_another_config(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    args = ("run", "--task", "ptb", "--data-dir", data_dir, "--model", tiny_model_dir, "--output", out, "--quiet")
    assert run(*args, "--limit", 3).exit_code == 0
    before = out.read_text()
    assert_usage_error(run(*args, "--limit", 2), "documents (--limit) 3 != 2): kept it; pass --force")
    assert out.read_text() == before
    assert run(*args, "--limit", 3).exit_code == 0  # the same config is simply rerun
    result = run(*args, "--limit", 2, "--force")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["config"]["data"]["limit"] == 2


def test_reproduce_keeps_a_result_of_another_config(tiny_model_dir, data_dir, tmp_path):
    args = ("reproduce", "--tasks", "ptb", "--data-dir", data_dir, "--model", tiny_model_dir, "--output", tmp_path, "--quiet",
            "--no-report")  # the table and figures: test_reproduce_ux.py
    assert run(*args, "--limit", 3).exit_code == 0
    before = (tmp_path / "ptb.json").read_text()
    result = run(*args, "--limit", 2)
    assert "ptb: kept" in result.output and "--force replaces" in result.output, result.output
    assert (tmp_path / "ptb.json").read_text() == before


# 8. Output paths are checked before any work.
@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_unusable_run_output_is_found_before_the_model_loads(tiny_model_dir, data_dir, tmp_path, monkeypatch, where):
    import gpt2eval.models.loading

    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: pytest.fail("the model loaded"))
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dir.json").mkdir()
    out = tmp_path / ("afile/ptb.json" if where == "under-a-file" else "dir.json")
    result = run("run", "--task", "ptb", "--data-dir", data_dir, "--limit", 1, "--model", tiny_model_dir, "--output", out)
    assert_usage_error(result, "is a file, so nothing" if where == "under-a-file" else "is an existing folder")


def test_table_and_plot_output_checked_before_work(tmp_path):
    (tmp_path / "afile").write_text("x")
    result_file = tmp_path / "r.json"
    result_file.write_text("{}")
    assert_usage_error(run("table", result_file, "--output", tmp_path / "afile" / "t.md"), "is a file, so nothing")
    assert_usage_error(run("plot", result_file, "--output", tmp_path / "afile" / "figs"), "is a file, so nothing")


# 10. Damaged files a user gives: one line each.
def test_corrupt_gzip(tiny_model_dir, tmp_path):
    data = bytearray(gzip.compress(b"a line of words\n" * 200))
    data[15:40] = b"\xff" * 25
    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb" / "ptb.test.txt.gz").write_bytes(bytes(data))
    result = run("run", "--task", "ptb", "--data-dir", tmp_path, "--model", tiny_model_dir, "--output", tmp_path / "r.json")
    assert_usage_error(result, "looks corrupt")


@pytest.mark.parametrize("value", ["5", "null"])
def test_lambada_text_that_is_not_a_string(tiny_model_dir, tmp_path, value):
    (tmp_path / "lambada").mkdir()
    (tmp_path / "lambada" / "lambada_test.jsonl").write_text('{"text": "a b c d"}\n{"text": %s}\n' % value)
    result = run("run", "--task", "lambada", "--data-dir", tmp_path, "--model", tiny_model_dir, "--output", tmp_path / "r.json")
    assert_usage_error(result, f"line 2: 'text' is {value}, not a string")


def test_truncated_safetensors(tiny_model_dir, text_file, tmp_path):
    model = model_copy(tiny_model_dir, tmp_path / "m")
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    result = run("run", "--task", "text", "--data-file", text_file, "--model", model, "--output", tmp_path / "r.json")
    assert_usage_error(result, "are damaged")


def test_pickle_bin_refused_by_weights_only(tiny_model_dir, text_file, tmp_path):
    import torch
    from safetensors.torch import load_file

    model = model_copy(tiny_model_dir, tmp_path / "m")
    state = load_file(model / "model.safetensors")
    (model / "model.safetensors").unlink()
    state["extra"] = print  # a global that weights_only=True refuses to unpickle
    torch.save(state, model / "pytorch_model.bin")
    result = run("run", "--task", "text", "--data-file", text_file, "--model", model, "--output", tmp_path / "r.json")
    assert_usage_error(result, "torch refuses to load safely")


def test_table_on_a_result_without_model_name(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    assert run("run", "--task", "ptb", "--data-dir", data_dir, "--limit", 1, "--model", tiny_model_dir, "--output", out).exit_code == 0
    r = json.loads(out.read_text())
    del r["model"]["name"]
    out.write_text(json.dumps(r))
    for command in ("table", "plot"):
        assert_usage_error(run(command, out, *(("--output", tmp_path / "figs") if command == "plot" else ())), "model.name is missing")


# 11. Window options are checked from the config alone, before the weights load.
@pytest.mark.parametrize("option,fragment", [(("--max-length", 4096), "exceeds the model's context length 128"),
                                             (("--stride", 0), "--stride 0 must be >= 1")])
def test_window_options_checked_before_loading(tiny_model_dir, text_file, tmp_path, option, fragment):
    model = model_copy(tiny_model_dir, tmp_path / "m")
    (model / "model.safetensors").unlink()  # loading the weights would fail first
    result = run("run", "--task", "text", "--data-file", text_file, "--model", model, *option, "--output", tmp_path / "r.json")
    assert_usage_error(result, fragment)


# 12. Ctrl-C, misspelled and repeated tasks, remote code.
def test_ctrl_c_exits_130(tiny_model_dir, text_file, tmp_path, monkeypatch):
    import gpt2eval.pipeline.evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gpt2eval.pipeline.evaluate, "evaluate_task", interrupted)
    result = run("run", "--task", "text", "--data-file", text_file, "--model", tiny_model_dir, "--output", tmp_path / "r.json")
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output


def test_misspelled_task_gets_did_you_mean():
    assert_usage_error(run("run", "--task", "lambda"), "(did you mean lambada?)")


def test_same_task_twice_runs_once(tiny_model_dir, data_dir, tmp_path):
    result = run("run", "--task", "ptb", "--task", "ptb", "--data-dir", data_dir, "--limit", 1,
                 "--model", tiny_model_dir, "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.count("ptb: word_perplexity=") == 1


def test_remote_code_refusal_names_the_option(tiny_model_dir, text_file, tmp_path):
    model = model_copy(tiny_model_dir, tmp_path / "m")
    config = json.loads((model / "config.json").read_text())
    config.update(model_type="my-custom", auto_map={"AutoConfig": "custom.MyConfig", "AutoModelForCausalLM": "custom.MyModel"})
    (model / "config.json").write_text(json.dumps(config))
    result = run("run", "--task", "text", "--data-file", text_file, "--model", model, "--output", tmp_path / "r.json")
    assert_usage_error(result, "pass --trust-remote-code if you trust it")


# 19. Model errors that say what is wrong.
def test_missing_local_model_directory(text_file, tmp_path):
    result = run("run", "--task", "text", "--data-file", text_file, "--model", "./no-such-model-dir", "--output", tmp_path / "r.json")
    assert_usage_error(result, "no such directory")


def test_offline_hub_id_not_in_cache(text_file, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = run("run", "--task", "text", "--data-file", text_file, "--model", "no-such-org/no-such-model", "--output", tmp_path / "r.json")
    assert_usage_error(result, "not in the local cache (offline): run `make download MODELS=no-such-org/no-such-model`")
