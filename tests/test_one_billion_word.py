"""One Billion Word: the exact denominator, --join variants, the hub rebuild, the CLI."""
import json
import math
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig
from gpt2eval.data.files import HubDataset
from gpt2eval.errors import UsageError
from gpt2eval.engine.lm import LM
from gpt2eval.tasks.one_billion_word import OneBillionWord
from gpt2eval.testing import gpt2_tokenizer

FILE = "1bw/news.en.heldout-00000-of-00050"
FIRST = "Having a little flexibility on that issue would go a long way to putting together a final package."


def docs_of(data_dir, join=None, **data):
    task = OneBillionWord(DataConfig(data_dir=str(data_dir), options={"1bw_join": join}, **data))
    return task, task.documents()


def test_exact_denominator_on_the_real_file(data_dir):
    task, docs = docs_of(data_dir)
    assert len(docs) == 6_075
    assert sum(d.n_units for d in docs) == 159_658 == task.denominator
    assert sum(len(d.original.split()) for d in docs) == 153_583
    assert task.record.files[0]["checksum"] == "ok"
    assert "".join(d.original for d in docs) == (data_dir / FILE).read_text(encoding="utf-8")
    assert task.protocol == {"detokenizer": "one_billion_word", "1bw_join": "newline"}


@pytest.mark.parametrize(
    "join, first, second_start",
    [
        ("newline", FIRST + "\n", "Long before"),
        ("eos", FIRST + "<|endoftext|>", "Long before"),
        ("space", FIRST, " Long before"),
    ],
)
def test_join_variants(data_dir, join, first, second_start):
    task, docs = docs_of(data_dir, join=join, limit=3)
    assert docs[0].text == first
    assert docs[1].text.startswith(second_start)
    assert [d.n_units for d in docs] == [20, 49, 18]  # words + 1, whatever the join
    assert task.protocol["1bw_join"] == join


def test_detokenizer_none_scores_the_tokenized_line(data_dir):
    _, docs = docs_of(data_dir, detokenizer="none", limit=2)
    assert docs[1].text == docs[1].original
    assert "Wal-Mart 's founder" in docs[1].text


def test_bad_join_is_a_usage_error():
    with pytest.raises(UsageError, match="--1bw-join 'tab' is not one of newline, eos, space"):
        OneBillionWord(DataConfig(options={"1bw_join": "tab"}))


def test_hub_rows_rebuild_the_file(data_dir, tmp_path, monkeypatch):
    lines = (data_dir / FILE).read_text(encoding="utf-8")[:-1].split("\n")
    rows = [line.strip() for line in lines] + ["A sentence from heldout shard 00001 ."] * 3
    path = tmp_path / "test.parquet"
    pq.write_table(pa.table({"text": rows}), path)
    monkeypatch.setattr(OneBillionWord, "hub", HubDataset("parquet", None, "test", "text", data_files={"test": str(path)}))
    task = OneBillionWord(DataConfig())
    docs = task.documents()
    assert sum(d.n_units for d in docs) == 159_658
    assert task.record.hub["checksum"] == "ok"


def lm_with_tokenizer():
    lm = LM.__new__(LM)
    lm.tokenizer = gpt2_tokenizer()
    lm.loaded = SimpleNamespace(eos_id=50256)
    return lm


def test_eos_join_puts_one_eos_token_after_each_sentence(data_dir):
    task, docs = docs_of(data_dir, join="eos", limit=20)
    ids, starts = task.encode_stream(docs, lm_with_tokenizer())
    assert ids.count(50256) == 20 and ids[-1] == 50256
    # Each EOS id starts where its sentence's "<|endoftext|>" stands in the documents' text.
    ends = [sum(len(d.text) for d in docs[: i + 1]) - len("<|endoftext|>") for i in range(20)]
    assert [s for t, s in zip(ids, starts) if t == 50256] == ends


def test_eos_join_needs_a_tokenizer_with_an_eos_token(data_dir):
    task, docs = docs_of(data_dir, join="eos", limit=2)
    lm = lm_with_tokenizer()
    lm.tokenizer.eos_token = None
    with pytest.raises(UsageError, match="has no EOS token"):
        task.evaluate(docs, lm)


def run_cli(tiny_model_dir, data_dir, tmp_path, *args):
    out = tmp_path / "result.json"
    result = CliRunner().invoke(
        main,
        ["run", "--task", "1bw", "--model", str(tiny_model_dir), "--device", "cpu", "--batch-size", "8", "--quiet",
         "--data-dir", str(data_dir), "--output", str(out), *args],
    )
    return result, out


@pytest.mark.parametrize("join, limit", [("newline", 200), ("eos", 30)])  # ~700 tokens/s on 2 CPUs
def test_cli_end_to_end(tiny_model_dir, data_dir, tmp_path, join, limit):
    result, out = run_cli(tiny_model_dir, data_dir, tmp_path, "--limit", str(limit), "--1bw-join", join)
    assert result.exit_code == 0, result.output
    res = json.loads(out.read_text())
    totals = res["totals"]
    assert res["headline"] == "word_perplexity" and res["n_documents"] == limit
    assert totals["n_units"] == sum(len(d.original.split()) + 1 for d in docs_of(data_dir, limit=limit)[1])
    assert res["metrics"]["word_perplexity"] == pytest.approx(math.exp(totals["nll_nats"] / totals["n_units"]))
    assert res["config"]["protocol"] == {"detokenizer": "one_billion_word", "1bw_join": join}


def test_cli_bad_join_exits_2_with_one_line(tiny_model_dir, data_dir, tmp_path):
    result, _ = run_cli(tiny_model_dir, data_dir, tmp_path, "--1bw-join", "tab")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error: Invalid value for '--1bw-join': 'tab' is not one of 'newline', 'eos', 'space'.")
