"""Issue 16.7 and 16.9: reports that cannot be broken or faked.

Markdown cells escape `|` and line breaks; `table` marks a metric its stored per-document
sums do not give (edited or damaged); a cell or figure made from data that is not the
published test set (a fixture, a count other than the published one) is marked, and
`reproduce`'s summary says which earlier results its table shows; LaTeX keeps `--` and
compiles with the package it names; every report compares with one paper size rule;
`gpt2eval tasks` fits 100 columns.
"""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def ptb_result(tiny_model_dir, data_dir, tmp_path_factory):
    """A real result: ptb, 5 sentences, from a model folder whose name holds `|`."""
    folder = tmp_path_factory.mktemp("report")
    model = shutil.copytree(tiny_model_dir, folder / "a|b")
    out = folder / "results" / "ptb.json"
    result = run("run", "--task", "ptb", "--model", model, "--data-dir", data_dir, "--limit", 5, "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


def rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def test_markdown_cells_escape_pipes_and_line_breaks(ptb_result):
    from gpt2eval.report.table import _markdown

    table = run("table", ptb_result.parent)
    assert table.exit_code == 0, table.output
    widths = {len(row.replace("\\|", "").split("|")) for row in rows(table.output)}
    assert len(widths) == 1, f"every row has the same cells: {widths}"
    assert "a\\|b " in table.output
    assert _markdown("two\nlines | here") == "two lines \\| here"


def test_an_edited_metric_is_marked(ptb_result, tmp_path):
    edited = json.loads(ptb_result.read_text())
    edited["metrics"]["word_perplexity"] = 29.41
    (tmp_path / "ptb.json").write_text(json.dumps(edited))
    table = run("table", tmp_path)
    assert table.exit_code == 0, table.output
    [ours] = [row for row in rows(table.output) if "ours" in row]
    assert "29.41 †1" in ours and "±" not in ours.split("|")[8], "no interval from sums that disagree with the metric"
    assert "†1 window 128 tokens (paper 1024); --limit 5; the metric is not what the stored per-document sums give" in table.output
    untouched = run("table", ptb_result)
    assert "stored per-document sums" not in untouched.output


def test_edited_totals_are_marked_too(ptb_result, tmp_path):
    from gpt2eval.report.checks import sums_disagree

    edited = json.loads(ptb_result.read_text())
    assert sums_disagree(edited) == set()
    edited["totals"]["nll_nats"] *= 0.5
    edited["metrics"] = __import__("gpt2eval.results.bootstrap", fromlist=["x"]).task_for_result(edited).metrics(edited["totals"])
    assert sums_disagree(edited) == {"totals"}, "metrics recomputed from edited totals still disagree with the documents"


def test_fixture_data_is_marked_in_the_table_and_the_figures(tiny_model_dir, tmp_path):
    from gpt2eval.report.figures import _limited, load_results

    out = tmp_path / "res" / "cbt-cn.json"
    result = run("run", "--task", "cbt-cn", "--model", tiny_model_dir, "--data-dir", FIXTURES / "cbt", "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    table = run("table", out.parent)
    assert "†1 window 128 tokens (paper 1024); data: 6 questions, not the published 2,000 (no checksum to verify them)" in table.output
    assert _limited(load_results([out.parent])) == "not the published data: cbt-cn"


def test_reproduce_says_which_earlier_results_its_table_shows(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "res"
    first = run("run", "--task", "cbt-cn", "--model", tiny_model_dir, "--data-dir", FIXTURES / "cbt", "--output", out / "cbt-cn.json",
                "--quiet")
    assert first.exit_code == 0, first.output
    result = run("reproduce", "--tasks", "cbt-cn,ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 3,
                 "--output", out, "--quiet")
    assert result.exit_code == 1, result.output
    assert "no new result for cbt-cn: data missing" in result.output
    assert f"the table shows earlier results for cbt-cn ({out / 'cbt-cn.json'})" in result.output
    table = (out / "table3.md").read_text()
    assert "data: 6 questions, not the published 2,000" in table, table


def test_latex_keeps_double_hyphens_and_names_its_package(ptb_result):
    tex = run("table", ptb_result, "--format", "latex").output
    assert "-{}-limit 5" in tex and "--limit" not in tex
    assert tex.startswith("% gpt2eval table: needs \\usepackage{booktabs} in the preamble")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_with_the_package_it_names(ptb_result, tmp_path):
    import re

    tex = run("table", ptb_result, "--format", "latex").output
    packages = re.search(r"needs (.*) in the preamble", tex).group(1).replace(",", "\n")
    (tmp_path / "t.tex").write_text(f"\\documentclass{{article}}\n{packages}\n\\begin{{document}}\n{tex}\\end{{document}}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    text = subprocess.run(["pdftotext", "t.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout if shutil.which("pdftotext") else ""
    assert not text or "--limit 5" in text


def test_sensitivity_compares_with_the_nearest_paper_size_as_table_does():
    from gpt2eval.report.sensitivity import summarize
    from gpt2eval.report.table import paper_model_for

    base = {"task": "ptb", "headline": "word_perplexity", "metrics": {"word_perplexity": 50.0},
            "model": {"name": "/models/my-lm", "n_parameters": 350_000_000}, "config": {"data": {"limit": None}},
            "sweep": {"choice": None, "value": None, "preset": "paper"}}
    summary = summarize([base])
    assert summary["paper_model"] == "gpt2-medium" == paper_model_for("/models/my-lm", "nearest", 350_000_000)
    assert summarize([base], "gpt2-xl")["paper_model"] == "gpt2-xl"


def test_tasks_fits_100_columns():
    result = run("tasks")
    assert result.exit_code == 0
    assert max(map(len, result.output.splitlines())) <= 100
    assert any(line.startswith("ptb ") and "82,430" in line for line in result.output.splitlines())
