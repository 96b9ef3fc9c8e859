"""Presets and the Megatron / lm-eval readings: resolution, markers, exact Megatron text
and counts on the real files, lm-eval's WikiText pages, and bad values as one-line errors."""
import json
import re

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig, WindowConfig
from gpt2eval.detokenizers import megatron
from gpt2eval.pipeline.evaluate import prepare
from gpt2eval.pipeline.presets import resolve
from gpt2eval.report.table import protocol_differences
from gpt2eval.tasks.lambada import Lambada
from gpt2eval.tasks.ptb import PTB
from gpt2eval.tasks.wikitext import WikiText2, articles, lines_of
from gpt2eval.tasks.wikitext_lmeval import lm_eval_pages

CLI_DEFAULTS = dict(eos_prefix=None, detokenizer=None)  # what the CLI passes when nothing is given


def resolved(cls, preset=None, **given):
    window = WindowConfig(eos_prefix=given.pop("eos_prefix", None), stride=given.pop("stride", None))
    return resolve(cls, window, DataConfig(preset=preset, detokenizer=given.pop("detokenizer", None), options=given))


def test_presets_fill_only_what_the_task_reads_and_was_not_given():
    w, d = resolved(PTB)
    assert (d.preset, d.detokenizer, d.option("word_count"), w.eos_prefix, w.stride) == ("paper", "default", None, True, None)
    w, d = resolved(PTB, "megatron")
    assert (d.detokenizer, d.option("word_count"), w.eos_prefix, w.stride) == ("megatron", "megatron", False, 32)
    assert d.option("lambada_format") is None  # PTB reads no LAMBADA option
    w, d = resolved(PTB, "megatron", stride=64, eos_prefix=True, detokenizer="none")
    assert (d.detokenizer, w.eos_prefix, w.stride) == ("none", True, 64)  # the user's win
    w, d = resolved(Lambada, "megatron")
    assert (d.option("lambada_format"), d.option("stopword_filter"), d.option("stopwords"), w.stride) == ("as-is", None, None, None)  # the task's defaults
    _, d = resolved(Lambada, "lm-eval")
    assert (d.option("lambada_format"), d.detokenizer) == ("lm-eval", "default")
    _, d = resolved(WikiText2, "lm-eval")
    assert d.detokenizer == "megatron"  # lm-eval's wikitext runs Megatron's rules
    _, d = resolved(Lambada, "lm-eval", lambada_format="openai")
    assert d.option("lambada_format") == "openai"


def test_megatron_detokenizer_on_whole_files_is_cut_back_exactly(data_dir):
    for corpus, path, group in (("ptb", "ptb/ptb.test.txt", False), ("wikitext", "wikitext-2/wiki.test.tokens", True)):
        text = (data_dir / path).read_text(encoding="utf-8")
        lines = lines_of(text)
        originals = ["".join(x + "\n" for x in g) for g in (articles(lines) if group else [[x] for x in lines])]
        docs = megatron.per_document(originals, corpus)
        assert "".join(docs) == megatron.DETOKENIZERS[corpus](text)  # Megatron's one pass over the file
        assert len(docs) == len(originals)
        assert sum(megatron.word_counts(originals)) == len(text.strip().split(" "))
    assert megatron.ptb(" the dow fell N points to $ N million \n") == " the dow fell1 points to $1 million\n"  # as Megatron does
    assert megatron.wikitext(' a @-@ b , " c " ( d ) = = H = = \n') == ' a-b, "c" (d) == H ==\n'


def test_megatron_word_count_and_detokenizer_in_tasks(data_dir):
    task, docs = prepare("ptb", DataConfig(data_dir=str(data_dir), preset="megatron", detokenizer=None))
    # Megatron's count, 82,429, less the first word: its adjusted perplexity's divisor.
    assert sum(d.n_units for d in docs) == 82_428 and task.window.stride == 32 and task.window.eos_prefix is False
    assert task.window.last_window == "stride" and task.protocol["word_divisor"] == "words-1"
    _, counted = prepare("ptb", DataConfig(data_dir=str(data_dir), preset="megatron", detokenizer=None, options={"word_divisor": "words"}))
    assert sum(d.n_units for d in counted) == 82_429
    assert docs[1].text.startswith("but while the new york stock exchange didn't fall apart")
    assert "plunged1 points" in docs[1].text
    task, docs = prepare("wikitext2", DataConfig(data_dir=str(data_dir), preset="megatron", detokenizer=None))
    assert sum(d.n_units for d in docs) == 245_565 and task.protocol["detokenizer"] == "megatron.wikitext"


