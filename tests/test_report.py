"""gpt2eval report: one self-contained HTML file from result folders (the page itself is
driven in a real browser by test_report_browser.py)."""
import base64
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from report_runs import gpt2eval


@pytest.fixture
def runs(report_runs):
    return report_runs


def page_data(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="gpt2eval-data">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def decode(field: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(field), dtype=dtype)


def test_one_self_contained_file_with_the_table_and_every_footnote(runs, tmp_path):
    out = gpt2eval("report", runs["paper"])
    path = runs["paper"] / "report.html"
    assert f"report -> {path}" in out
    text = path.read_text(encoding="utf-8")
    # Nothing is fetched when the page is read: no external scripts, styles, fonts or images.
    assert not re.search(r"<script[^>]+src=|<link|@import|url\((?!#)|<img|<iframe", text)  # url(#id): the SVGs' own clips
    assert not re.search(r'(?:src|href)="(?:https?:)?//', text)
    table = gpt2eval("table", str(runs["paper"]))
    notes = [line for line in table.splitlines() if line.startswith("†")]
    assert notes and all(n.replace("&", "&amp;") in text for n in notes)  # every † footnote, as `table` prints it
    ours = next(line for line in table.splitlines() if "| ours" in line)
    for cell in [c.strip() for c in ours.split("|")[3:] if c.strip() not in ("", "–")]:
        assert f"<td>{cell}</td>" in text
    assert text.count("<svg") >= 3  # scaling, bars, the tornado: inline SVG
    assert "Sensitivity: what each protocol choice is worth" in text and "Overlap with training data (Table 6)" in text
    data = page_data(text)
    assert {t["task"] for t in data["tasks"]} == {"ptb", "lambada", "cbt-cn"}


def test_embedded_token_arrays_are_the_tokens_file(runs, data_dir, tmp_path):
    out = tmp_path / "r.html"
    gpt2eval("report", runs["paper"], "--output", out, "--no-figures")
    ptb = next(t for t in page_data(out.read_text())["tasks"] if t["task"] == "ptb")["runs"][0]["tok"]
    rows = pq.read_table(runs["paper"] / "ptb.tokens.parquet").to_pandas()
    np.testing.assert_array_equal(decode(ptb["nll"], "<f4"), rows["nll"].to_numpy(np.float32))
    np.testing.assert_array_equal(decode(ptb["ctx"]["b64"], "<" + ptb["ctx"]["t"]), rows["context"])
    assert [ptb["vocab"][k] for k in decode(ptb["tok"]["b64"], "<" + ptb["tok"]["t"])] == rows["token"].tolist()
    assert decode(ptb["doc_start"], "<i4").tolist() == [0, *np.cumsum(rows.groupby("doc").size()).tolist()]
    lines = (data_dir / "ptb" / "ptb.test.txt").read_text().split("\n")[:8]
    assert ptb["originals"] == [line + "\n" for line in lines]


def test_compare_pairs_tasks_and_embeds_the_texts_once(runs, tmp_path):
    out = tmp_path / "r.html"
    gpt2eval("report", runs["paper"], "--compare", runs["lm-eval"], "--output", out, "--no-figures")
    data = page_data(out.read_text())
    for task in data["tasks"]:
        a, b = task["runs"]
        assert (a["label"], b["label"]) == ("paper", "lm-eval") and a["task"] == b["task"]
        assert a["tok"] is not None and b["tok"] is not None
        if task["task"] != "cbt-cn":
            assert "originals" not in b["tok"], "the same documents are embedded once"
    lambada = next(t for t in data["tasks"] if t["task"] == "lambada")
    assert lambada["runs"][1]["setup"]["lambada_format"] == "lm-eval" and lambada["runs"][0]["setup"]["lambada_format"] == "openai"


def test_two_tokenizers_keep_their_own_rows_on_one_original(runs, tmp_path):
    out = tmp_path / "r.html"
    gpt2eval("report", runs["paper"], "--compare", runs["bytelevel"], "--output", out, "--no-figures")
    ptb = next(t for t in page_data(out.read_text())["tasks"] if t["task"] == "ptb")
    a, b = (r["tok"] for r in ptb["runs"])
    assert a["n"] != b["n"] and set(a["vocab"]) != set(b["vocab"])
    assert "originals" not in b, "both tokenizations map onto the same original text"
    for tok in (a, b):  # each run's spans tile each original sentence
        start, bounds = decode(tok["start"]["b64"], "<" + tok["start"]["t"]), decode(tok["doc_start"], "<i4")
        end = start + decode(tok["len"]["b64"], "<" + tok["len"]["t"])
        for d, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            assert start[lo] == 0 and end[hi - 1] == len(a["originals"][d]) and (start[lo + 1 : hi] == end[lo : hi - 1]).all()


def test_missing_or_stale_tokens_files_are_said(runs, tmp_path):
    folder = tmp_path / "bare"
    shutil.copytree(runs["bare"], folder)
    gpt2eval("report", folder, "--output", tmp_path / "a.html", "--no-figures")
    run = page_data((tmp_path / "a.html").read_text())["tasks"][0]["runs"][0]
    assert run["tok"] is None and "no ptb.tokens.parquet" in run["note"] and len(run["docs"]["nll"]) == 8
    shutil.copy(runs["none"] / "ptb.tokens.parquet", folder / "ptb.tokens.parquet")  # another run's rows
    gpt2eval("report", folder, "--output", tmp_path / "b.html", "--no-figures")
    run = page_data((tmp_path / "b.html").read_text())["tasks"][0]["runs"][0]
    assert run["tok"] is None and "is not used" in run["note"]


def test_max_tokens_embeds_whole_documents_first(runs, tmp_path):
    gpt2eval("report", runs["paper"], "--output", tmp_path / "r.html", "--max-tokens", 30, "--no-figures")
    ptb = next(t for t in page_data((tmp_path / "r.html").read_text())["tasks"] if t["task"] == "ptb")["runs"][0]
    assert ptb["tok"]["truncated"] and ptb["tok"]["n"] <= 30 and "--max-tokens" in ptb["note"]


@pytest.mark.parametrize("args,message", [
    (["report", "{empty}"], "no gpt2eval result files in"),
    (["report", "{paper}", "--compare", "{empty}"], "--compare"),
    (["report", "{paper}", "--output", "{empty}"], "is a directory"),
])
def test_bad_input_is_one_line_exit_2(runs, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", paper=runs["paper"]) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_report_never_imports_torch(runs, tmp_path):
    code = ("import sys; from gpt2eval.report.html import write_report; "
            f"write_report({str(runs['paper'])!r}, {str(runs['bytelevel'])!r}, __import__('pathlib').Path({str(tmp_path / 'r.html')!r})); "
            "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_a_folder_of_sweeps_only_still_gets_its_tornado(runs, tmp_path):
    out = tmp_path / "r.html"
    gpt2eval("report", runs["paper"] / "sensitivity", "--output", out)
    text = out.read_text()
    assert "No results here but sweeps" in text and "Sensitivity: what each protocol choice is worth" in text
    assert "<svg" in text and page_data(text)["tasks"] == []
