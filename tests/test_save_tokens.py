"""run --save-tokens: one row per scored token, from the same pass, the same after a cached rerun."""
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from gpt2eval.detokenizers import ptb
from gpt2eval.results.tokens import mismatch, read_tokens

from conftest import run as cli

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


def load(path: Path):
    table, meta = read_tokens(path)
    return table.to_pandas(), meta, json.loads(path.with_name(meta["result"]).read_text())


def test_ptb_rows_tile_the_original_and_sum_to_the_result(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "a"
    run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 40, "--output", out,
        "--save-tokens", "--quiet")
    rows, meta, result = load(out / "ptb.tokens.parquet")
    assert meta["kind"] == "stream" and meta["task"] == "ptb" and meta["result"] == "ptb.json"
    assert len(rows) == result["totals"]["n_tokens"]
    assert mismatch(pq.read_table(out / "ptb.tokens.parquet"), meta, result) is None
    sums = rows.groupby("doc")["nll"].sum().to_numpy()
    np.testing.assert_allclose(sums, result["per_document"]["nll_nats"], rtol=1e-12)
    assert rows["greedy"].sum() == result["totals"]["n_greedy"]
    lines = (data_dir / "ptb" / "ptb.test.txt").read_text().split("\n")[:40]
    for d, group in rows.groupby("doc"):
        assert "".join(group["original"]) == lines[d] + "\n"  # spans tile the original sentence
        assert "".join(group["token"]) == ptb.detokenize(lines[d]) + "\n"  # tokens tile the scored text
        assert (group["start"].to_numpy()[1:] == group["end"].to_numpy()[:-1]).all()
        assert all(lines[d][a:b] == o for a, b, o in zip(group["start"], group["end"], group["original"]) if b <= len(lines[d]))
    # <|endoftext|> starts the stream and windows are disjoint (L = 128): context = position in
    # the window; the last window is right-aligned, so its targets see up to L tokens.
    context, full = rows["context"].to_numpy(), len(rows) // 128 * 128
    assert (context[:full] == np.arange(full) % 128 + 1).all()
    assert (context[full:] == np.arange(128 - (len(rows) - full), 128) + 1).all()


def test_cached_rerun_writes_the_same_bytes(tiny_model_dir, data_dir, tmp_path):
    args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 30, "--output",
            tmp_path / "ptb.json", "--save-tokens", "--quiet", "--work-unit-tokens", 64]
    run(*args)
    first = (tmp_path / "ptb.tokens.parquet").read_bytes()
    again = run(*args)
    assert "from the cache" in again.output
    result = json.loads((tmp_path / "ptb.json").read_text())
    assert result["run"]["units_from_cache"] == result["run"]["units"] > 1
    assert (tmp_path / "ptb.tokens.parquet").read_bytes() == first


def test_stride_sets_the_context_and_no_prefix_drops_the_first_token(tiny_model_dir, data_dir, tmp_path):
    run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 4, "--output",
        tmp_path / "ptb.json", "--stride", 1, "--max-length", 16, "--no-eos-prefix", "--save-tokens", "--quiet", "--no-resume")
    rows, _, result = load(tmp_path / "ptb.tokens.parquet")
    assert len(rows) == result["totals"]["n_tokens"]
    # Stride 1 without the prefix: target i (from 1) sees exactly min(i, L) tokens.
    assert rows["context"].tolist() == [min(i, 16) for i in range(1, len(rows) + 1)]
    first_line = (data_dir / "ptb" / "ptb.test.txt").read_text().split("\n")[0]
    assert rows["start"].iloc[0] > 0 and "".join(rows[rows.doc == 0]["original"]) == first_line[rows["start"].iloc[0] :] + "\n"


def test_lambada_rows_are_the_target_tokens(tiny_model_dir, data_dir, tmp_path):
    for preset in ("paper", "lm-eval"):
        run("run", "--task", "lambada", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 12, "--preset", preset,
            "--output", tmp_path / preset, "--save-tokens", "--quiet", "--no-resume")
        rows, meta, result = load(tmp_path / preset / "lambada.tokens.parquet")
        assert meta["kind"] == "lambada" and len(rows) == result["totals"]["n_tokens"]
        np.testing.assert_allclose(rows.groupby("doc")["nll"].sum(), result["per_document"]["nll_nats"], rtol=1e-12)
        for _, group in rows.groupby("doc"):
            passage, target = group["document"].iloc[0], group["target"].iloc[0]
            span = passage[group["start"].min() : group["end"].max()]
            assert span.strip() == passage.rstrip().split()[-1], (span, passage[-40:])
            assert "".join(group["token"]).strip() == target  # the continuation is " " + target
            assert (group["context"].diff().dropna() == 1).all()
        assert rows.groupby("doc")["correct_stopword"].first().sum() == result["totals"]["n_correct_stopword"]