def test_lm_eval_wikitext_pages(data_dir):
    raw = (data_dir / "wikitext-2" / "wiki.test.raw").read_text(encoding="utf-8")
    pages = lm_eval_pages(raw)
    assert len(pages) == 62 and pages[0].startswith(" = Robert Boulter = \n") and not pages[0].endswith("\n")
    assert pages[-1].endswith("\n")
    task, docs = prepare("wikitext2-lmeval", DataConfig(data_dir=str(data_dir), limit=2))
    assert [d.n_units for d in docs] == [len(re.split(r"\s+", p)) for p in pages[:2]]
    assert docs[0].extra["n_bytes"] == len(pages[0].encode("utf-8")) and docs[0].text == megatron.wikitext(pages[0])


def test_markers_for_non_paper_choices():
    def result(task="lambada", data=None, protocol=None, window=None):
        return {"task": task, "config": {"window": {"max_length": 1024, "stride": 1024, "eos_prefix": True, **(window or {})},
                                         "data": {"preset": "paper", **(data or {})}, "protocol": protocol or {}},
                "model": {"dtype": "float32"}, "n_documents": 1}

    paper = {"lambada_format": "openai", "stopword_filter": "word", "stopwords": "nltk179"}
    assert protocol_differences(result(protocol=paper)) == []
    marks = protocol_differences(result(data={"preset": "lm-eval"}, protocol={**paper, "lambada_format": "lm-eval", "stopwords": "nltk127"},
                                        window={"eos_prefix": False}))
    assert marks == ["--preset lm-eval", "--lambada-format lm-eval", "--stopwords nltk127"]  # no prefix marker: not read
    assert "no <|endoftext|> prefix" in protocol_differences(result(protocol={**paper, "lambada_format": "as-is"}, window={"eos_prefix": False}))
    assert protocol_differences(result(protocol={})) == ["--lambada-format as-is (older result)"]
    ptb = result("ptb", data={"detokenizer": "megatron"}, protocol={"word_count": "megatron"}, window={"stride": 32})
    assert protocol_differences(ptb) == ["stride 32", "--detokenizer megatron", "--word-count megatron"]
    ptb = result("ptb", data={"detokenizer": "megatron", "preset": "megatron"}, protocol={"word_count": "megatron", "word_divisor": "words-1"},
                 window={"stride": 32, "eos_prefix": False, "last_window": "stride"})
    assert protocol_differences(ptb) == ["stride 32", "--last-window stride", "no <|endoftext|> prefix", "--preset megatron",
                                         "--detokenizer megatron", "--word-count megatron", "--word-divisor words-1"]
    bflm = {**paper, "lambada_format": "bflm", "stopword_filter": "token", "stopwords": "nltk127", "stopword_topk": 128,
            "stopword_steps": 6, "lambada_match": "bert"}
    assert protocol_differences(result(data={"preset": "bflm"}, protocol=bflm)) == [
        "--preset bflm", "--lambada-format bflm", "--stopword-filter token", "--stopwords nltk127", "--lambada-match bert"]
    assert "--stopword-steps 3" in protocol_differences(result(protocol={**bflm, "stopword_steps": 3}))


