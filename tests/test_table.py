"""`gpt2eval table` through the real CLI, on synthetic result files."""
import io
import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.report.table import paper_model_for, protocol_differences

PROTOCOLS = {"wikitext2": {"detokenizer": "wikitext"}, "wikitext2-raw": {"detokenizer": "none"},
             "ptb": {"detokenizer": "ptb"}, "lambada": {"detokenizer": "none", "stopword_topk": 10, "lambada_format": "openai", "stopword_filter": "word", "stopwords": "nltk179"},
             "cbt-cn": {"detokenizer": "cbt", "split": "valid"}}


def result(task, metrics, model="/models/gpt2-large", ci95=None, window=None, data=None, protocol=None, dtype="float32"):
    return {
        "task": task, "metrics": metrics, "ci95": ci95, "headline": next(iter(metrics), None), "n_documents": 100,
        "config": {
            "window": {"max_length": 1024, "stride": 1024, "eos_prefix": True, "batch_size": 1, **(window or {})},
            "data": {"data_dir": "/data", "data_file": None, "limit": None, "detokenizer": "default", "unit": None,
                     "split": None, "join": None, "stopword_topk": None, **(data or {})},
            "protocol": {**PROTOCOLS.get(task, {}), **(protocol or {})},
        },
        "model": {"name": model, "n_parameters": 774_030_080, "dtype": dtype},
    }


def write(folder, name, r):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(r))
    return path


@pytest.fixture
def results(tmp_path):
    """gpt2-large: better on WikiText2 and LAMBADA ACC, worse on PTB, LAMBADA PPL and CBT-CN."""
    folder = tmp_path / "results"
    write(folder, "gpt2-large/wikitext2.json", result("wikitext2", {"word_perplexity": 19.00}, ci95={"word_perplexity": [18.5, 19.6]}))
    write(folder, "gpt2-large/ptb.json", result("ptb", {"word_perplexity": 41.31}))
    write(folder, "gpt2-large/lambada.json", result("lambada", {"perplexity": 11.87, "acc_stopword": 0.6212, "acc": 0.5},
                                                   ci95={"acc_stopword": [0.6112, 0.6312], "perplexity": None}))
    # Recorded as results did before --split became --cbt-split: the marker names the flag of now.
    write(folder, "gpt2-large/cbt-cn.json", result("cbt-cn", {"acc": 0.9245}, protocol={"split": "test"}))
    tiny = dict(model="/tmp/tiny", window={"max_length": 128, "stride": 64}, data={"limit": 100})
    write(folder, "tiny/wikitext2-raw.json", result("wikitext2-raw", {"word_perplexity": 5e5}, **tiny))
    write(folder, "tiny/samples.json", {"not": "a result"})
    (folder / "tiny" / "broken.json").write_text("{")
    return folder


def invoke(*args):
    return CliRunner().invoke(main, ["table", *map(str, args)])


def test_csv_numbers_signs_and_missing_cells(results):
    out = invoke(results, "--format", "csv")
    assert out.exit_code == 0, out.output
    frame = pd.read_csv(io.StringIO(out.output)).set_index(["model", "column"])
    assert len(frame) == 20, "every model gets all ten Table 3 columns"
    large = frame.loc["/models/gpt2-large"]
    assert (large["paper_model"] == "gpt2-large").all()
    expected = {  # column: (ours, diff, better)
        "WikiText2": (19.00, 19.00 - 19.93, True), "PTB": (41.31, 41.31 - 40.31, False),
        "LAMBADA PPL": (11.87, 11.87 - 10.87, False), "LAMBADA ACC": (62.12, 62.12 - 60.12, True),
        "CBT-CN": (92.45, 92.45 - 93.45, False),
    }
    for column, (ours, diff, better) in expected.items():
        row = large.loc[column]
        assert row["ours"] == pytest.approx(ours) and row["diff"] == pytest.approx(diff), column
        assert row["better"] == better, column
    assert large.loc["LAMBADA ACC", "ci_lo"] == pytest.approx(61.12), "accuracies in %, intervals too"
    assert math.isnan(large.loc["enwik8", "ours"]) and large.loc["enwik8", "paper"] == 0.97, "missing stays missing"
    assert large.loc["CBT-CN", "differs"] == "--cbt-split test"
    tiny = frame.loc["/tmp/tiny"]
    assert tiny.loc["WikiText2", "differs"] == "window 128 tokens (paper 1024); stride 64; --limit 100; task wikitext2-raw"
    assert tiny.loc["WikiText2", "paper"] == 19.93, "other models: the paper size nearest in parameters (774M: gpt2-large)"


