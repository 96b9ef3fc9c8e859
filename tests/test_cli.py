"""The real CLI through click's CliRunner: results, and one-line errors with exit code 2."""
import json

import pytest

from conftest import assert_usage_error, run


def test_ptb_full_run_has_the_exact_denominator(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--batch-size", 8, "--output", out)
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["totals"]["n_units"] == 82_430
    assert r["n_documents"] == 3_761
    assert set(r["metrics"]) >= {"word_perplexity", "token_perplexity", "bits_per_byte"}
    t = r["totals"]
    import math

    assert r["metrics"]["word_perplexity"] == pytest.approx(math.exp(t["nll_nats"] / t["n_units"]))
    assert r["metrics"]["bits_per_byte"] == pytest.approx(t["nll_nats"] / math.log(2) / t["n_bytes"])
    # A random model is near-uniform over its vocabulary V: token perplexity says so (0.4 V to 4 V).
    vocab = json.loads((tiny_model_dir / "config.json").read_text())["vocab_size"]
    assert 0.4 * vocab < r["metrics"]["token_perplexity"] < 4 * vocab
    assert r["config"]["window"] == {"max_length": 128, "stride": 128, "eos_prefix": True, "last_window": "right", "batch_size": 8}
    assert r["config"]["protocol"] == {"detokenizer": "ptb", "word_count": "paper", "word_divisor": "words"}
    assert r["data"]["files"][0]["checksum"] == "ok"
    for key in ("model", "versions", "git", "timing", "created_at", "per_document"):
        assert key in r
    assert r["model"]["n_parameters"] > 0 and r["model"]["dtype"] == "float32"
    assert sum(r["per_document"]["n_units"]) == 82_430
    assert "ptb: word_perplexity=" in result.output


def test_default_output_path_and_several_tasks(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(
        "run", "--task", "wikitext2", "--task", "wikitext103", "--model", tiny_model_dir,
        "--data-dir", data_dir, "--limit", 1, "--stride", 64, "--quiet",
    )
    assert result.exit_code == 0, result.output
    for name in ("wikitext2", "wikitext103"):
        r = json.loads((tmp_path / "results" / tiny_model_dir.name / f"{name}.json").read_text())
        assert r["n_documents"] == 1 and r["config"]["window"]["stride"] == 64
        assert r["config"]["data"]["limit"] == 1


def test_detokenizer_none_scores_the_original_text(tiny_model_dir, data_dir, tmp_path):
    outs = {}
    for detok in ("default", "none"):
        out = tmp_path / f"{detok}.json"
        result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 50, "--detokenizer", detok, "--output", out)
        assert result.exit_code == 0, result.output
        outs[detok] = json.loads(out.read_text())
    assert outs["none"]["config"]["protocol"]["detokenizer"] == "none"
    assert outs["none"]["totals"]["n_units"] == outs["default"]["totals"]["n_units"]
    assert outs["none"]["totals"]["n_bytes"] > outs["default"]["totals"]["n_bytes"]


@pytest.mark.parametrize("unit", ["word", "token", "char", "byte"])
def test_text_task_denominators(tiny_model_dir, tmp_path, unit):
    text = "Héllo wörld, this is my own corpus.\nSecond line here.\n"
    f = tmp_path / "corpus.txt"
    f.write_text(text, encoding="utf-8")
    out = tmp_path / "text.json"
    result = run("run", "--task", "text", "--data-file", f, "--text-denominator", unit, "--model", tiny_model_dir, "--output", out)
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    expected = {"word": 10, "char": len(text), "byte": len(text.encode()), "token": r["totals"]["n_tokens"]}[unit]
    assert r["totals"]["n_units"] == expected
    assert f"{unit}_perplexity" in r["metrics"]
    assert r["config"]["protocol"]["text_denominator"] == unit


def test_tasks_lists_paper_numbers():
    result = run("tasks")
    assert result.exit_code == 0, result.output
    ptb = next(line for line in result.output.splitlines() if line.startswith("ptb "))
    assert "82,430" in ptb and "40.31" in ptb


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--task", "nope"], "unknown task 'nope'"),
        (["--task", "ptb", "--data-dir", "{empty}"], "not found"),
        (["--task", "ptb", "--model", "{empty}/no-such-model", "--data-dir", "{data}"], "no such directory"),
        (["--task", "ptb", "--stride", 200, "--data-dir", "{data}"], "--stride 200 exceeds the window length 128"),
        (["--task", "ptb", "--stride", 0, "--data-dir", "{data}"], "--stride 0 must be >= 1"),
        (["--task", "ptb", "--max-length", 4096, "--data-dir", "{data}"], "exceeds the model's context length"),
        (["--task", "text", "--data-file", "{empty}/empty.txt"], "is empty"),
        (["--task", "text", "--data-file", "{empty}/latin1.txt"], "is not UTF-8"),
        (["--task", "text"], "needs --data-file"),
        (["--task", "text", "--data-file", "{empty}/latin1.txt", "--text-denominator", "line"], "Invalid value for '--text-denominator'"),
        (["--task", "ptb", "--text-denominator", "char"], "--text-denominator does not apply to task ptb"),
        (["--task", "ptb", "--limit", 0], "--limit 0 must be >= 1"),
        (["--task", "ptb", "--task", "wikitext2", "--output", "x.json"], "is one file but 2 tasks"),
        (["--task", "ptb", "--device", "cuda:7", "--data-dir", "{data}"], "--device cuda:7"),
        (["--task", "ptb", "--no-such-option"], "No such option"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tiny_model_dir, data_dir, tmp_path, args, fragment):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    fill = {"{empty}": str(tmp_path), "{data}": str(data_dir)}
    args = [str(a) for a in args]
    for key, value in fill.items():
        args = [a.replace(key, value) for a in args]
    if "--model" not in args:
        args += ["--model", str(tiny_model_dir)]
    assert_usage_error(run("run", *args), fragment)


def test_earlier_results_survive_a_later_failure(tiny_model_dir, data_dir, tmp_path):
    # Data for every task is checked before the model loads: nothing runs, nothing is half-written.
    result = run("run", "--task", "ptb", "--task", "wikitext103", "--model", tiny_model_dir, "--data-dir", tmp_path, "--output", tmp_path / "out")
    assert_usage_error(result, "not found")
    assert not (tmp_path / "out").exists()


def test_detok_check_reports_round_trip_rates(data_dir):
    result = run("detok-check", "--task", "ptb", "--task", "wikitext2", "--task", "1bw", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "ptb: detokenizer ptb: 3,761/3,761 lines round-trip" in result.output
    assert "wikitext2: detokenizer wikitext: 4,358/4,358" in result.output
    assert "1bw: detokenizer one_billion_word: 6,075/6,075" in result.output


def test_detok_check_on_the_cbt_fixture():
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "cbt"
    result = run("detok-check", "--task", "cbt-cn", "--data-dir", fixture)
    assert result.exit_code == 0, result.output
    assert "cbt-cn: detokenizer cbt: 126/126 lines round-trip" in result.output