@pytest.mark.parametrize("args, message", [
    (["--task", "lambada", "--lambada-format", "raw"], "Invalid value for '--lambada-format'"),
    (["--task", "lambada", "--stopword-filter", "x"], "Invalid value for '--stopword-filter'"),
    (["--task", "lambada", "--stopwords", "nltk"], "Invalid value for '--stopwords'"),
    (["--task", "lambada", "--preset", "gpt3"], "Invalid value for '--preset'"),
    (["--task", "ptb", "--word-count", "tokens"], "Invalid value for '--word-count'"),
    (["--task", "ptb", "--lambada-format", "openai"], "--lambada-format does not apply to task ptb"),
    (["--task", "lambada", "--word-count", "megatron"], "--word-count does not apply to task lambada"),
    (["--task", "wikitext2", "--cbt-join", "newline"], "--cbt-join does not apply to task wikitext2"),
    (["--task", "1bw", "--detokenizer", "megatron"], "--detokenizer megatron: Megatron-LM has no detokenizer for task 1bw"),
])
def test_bad_values_are_one_line_errors(args, message, data_dir):
    result = CliRunner().invoke(main, ["run", *args, "--data-dir", str(data_dir), "--model", "/nonexistent"])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_run_records_preset_and_every_resolved_option(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    result = CliRunner().invoke(main, ["run", "--task", "ptb", "--preset", "megatron", "--model", str(tiny_model_dir),
                                       "--data-dir", str(data_dir), "--limit", "40", "--quiet", "--output", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["config"]["data"]["preset"] == "megatron" and r["config"]["data"]["detokenizer"] == "megatron"
    assert r["config"]["data"]["word_count"] == "megatron" and r["config"]["protocol"]["word_count"] == "megatron"
    assert r["config"]["window"]["stride"] == 32 and r["config"]["window"]["eos_prefix"] is False
    assert "--preset megatron" in protocol_differences(r)


# lm-eval 0.4.13 on the tiny seeded model (gpt2eval.testing.save_tiny_gpt2, seed 0), printed by
# `bench/vs_lm_eval.py --limit-lambada 20 --limit-pages 1` (which runs lm-eval's HFLM beside gpt2eval).
LM_EVAL_GOLD = {
    "lambada": {"perplexity": 261399.318715, "acc": 0.0},
    "wikitext2-lmeval": {"word_perplexity": 175181.186022, "byte_perplexity": 10.2640015778, "bits_per_byte": 3.3595213922},
}


@pytest.mark.parametrize("task, limit", [("lambada", 20), ("wikitext2-lmeval", 1)])
def test_lm_eval_preset_equals_lm_eval_gold_numbers(task, limit, gpt2_model_dir, data_dir, tmp_path):
    out = tmp_path / f"{task}.json"
    args = ["run", "--task", task, "--preset", "lm-eval", "--model", str(gpt2_model_dir), "--data-dir", str(data_dir),
            "--limit", str(limit), "--batch-size", "1", "--quiet", "--output", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())["metrics"]
    for name, gold in LM_EVAL_GOLD[task].items():
        assert metrics[name] == pytest.approx(gold, rel=1e-6, abs=1e-12), name


@pytest.mark.parametrize("name, task, limit", [("lambada_openai", "lambada", 20), ("wikitext", "wikitext2-lmeval", 1)])
def test_lm_eval_names_give_lm_evals_numbers(name, task, limit, gpt2_model_dir, data_dir, tmp_path):
    """lm-eval's task names run lm-eval's tasks: no --preset needed, and the result says so."""
    out = tmp_path / f"{task}.json"
    result = CliRunner().invoke(main, ["run", "--task", name, "--model", str(gpt2_model_dir), "--data-dir", str(data_dir),
                                       "--limit", str(limit), "--batch-size", "1", "--quiet", "--output", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    # lambada_openai: lambada under lm-eval's preset; wikitext: wikitext2-lmeval, lm-eval's under any preset.
    assert r["task"] == task and r["config"]["data"]["preset"] == ("lm-eval" if task == "lambada" else "paper")
    for metric, gold in LM_EVAL_GOLD[task].items():
        assert r["metrics"][metric] == pytest.approx(gold, rel=1e-6, abs=1e-12), metric


@pytest.mark.parametrize("args, message", [
    (["--task", "lambada_openai", "--preset", "paper"],
     "--task lambada_openai is lm-eval's task, read under --preset lm-eval, not --preset paper: use --task lambada"),
    (["--tasks", "lambada,lambada_openai"], "lambada_openai and lambada are one task read two ways"),
    (["--task", "ptb", "--preset", "bflm"], "--preset bflm: that peer scored only lambada, not ptb"),
    (["--task", "lambada", "--stopword-steps", "3"], "--stopword-steps applies under --stopword-filter token only: drop it"),
])
def test_lm_eval_names_and_bflm_refuse_other_readings(args, message, data_dir):
    result = CliRunner().invoke(main, ["run", *args, "--data-dir", str(data_dir), "--model", "/nonexistent"])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_cbt_join(tmp_path):
    from pathlib import Path

    from gpt2eval.errors import UsageError
    from gpt2eval.tasks.cbt import CBTCN

    fixtures = str(Path(__file__).parent / "fixtures" / "cbt")
    space = CBTCN(DataConfig(data_dir=fixtures, limit=1)).documents()[0]
    newline_task = CBTCN(DataConfig(data_dir=fixtures, limit=1, options={"cbt_join": "newline"}))
    newline = newline_task.documents()[0]
    assert newline.text.replace("\n", " ") == space.text and newline_task.protocol["sentence_join"] == "\n"
    assert all(ctx.count("\n") == 20 for ctx, _ in newline.extra["pairs"])
    with pytest.raises(UsageError, match="--cbt-join 'tab' is not one of space, newline"):
        CBTCN(DataConfig(data_dir=fixtures, options={"cbt_join": "tab"}))