def test_cbt_rows_are_the_candidates(tiny_model_dir, tmp_path):
    run("run", "--task", "cbt-cn", "--model", tiny_model_dir, "--data-dir", FIXTURES / "cbt", "--limit", 3,
        "--output", tmp_path, "--save-tokens", "--quiet", "--no-resume")
    rows, meta, result = load(tmp_path / "cbt-cn.tokens.parquet")
    assert meta["kind"] == "cbt" and len(rows) == 30
    assert (rows.groupby("doc")["answer"].sum() == 1).all() and (rows.groupby("doc")["chosen"].sum() == 1).all()
    assert (rows["chosen"] & rows["answer"]).sum() == result["totals"]["n_correct"]
    assert (rows["original"] == "XXXXX").all()
    assert all(c in text for c, text in zip(rows["candidate"], rows["continuation"]))
    assert rows.groupby("doc")["n_tokens"].sum().sum() == result["totals"]["n_tokens"]


def test_lmeval_pages_and_characters(tiny_model_dir, data_dir, tmp_path):
    run("run", "--task", "wikitext2-lmeval", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 1,
        "--output", tmp_path, "--save-tokens", "--quiet", "--no-resume")
    rows, _, result = load(tmp_path / "wikitext2-lmeval.tokens.parquet")
    assert len(rows) == result["totals"]["n_tokens"] and (rows["doc"] == 0).all()
    from gpt2eval.tasks.wikitext_lmeval import lm_eval_pages

    page = lm_eval_pages((data_dir / "wikitext-2" / "wiki.test.raw").read_text())[0]
    assert "".join(rows["original"]) == page  # Megatron's rules undone, span by span


def test_char_starts_count_characters_not_bytes():
    from gpt2eval.tasks.characters import char_starts

    text = "a\u00e9b\udcffc"  # é is 2 bytes, the escaped byte 1
    assert char_starts(text, np.array([0, 1, 2, 3, 4, 5])).tolist() == [0, 1, 1, 2, 3, 4]


def test_a_stale_tokens_file_is_told_apart(tiny_model_dir, data_dir, tmp_path):
    run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 10, "--output", tmp_path,
        "--save-tokens", "--quiet", "--no-resume")
    table, meta = read_tokens(tmp_path / "ptb.tokens.parquet")
    run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 10, "--output", tmp_path,
        "--stride", 64, "--force", "--quiet", "--no-resume")
    newer = json.loads((tmp_path / "ptb.json").read_text())
    assert "NLL" in mismatch(table, meta, newer)


@pytest.mark.parametrize("bad", ["not parquet", None])
def test_unreadable_tokens_file_is_one_line(tmp_path, bad):
    from gpt2eval.errors import UsageError

    path = tmp_path / "x.tokens.parquet"
    if bad:
        path.write_text(bad)
    else:
        import pyarrow as pa

        pq.write_table(pa.table({"a": [1]}), path)
    with pytest.raises(UsageError, match="not a gpt2eval tokens file"):
        read_tokens(path)


def test_reproduce_reruns_a_task_for_its_missing_tokens_file(tiny_model_dir, data_dir, tmp_path):
    args = ["reproduce", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 6, "--output", tmp_path,
            "--no-report", "--quiet", "--work-unit-tokens", 64]
    run(*args)
    assert not (tmp_path / "ptb.tokens.parquet").exists()
    again = run(*args, "--save-tokens")
    assert "rerun for its tokens file" in again.output and "token rows ->" in again.output
    result = json.loads((tmp_path / "ptb.json").read_text())
    assert result["run"]["units_from_cache"] == result["run"]["units"]  # the scores came from the cache
    rows, _, _ = load(tmp_path / "ptb.tokens.parquet")
    assert len(rows) == result["totals"]["n_tokens"]
    third = run(*args, "--save-tokens")
    assert "skipped" in third.output  # result and tokens file both there: nothing to do
