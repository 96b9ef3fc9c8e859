"""`gpt2eval compare` through the real CLI: exit 0 (same), 1 (moved or missing), 2 (refused)."""
import json
import math

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.report.compare import close


def result(task, metrics, window=None, data=None, protocol=None, model="/ci/tiny", dtype="float32"):
    return {
        "task": task, "metrics": metrics,
        "config": {
            "window": {"max_length": 128, "stride": 128, "eos_prefix": True, "batch_size": 1, **(window or {})},
            "data": {"data_dir": "/data", "data_file": None, "limit": 200, "detokenizer": "default", **(data or {})},
            "protocol": {"detokenizer": task, **(protocol or {})},
        },
        "model": {"name": model, "n_parameters": 3_324_736, "dtype": dtype, "device": "cpu"},
    }


def folder(path, *results):
    path.mkdir(parents=True, exist_ok=True)
    for r in results:
        (path / f"{r['task']}.json").write_text(json.dumps(r, allow_nan=True))
    return path


BASE = [result("ptb", {"word_perplexity": 500000.0, "token_accuracy": 0.0, "odd": math.nan}),
        result("1bw", {"word_perplexity": 160000.0, "bits_per_byte": 3.38})]


@pytest.fixture
def baseline(tmp_path):
    return folder(tmp_path / "base", *BASE)


def compare(*args):
    return CliRunner().invoke(main, ["compare", *map(str, args)])


def rows(output):
    """{(task, metric): status} from the printed table."""
    out = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("task", "") and not cells[0].startswith(":-"):
            out[(cells[0], cells[1])] = cells[6]
    return out


def test_identical_results_pass_even_with_another_batch_size_path_and_device(baseline, tmp_path):
    new = [result(r["task"], r["metrics"], window={"batch_size": 8}, data={"data_dir": None}, model="/elsewhere/tiny")
           for r in BASE]
    out = compare(baseline, folder(tmp_path / "new", *new))
    assert out.exit_code == 0, out.output
    assert set(rows(out.output).values()) == {"ok"} and len(rows(out.output)) == 5, "nan equals nan"
    assert "OK: 5 ok, 0 CHANGED, 0 missing, 0 added" in out.output


def test_a_moved_metric_fails_in_either_direction_unless_within_tolerance(baseline, tmp_path):
    for factor in (1 + 1e-4, 1 - 1e-4):
        new = folder(tmp_path / f"new{factor}", result("ptb", {**BASE[0]["metrics"], "word_perplexity": 500000.0 * factor}), BASE[1])
        out = compare(baseline, new)
        assert out.exit_code == 1, out.output
        assert rows(out.output)[("ptb", "word_perplexity")] == "CHANGED" and "FAIL: 4 ok, 1 CHANGED" in out.output
        assert compare(baseline, new, "--rtol", 1e-3).exit_code == 0
    tiny_move = folder(tmp_path / "tiny", result("ptb", {**BASE[0]["metrics"], "word_perplexity": 500000.0 * (1 + 1e-7)}), BASE[1])
    assert compare(baseline, tiny_move).exit_code == 0, "float32 noise passes the default rtol"
    accuracy = folder(tmp_path / "acc", result("ptb", {**BASE[0]["metrics"], "token_accuracy": 1e-6}), BASE[1])
    assert compare(baseline, accuracy).exit_code == 1, "atol guards metrics that are 0"


def test_a_missing_task_or_metric_fails_an_added_one_passes(baseline, tmp_path):
    out = compare(baseline, folder(tmp_path / "one", BASE[0]))
    assert out.exit_code == 1 and rows(out.output)[("1bw", "(all)")] == "missing", out.output
    less = folder(tmp_path / "less", result("ptb", {"word_perplexity": 500000.0, "odd": math.nan}), BASE[1])
    out = compare(baseline, less)
    assert out.exit_code == 1 and rows(out.output)[("ptb", "token_accuracy")] == "missing", out.output
    more = folder(tmp_path / "more", *BASE, result("wikitext2", {"word_perplexity": 1.0}),
                  result("1bw", {**BASE[1]["metrics"], "new_metric": 2.0}))
    out = compare(baseline, more)
    assert out.exit_code == 0, out.output
    assert rows(out.output)[("wikitext2", "(all)")] == "added" and rows(out.output)[("1bw", "new_metric")] == "added"


def assert_one_line_error(out, fragment):
    assert out.exit_code == 2, out.output
    assert out.output.count("\n") == 1 and out.output.startswith("error: ") and fragment in out.output, out.output


@pytest.mark.parametrize("change, fragment", [
    ({"window": {"stride": 64}}, "window.stride 128 -> 64"),
    ({"data": {"limit": None}}, "data.limit 200 -> None"),
    ({"protocol": {"join": "eos"}}, "protocol.1bw_join 'newline' -> 'eos'"),  # an old name reads as the current one
    ({"dtype": "bfloat16"}, "model.dtype 'float32' -> 'bfloat16'"),
])
def test_another_protocol_is_refused_unless_ignore_config(baseline, tmp_path, change, fragment):
    new = folder(tmp_path / "new", result("1bw", BASE[1]["metrics"], **change), BASE[0])
    assert_one_line_error(compare(baseline, new), f"1bw: {fragment}")
    out = compare(baseline, new, "--ignore-config")
    assert out.exit_code == 0 and "note: compared anyway: the protocols differ" in out.output, out.output


def test_single_files_and_bad_inputs(baseline, tmp_path):
    assert compare(baseline / "ptb.json", baseline / "ptb.json").exit_code == 0
    two = folder(tmp_path / "two" / "a", BASE[0]).parent
    folder(two / "b", BASE[0])
    assert_one_line_error(compare(baseline, two), "NEW has several results for task ptb")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(compare(baseline, tmp_path / "empty"), "holds no gpt2eval result files")
    assert_one_line_error(compare(baseline, baseline, "--rtol", -1), "-1")


def test_close():
    assert close(math.nan, math.nan, 0, 0) and not close(math.nan, 1.0, 1, 1)
    assert close(math.inf, math.inf, 0, 0) and not close(math.inf, 1e308, 1, 1) and not close(1.0, math.inf, 1, 1)
    assert close(100.0, 100.0009, 1e-5, 0) and not close(100.0, 100.0011, 1e-5, 0)