def test_markdown_rows_cells_and_footnotes(results):
    out = invoke(results)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[2:] == ["LAMBADA PPL", "LAMBADA ACC", "CBT-CN", "CBT-NE", "WikiText2", "PTB", "enwik8", "text8",
                          "WikiText103", "1BW"], "the paper's column order"
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:8]]
    ours, paper, delta = rows[0], rows[1], rows[2]
    assert ours[:2] == ["/models/gpt2-large", "ours"] and paper[1] == "paper gpt2-large" and delta[1] == "Δ"
    assert ours[6] == "19.00 ± 0.55" and paper[6] == "19.93" and delta[6] == "-0.93 (-4.7%) better"
    assert ours[3] == "62.12 ± 1.00" and delta[3] == "+2.00 (+3.3%) better"
    assert ours[2] == "11.87" and delta[2] == "+1.00 (+9.2%) worse", "no interval: no ±"
    assert ours[4] == "92.45 †1" and delta[4] == "-1.00 (-1.1%) worse"
    assert ours[5] == "–" and paper[5] == "88.00" and delta[5] == "–"
    assert paper[11] == "44.575", "the paper's own precision is kept"
    assert rows[3][:2] == ["/tmp/tiny", "ours"] and rows[3][6] == "500000.00 †2"
    assert "†1 --cbt-split test" in lines and "†2 window 128 tokens (paper 1024); stride 64; --limit 100; task wikitext2-raw" in lines


def test_latex_to_a_file(results, tmp_path):
    target = tmp_path / "out" / "table3.tex"
    out = invoke(results, "--format", "latex", "--output", target, "--paper-model", "none")
    assert out.exit_code == 0, out.output
    tex = target.read_text()
    assert tex.startswith("% gpt2eval table: needs \\usepackage{booktabs}") and r"\end{tabular}" in tex
    assert tex.splitlines()[1].startswith(r"\begin{tabular}{llrrrrrrrrrr}")
    assert r"19.00 $\pm$ 0.55" in tex and r"92.45 \dag{}1" in tex and r"\dag{}1 -{}-cbt-split test" in tex
    assert r"/tmp/tiny & ours & -- &" in tex, "missing cells are --, rows of other models have no paper rows"
    assert tex.count(" & paper ") == 1 and " & paper gpt2-large & " in tex, "only gpt2-large has a paper row"
    assert r"\%" in tex and "_" not in tex.replace(r"\_", "")


def test_protocol_differences():
    assert protocol_differences(result("ptb", {})) == []
    assert protocol_differences(result("ptb", {}, window={"stride": 512}, dtype="bfloat16")) == ["stride 512", "bfloat16"]
    assert protocol_differences(result("lambada", {}, window={"stride": 512})) == [], "stride does not apply to LAMBADA"
    assert protocol_differences(result("ptb", {}, data={"limit": 500})) == [], "a limit above the document count cut nothing"
    assert protocol_differences(result("ptb", {}, data={"detokenizer": "none"}, window={"eos_prefix": False})) == [
        "no <|endoftext|> prefix", "--detokenizer none"]
    assert protocol_differences(result("lambada", {}, protocol={"stopword_topk": 3})) == ["--stopword-topk 3"]


def test_paper_model_for():
    assert paper_model_for("gpt2", None) == "gpt2"
    assert paper_model_for("openai-community/gpt2-xl", None) == "gpt2-xl"
    assert paper_model_for("/ckpt/GPT2-Medium/", "gpt2-large") == "gpt2-medium"
    assert paper_model_for("/ckpt/gpt2-large-finetuned", "gpt2") == "gpt2"
    assert paper_model_for("distilgpt2", None) is None


def assert_one_line_error(out, fragment):
    assert out.exit_code == 2, out.output
    assert out.output.count("\n") == 1 and out.output.startswith("error: ") and fragment in out.output, out.output


def test_the_newest_of_several_results_wins_and_sweeps_are_left_out(results):
    older = {**result("ptb", {"word_perplexity": 40.0}), "created_at": "2020-01-01T00:00:00+00:00"}
    newer = {**result("ptb", {"word_perplexity": 42.0}), "created_at": "2030-01-01T00:00:00+00:00"}
    write(results, "a/ptb.json", older)
    write(results, "b/ptb.json", newer)
    write(results, "gpt2-large/sweep-stride/ptb-stride64.json", {**newer, "created_at": "2040", "sweep": {"values": [64]}})
    out = invoke(results, "--format", "csv")
    assert out.exit_code == 0, out.output
    assert f"note: /models/gpt2-large / ptb: {results / 'b/ptb.json'} replaces {results / 'a/ptb.json'} (newer)" in out.output
    assert "/models/gpt2-large,gpt2-large,PTB,ptb,word_perplexity,,lower,42.0," in out.output
    sweep = invoke(results / "gpt2-large/sweep-stride/ptb-stride64.json", "--format", "csv")
    assert sweep.exit_code == 0 and ",PTB,ptb,word_perplexity,,lower,42.0," in sweep.output, "a named sweep is used"


def test_errors(results, tmp_path):
    assert_one_line_error(invoke(results / "tiny" / "samples.json"), "is not a gpt2eval result file")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(invoke(tmp_path / "empty"), "no gpt2eval result files")
    assert_one_line_error(invoke(tmp_path / "nowhere"), "does not exist")
