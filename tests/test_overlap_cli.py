"""`gpt2eval overlap`, `run --exclude-overlap` and `table --exclude-overlap` through the real CLI."""
import csv
import io
import json
import math

import pytest

from gpt2eval.results.overlap import exclude_from_result, load_overlap

from conftest import assert_usage_error, run

BW = "1bw/news.en.heldout-00000-of-00050"


def test_overlap_prints_table6_and_writes_the_json(data_dir, tmp_path):
    out = tmp_path / "ov.json"
    result = run("overlap", "--task", "ptb", "--task", "wikitext2", "--task", "lambada", "--corpus", data_dir / BW,
                 "--data-dir", data_dir, "--filter", tmp_path / "1bw.bloom", "--output", out)
    assert result.exit_code == 0, result.output
    assert "| ptb " in result.output and "0.88%" in result.output and "2.67%" in result.output  # the paper's cells
    r = json.loads(out.read_text())
    assert r["n"] == 8 and r["corpus"][0]["name"].endswith(BW)
    assert r["filter"]["false_positive_bound"] <= 1e-8 and r["filter"]["n_inserted"] == r["filter"]["capacity"]
    ptb = r["tasks"]["ptb"]
    assert ptb["n_documents"] == 3_761 and ptb["n_ngrams"] == 53_454 and ptb["n_overlapping"] == 0
    assert len(ptb["per_document"]["fraction"]) == 3_761 and ptb["data"]["files"][0]["checksum"] == "ok"
    # The filter on disk answers the same without the corpus.
    again = run("overlap", "--task", "ptb", "--task", "wikitext2", "--task", "lambada", "--filter", tmp_path / "1bw.bloom",
                "--data-dir", data_dir, "--output", tmp_path / "again.json")
    assert again.exit_code == 0, again.output
    r2 = json.loads((tmp_path / "again.json").read_text())
    assert {t: v["per_document"] for t, v in r2["tasks"].items()} == {t: v["per_document"] for t, v in r["tasks"].items()}


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--task", "ptb"), "give a training corpus"),
        (("--task", "ptb", "--corpus", "nope/*.txt"), "no file matches"),
        (("--task", "ptb", "--corpus-hub", "just-a-name"), "DATASET[:CONFIG]:SPLIT:COLUMN"),
        (("--task", "nope", "--corpus", "{bw}"), "unknown task 'nope'"),
        (("--task", "ptb", "--filter", "missing.bloom"), "not found: build it first"),
    ],
)
def test_overlap_usage_errors(data_dir, args, fragment):
    args = [a.replace("{bw}", str(data_dir / BW)) for a in args]
    assert_usage_error(run("overlap", *args, "--data-dir", data_dir), fragment)


def test_overlap_refuses_to_overwrite_or_mismatch_a_filter(data_dir, tmp_path):
    f = tmp_path / "f.bloom"
    assert run("overlap", "--task", "ptb", "--corpus", data_dir / BW, "--filter", f, "--n", 5, "--data-dir", data_dir,
               "--output", tmp_path / "o.json").exit_code == 0
    assert_usage_error(run("overlap", "--task", "ptb", "--corpus", data_dir / BW, "--filter", f, "--data-dir", data_dir), "exists")
    assert_usage_error(run("overlap", "--task", "ptb", "--filter", f, "--data-dir", data_dir), "holds 5-grams")


