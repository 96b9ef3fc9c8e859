"""Task options from their declarations: the flags, old names, options split among tasks,
and results recorded under the old names still reading (compare, overwrite, bootstrap)."""
import json

import pytest

from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.engine.options import Option, current_names, recorded_values, resolved_values
from gpt2eval.errors import UsageError
from gpt2eval.pipeline.presets import per_task

from conftest import run


def test_an_option_checks_its_values_and_computes_defaults_that_read_others():
    topk = Option("k", "", type=int, minimum=1, default=lambda values: 128 if values["mode"] == "token" else 10)
    mode = Option("mode", "", choices=("word", "token"), default="word", old_names=("old_mode",))
    for value, message in (("x", "--k 'x' is not a number"), (True, "--k True is not a number"), (0, "--k 0 must be >= 1")):
        with pytest.raises(UsageError, match=message):
            topk.check(value)
    with pytest.raises(UsageError, match="--mode 'tok' is not one of word, token"):
        mode.check("tok")
    assert resolved_values((topk, mode), {"mode": "token"}) == {"k": 128, "mode": "token"}
    assert resolved_values((topk, mode), {"k": 3}) == {"k": 3, "mode": "word"}
    assert current_names((mode,), {"old_mode": "token", "other": 1}) == {"mode": "token", "other": 1}
    assert recorded_values((topk, mode), {"old_mode": "token"}) == {"k": 128, "mode": "token"}
    with pytest.raises(AssertionError, match="default 'char' is not one of"):
        Option("bad", "", choices=("word",), default="char")
    with pytest.raises(AssertionError, match="lower-case letters and digits"):
        Option("Bad-Name", "")


def test_the_flags_come_from_the_declarations_and_old_names_are_hidden():
    help_text = " ".join(run("run", "--help").output.split())
    assert "--lambada-format [openai|as-is|lm-eval|bflm] lambada: what the model sees" in help_text
    assert "[default: openai; --preset lm-eval: lm-eval; --preset megatron: as-is; --preset bflm: bflm]" in help_text
    assert "--cbt-split [valid|test] cbt-cn, cbt-ne:" in help_text and "(was --split)" in help_text
    assert "--split " not in help_text and "--join " not in help_text
    detok_help = run("detok-check", "--help").output
    assert "--cbt-split" in detok_help and "--lambada-format" not in detok_help  # only what picks the data


def test_an_old_flag_warns_and_still_sets_the_option(data_dir):
    result = run("run", "--task", "ptb", "--join", "eos", "--data-dir", data_dir, "--model", "/nonexistent")
    assert result.exit_code == 2
    assert result.output.splitlines() == ["warning: --join is deprecated: use --1bw-join",
                                          "error: --1bw-join does not apply to task ptb: drop it"]
    both = run("run", "--task", "1bw", "--join", "eos", "--1bw-join", "space", "--model", "/nonexistent")
    assert both.exit_code == 2 and "error: --join and --1bw-join both given: drop --join" in both.output


def test_each_task_gets_its_own_options_and_one_none_reads_is_refused():
    data = DataConfig(limit=3, options={"lambada_format": "as-is", "word_count": "megatron"})
    split = per_task(["ptb", "lambada"], data)
    assert split["ptb"].options == (("word_count", "megatron"),) and split["ptb"].limit == 3
    assert split["lambada"].options == (("lambada_format", "as-is"),)
    with pytest.raises(UsageError, match="--lambada-format does not apply to tasks ptb, wikitext2: drop it"):
        per_task(["ptb", "wikitext2"], data)


def old_result(task, protocol, data=None):
    """A result as written before the task options were declared: every option of every task
    in config.data (None where not given), and the old names."""
    fields = {"preset": "paper", "data_dir": "/d", "data_file": None, "limit": 10, "detokenizer": "default",
              "allow_data_mismatch": False, "exclude_overlap": None, "unit": None, "split": None, "join": None,
              "stopword_topk": None, "lambada_format": None, "stopword_filter": None, "stopwords": None, "cbt_join": None,
              "word_count": None}
    return {"task": task, "metrics": {"m": 1.0}, "model": {"name": "m", "n_parameters": 1, "dtype": "float32", "context_length": 128},
            "config": {"model": {"model": "m", "revision": None, "dtype": "auto", "trust_remote_code": False},
                       "window": {"max_length": 128, "stride": 128, "eos_prefix": True, "batch_size": 1},
                       "data": {**fields, **(data or {})}, "protocol": protocol}}


def new_result(task, protocol, data=None):
    r = old_result(task, protocol)
    r["config"]["data"] = {**DataConfig(data_dir="/d", limit=10, preset="paper").record(), **(data or {})}
    return r


@pytest.mark.parametrize("task, old, new", [
    ("cbt-cn", ({"detokenizer": "cbt", "split": "test", "cbt_join": "space"}, {"split": "test"}),
     ({"detokenizer": "cbt", "cbt_split": "test", "cbt_join": "space"}, {"cbt_split": "test"})),
    ("1bw", ({"detokenizer": "one_billion_word", "join": "newline"}, None), ({"detokenizer": "one_billion_word", "1bw_join": "newline"}, None)),
    ("text", ({"detokenizer": "none", "unit": "byte"}, {"unit": "byte"}), ({"detokenizer": "none", "text_denominator": "byte"}, {"text_denominator": "byte"})),
    ("lambada", ({"detokenizer": "none", "stopword_topk": 10, "lambada_format": "openai", "stopword_filter": "word", "stopwords": "nltk179"},
                 {"lambada_format": "openai"}),
     ({"detokenizer": "none", "lambada_format": "openai", "stopword_filter": "word", "stopwords": "nltk179", "stopword_topk": 10},
      {"lambada_format": "openai"})),
])
def test_results_recorded_under_old_names_compare_equal(task, old, new, tmp_path):
    for name, r in (("old", old_result(task, *old)), ("new", new_result(task, *new))):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{task}.json").write_text(json.dumps(r))
    result = run("compare", tmp_path / "old", tmp_path / "new")
    assert result.exit_code == 0, result.output


def test_a_rerun_of_the_same_config_replaces_an_old_result_and_another_does_not(tmp_path):
    from gpt2eval.pipeline.overwrite import differences
    from gpt2eval.pipeline.plan import build_tasks, job

    path = tmp_path / "cbt-cn.json"
    old = old_result("cbt-cn", {"detokenizer": "cbt", "split": "test"}, {"split": "test"})
    old.update(n_documents=10, data={"files": [{"path": "/d/cbt/cbtest_CN_test_2500ex.txt", "sha256": "ab12"}], "hub": None})
    path.write_text(json.dumps(old))
    model = {"name": "m", "weights_sha256": None, "commit": None, "revision": None, "dtype": "float32", "context_length": 128}

    def differences_with(options):
        data = DataConfig(data_dir="/elsewhere", limit=10, preset="paper", options=options)
        j = job("cbt-cn", WindowConfig(max_length=128, eos_prefix=True), data, path)
        build_tasks([j])
        j.instance.record.files.append({"path": "/elsewhere/cbt/cbtest_CN_test_2500ex.txt", "sha256": "ab12"})  # the same bytes
        return differences(path, j.instance, [None] * 10, model)

    assert differences_with({"cbt_split": "test"}) == []
    assert differences_with({}) == ["protocol cbt_split 'test' != 'valid'"]
