"""`gpt2eval plot` on synthetic result files: which figures, what they read, and bad input."""
import json

import pytest

from gpt2eval.report.paper import columns, paper_value
from gpt2eval.report.figures import column_value, load_results, paper_model, table_results

from conftest import run

COUNTS = {"gpt2": 124_439_808, "gpt2-large": 774_030_080}
PNG = b"\x89PNG\r\n\x1a\n"


def fake_result(task, model, metrics, *, ci=None, stride=1024, limit=None, created="2026-01-01T00:00:00", sweep=None):
    """The fields of a result file the figures read (a real one has many more)."""
    r = {
        "task": task, "metrics": metrics, "headline": next(iter(metrics)), "totals": {},
        "config": {"model": {"model": model}, "window": {"max_length": 1024, "stride": stride}, "data": {"limit": limit}},
        "model": {"name": model, "n_parameters": COUNTS.get(model, 3_324_736)},
        "timing": {"seconds": 1024 / stride}, "created_at": created,
    }
    if ci:
        r["ci95"] = ci
    if sweep:
        r["sweep"] = {"parameter": "stride", "values": sweep}
    return r


def write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


@pytest.fixture
def results_dir(tmp_path):
    root = tmp_path / "results"
    for model in COUNTS:
        for col in columns():
            value = paper_value(col["task"], model, col["metric"]) * 1.02 / (100 if col["unit"] == "%" else 1)
            path = root / model / f"{col['task']}.json"
            metrics = json.loads(path.read_text())["metrics"] if path.exists() else {}
            ci = {col["metric"]: [value * 0.97, value * 1.03]} if model == "gpt2" else None
            write(path, fake_result(col["task"], model, {**metrics, col["metric"]: value}, ci=ci))
    # gpt2-large has no CBT-NE result and its LAMBADA lacks the stop-word accuracy.
    (root / "gpt2-large" / "cbt-ne.json").unlink()
    write(root / "gpt2-large" / "lambada.json", fake_result("lambada", "gpt2-large", {"perplexity": 11.0, "acc": 0.55}))
    for stride in (1024, 256):
        write(root / "gpt2-large" / "sweep-stride" / f"wikitext103-stride{stride}.json",
              fake_result("wikitext103", "gpt2-large", {"word_perplexity": 22.0 if stride == 1024 else 21.0},
                          stride=stride, sweep=[1024, 256]))
    write(root / "gpt2-large" / "sweep-stride" / "wikitext103-stride-summary.json", {"task": "wikitext103", "rows": []})
    (root / "notes.json").write_text("[1, 2]")
    (root / "broken.json").write_text("{not json")
    return root


def test_plot_writes_every_figure(results_dir, tmp_path):
    out = tmp_path / "figures"
    result = run("plot", results_dir, "--output", out, "--format", "pdf")
    assert result.exit_code == 0, result.output
    names = {"scaling", "bars-gpt2", "bars-gpt2-large", "stride-gpt2-large"}
    assert {p.name for p in out.iterdir()} == {f"{n}.{ext}" for n in names for ext in ("png", "pdf")}
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:8] == PNG
        assert (out / f"{name}.png").stat().st_size > 20_000  # a real figure, not an empty canvas
    assert str(out / "scaling.png") in result.output


def test_a_tiny_model_with_few_results_still_plots(tmp_path):
    write(tmp_path / "r" / "ptb.json", fake_result("ptb", "/models/tiny", {"word_perplexity": 4.4e5}, limit=20,
                                                   ci={"word_perplexity": [1e5, 1.5e6]}))
    result = run("plot", tmp_path / "r" / "ptb.json", "--output", tmp_path / "f")
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "f").iterdir()} == {"scaling.png", "bars-__models__tiny.png"}


def test_load_results_skips_other_json(results_dir):
    found = load_results([results_dir])
    assert len(found) == 2 * 9 - 1 + 2  # two models' tasks, one missing, two sweep runs
    assert all("_path" in r for r in found)


def test_sweeps_stay_out_of_the_table_and_the_newest_duplicate_wins(tmp_path):
    old = fake_result("ptb", "gpt2", {"word_perplexity": 70.0}, created="2026-01-01T00:00:00")
    new = fake_result("ptb", "gpt2", {"word_perplexity": 66.0}, created="2026-02-01T00:00:00")
    sweep = fake_result("ptb", "gpt2", {"word_perplexity": 60.0}, stride=256, sweep=[1024, 256])
    chosen = table_results([{**r, "_path": str(i)} for i, r in enumerate([new, old, sweep])])
    assert [r["metrics"]["word_perplexity"] for r in chosen] == [66.0]


def test_column_values_are_in_the_papers_units():
    acc = next(c for c in columns() if c["column"] == "LAMBADA ACC")
    r = fake_result("lambada", "gpt2", {"acc_stopword": 0.46}, ci={"acc_stopword": [0.45, 0.47]})
    value, ci = column_value(r, acc)
    assert value == pytest.approx(46.0) and ci == pytest.approx((45.0, 47.0))
    assert column_value(fake_result("lambada", "gpt2", {"acc": 0.5}), acc) is None


@pytest.mark.parametrize("name, size", [("gpt2-large", "gpt2-large"), ("openai-community/gpt2", "gpt2"),
                                        ("/data/models/gpt2-xl/", "gpt2-xl"), ("/tmp/tiny", None)])
def test_paper_model_from_the_name(name, size):
    assert paper_model({"model": {"name": name}}) == size


def test_no_results_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("plot", tmp_path / "empty", "--output", tmp_path / "f")
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: no result files") and len(result.output.strip().splitlines()) == 1
