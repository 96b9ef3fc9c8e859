"""The document bootstrap: deterministic, sane intervals, edge cases, and wired into runs."""
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from gpt2eval.results.bootstrap import bootstrap_ci, ci_from_result, resampled_totals, task_for_result, uncertainty
from gpt2eval.cli import main
from gpt2eval.errors import UsageError


def ppl(totals):
    """A word perplexity and an accuracy, as a task computes them from summed totals."""
    return {
        "ppl": math.exp(totals["nll"] / totals["n"]) if totals["nll"] / totals["n"] < 700 else math.inf,
        "acc": totals["correct"] / totals["n"],
    }


def documents(n_docs, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 30, size=n_docs)  # words per document
    return {
        "id": [f"doc-{i}" for i in range(n_docs)],
        "nll": (n * rng.uniform(2.0, 4.0, size=n_docs)).tolist(),
        "n": n.tolist(),
        "correct": rng.binomial(n, 0.3).tolist(),
    }


def test_same_seed_same_interval_other_seed_other_interval():
    docs = documents(300)
    assert bootstrap_ci(ppl, docs) == bootstrap_ci(ppl, docs)
    assert bootstrap_ci(ppl, docs, seed=1) != bootstrap_ci(ppl, docs)


def test_interval_contains_the_point_and_shrinks_with_more_documents():
    few, many = bootstrap_ci(ppl, documents(20)), bootstrap_ci(ppl, documents(2000))
    for docs, ci in ((documents(20), few), (documents(2000), many)):
        point = ppl({k: sum(v) for k, v in docs.items() if k != "id"})
        for name, (lo, hi) in ci.items():
            assert lo < point[name] < hi, (name, lo, point[name], hi)
    for name in ("ppl", "acc"):
        width_few, width_many = few[name][1] - few[name][0], many[name][1] - many[name][0]
        assert width_many < width_few / 3, f"{name}: 100x the documents should give a ~10x narrower interval"


def test_resampled_totals_are_sums_of_n_docs_draws():
    sums = np.array([[1.0, 10.0], [1.0, 20.0], [1.0, 30.0]])  # (n_docs=3, k=2), a column of ones counts draws
    totals = resampled_totals(sums, resamples=500, seed=0)  # (500, 2)
    assert totals.shape == (500, 2)
    assert (totals[:, 0] == 3).all(), "each resample draws exactly n_docs documents"
    assert set(totals[:, 1]) <= {10.0 * k for k in range(3, 10)}
    assert totals[:, 1].mean() == pytest.approx(60.0, rel=0.05), "resampling is unbiased for sums"


def test_one_document_gets_no_interval():
    assert bootstrap_ci(ppl, documents(1)) is None
    assert uncertainty(ppl, documents(1)) == {"ci95": None, "bootstrap": None}
    meta = uncertainty(ppl, documents(5))["bootstrap"]
    assert meta["unit"] == "document" and meta["resamples"] == 1000 and meta["seed"] == 1234


def test_nan_point_and_inf_resamples():
    docs = {"id": ["a", "b"], "nll": [1398.0, 0.0], "n": [1, 1], "correct": [0, 0]}  # point ppl exp(699)
    ci = bootstrap_ci(ppl, docs)
    assert math.isfinite(ci["ppl"][0]) and ci["ppl"][1] == math.inf, "an overflowing resample stays inf, not nan"
    nan_metric = bootstrap_ci(lambda t: {"x": math.nan, **ppl(t)}, documents(10))
    assert nan_metric["x"] is None and nan_metric["acc"] is not None


def stored_result(task="ptb", data=None):
    docs = documents(50)
    per_document = {"id": docs["id"], "nll_nats": docs["nll"], "n_units": docs["n"], "n_tokens": docs["n"],
                    "n_greedy": docs["correct"], "n_bytes": [5 * n for n in docs["n"]]}
    totals = {k: sum(v) for k, v in per_document.items() if k != "id"}
    result = {"task": task, "totals": totals, "per_document": per_document,
              "config": {"data": {"data_dir": "/gone", "limit": 50, "detokenizer": "default", **(data or {})}}}
    result["metrics"] = task_for_result(result).metrics(totals)
    return result


def test_ci_from_a_result_file_alone():
    result = stored_result()
    ci = ci_from_result(result)
    assert set(ci) == set(result["metrics"]) >= {"word_perplexity", "bits_per_byte"}
    lo, hi = ci["word_perplexity"]
    assert lo < result["metrics"]["word_perplexity"] < hi


def test_text_task_rebuilds_its_unit_from_the_stored_options():
    task = task_for_result({"task": "text", "config": {"data": {"data_file": "/gone.txt", "unit": "char", "future_option": 1}}})
    assert task.metric == "char_perplexity"


def test_ci_from_result_refuses_metrics_the_task_defines_differently():
    result = stored_result()
    result["metrics"]["word_perplexity"] *= 1.01
    with pytest.raises(UsageError, match="defines it differently"):
        ci_from_result(result)


def test_a_run_stores_the_interval(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "ptb.json"
    args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 30, "--quiet", "--output", out]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["bootstrap"] == {"resamples": 1000, "seed": 1234, "unit": "document", "level": 0.95, "method": "percentile"}
    assert r["ci95"] == ci_from_result(r)
    lo, hi = r["ci95"]["word_perplexity"]
    assert lo < r["metrics"]["word_perplexity"] < hi