@pytest.fixture(scope="module")
def lambada_runs(tiny_model_dir, data_dir, tmp_path_factory):
    """Overlap of 24 LAMBADA passages with a corpus holding 3 of them; a run on all, and one on the clean ones."""
    tmp = tmp_path_factory.mktemp("lambada-overlap")
    passages = [json.loads(line)["text"] for line in (data_dir / "lambada" / "lambada_test.jsonl").read_text().splitlines()[:24]]
    (tmp / "corpus.txt").write_text("\n\n".join(passages[i] for i in (3, 11, 17)))
    ov = tmp / "ov.json"
    r = run("overlap", "--task", "lambada", "--corpus", tmp / "corpus.txt", "--data-dir", data_dir, "--limit", 24, "--output", ov)
    assert r.exit_code == 0, r.output
    common = ("--task", "lambada", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 24, "--quiet")  # batch 1: bit-identical per passage
    for name, extra in (("full", ()), ("clean", ("--exclude-overlap", ov))):
        r = run("run", *common, *extra, "--output", tmp / f"{name}.json")
        assert r.exit_code == 0, r.output
    return ov, *(json.loads((tmp / f"{name}.json").read_text()) for name in ("full", "clean")), tmp


def test_run_exclude_overlap_scores_only_clean_passages(lambada_runs):
    ov, full, clean, _ = lambada_runs
    excluded = set(load_overlap(str(ov))["tasks"]["lambada"]["overlapping"])
    assert {"passage-3", "passage-11", "passage-17"} <= excluded
    assert clean["n_documents"] == 24 - len(excluded) and full["n_documents"] == 24
    assert not excluded & set(clean["per_document"]["id"])
    assert clean["config"]["data"]["exclude_overlap"] == str(ov)
    assert clean["data"]["files"][-1]["role"] == "exclude-overlap"
    assert clean["data"]["files"][-1]["documents_excluded"] == len(excluded)


def test_table_exclusion_from_stored_sums_equals_the_rerun(lambada_runs):
    ov, full, clean, tmp = lambada_runs
    again = exclude_from_result(full, load_overlap(str(ov)), str(ov))
    assert again["totals"] == clean["totals"] and again["per_document"] == clean["per_document"]
    for name, value in clean["metrics"].items():  # every LAMBADA metric
        assert again["metrics"][name] == pytest.approx(value, rel=1e-12, abs=0), name
    assert again["ci95"] == clean["ci95"]
    result = run("table", "--exclude-overlap", ov, tmp / "full.json", "--format", "csv", "--paper-model", "none")
    assert result.exit_code == 0, result.output
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(result.output)) if r["task"] == "lambada"}
    assert float(rows["perplexity"]["ours"]) == pytest.approx(clean["metrics"]["perplexity"], rel=1e-12)
    assert float(rows["acc_stopword"]["ours"]) == pytest.approx(100 * clean["metrics"]["acc_stopword"], rel=1e-12)
    assert "--exclude-overlap ov.json (from stored sums)" in rows["perplexity"]["differs"]
    marked = run("table", tmp / "clean.json", "--paper-model", "none")
    assert "†" in marked.output and "--exclude-overlap ov.json" in marked.output
    plain = run("table", tmp / "full.json", "--format", "csv", "--paper-model", "none")
    full_ppl = [r for r in csv.DictReader(io.StringIO(plain.output)) if r["metric"] == "perplexity"][0]
    assert "--exclude-overlap" not in full_ppl["differs"] and not math.isclose(float(full_ppl["ours"]), clean["metrics"]["perplexity"])


def test_exclude_overlap_errors_come_before_the_model(data_dir, tmp_path, lambada_runs):
    ov = lambada_runs[0]
    r = run("run", "--task", "ptb", "--model", tmp_path / "no-model", "--data-dir", data_dir, "--exclude-overlap", ov)
    assert_usage_error(r, "has no task ptb")
    r = run("run", "--task", "lambada", "--model", tmp_path / "no-model", "--data-dir", data_dir, "--exclude-overlap", ov)
    assert_usage_error(r, "were not analysed")  # the overlap covered 24 passages, the run all 5,153
    (tmp_path / "x.json").write_text("{}")
    r = run("run", "--task", "lambada", "--model", tmp_path / "no-model", "--data-dir", data_dir, "--exclude-overlap", tmp_path / "x.json")
    assert_usage_error(r, "not an overlap JSON")
