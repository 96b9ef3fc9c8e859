"""enwik8 / text8: the 90M/5M/5M split, byte-exact tokens, exact denominators, sources, CLI."""
import hashlib
import json
import math
import os
import random
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig
from gpt2eval.data.files import HubDataset
from gpt2eval.errors import UsageError
from gpt2eval.engine.lm import LM
from gpt2eval.tasks.characters import BYTE_TO_CHAR, Enwik8, Text8, chunk_bounds, encode_bytes, last_split
from gpt2eval.testing import gpt2_tokenizer

EURO = "€".encode()  # 3 bytes: e2 82 ac


def enwik8_like(n_bytes: int, seed: int = 0) -> bytes:
    """Wikipedia XML with wiki markup and 2-, 3- and 4-byte UTF-8 characters, exactly n_bytes long."""
    rng = random.Random(seed)
    words = ["Zürich", "naïve", "Ελληνικά", "日本語", "€5", "“quoted”", "—", "🙂", "the", "of", "&amp;",
             "[[Category:Cities]]", "{{cite web}}", "'''bold'''"]
    out = []
    while sum(map(len, out)) < n_bytes:
        title, body = rng.choice(words), " ".join(rng.choice(words) for _ in range(rng.randint(5, 40)))
        page = f"  <page>\n    <title>{title}</title>\n    <text xml:space=\"preserve\">{body}\n</text>\n  </page>\n"
        out.append(page.encode())
    return b"".join(out)[:n_bytes]


def text8_like(n_chars: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    words = "anarchism originated as a term of abuse first used against early working class radicals one nine".split()
    text = " " + " ".join(rng.choice(words) for _ in range(n_chars // 3))
    return text.encode("ascii")[:n_chars]


def cut_at_split(full_size: int, split_size: int) -> bytes:
    """A whole file whose test split starts inside a 3-byte character and ends inside another."""
    head = enwik8_like(full_size - split_size - 1, seed=1) + EURO  # the split starts at 82 ac
    return (head + enwik8_like(full_size, seed=2))[: full_size - 2] + EURO[:2]


@pytest.fixture(scope="module")
def tok_lm():
    """An LM with the real GPT-2 tokenizer and no model: enough for encode_bytes."""
    lm = LM.__new__(LM)
    lm.tokenizer = gpt2_tokenizer()
    return lm


@pytest.fixture
def small(monkeypatch):
    """Shrink the split so a whole 'file' is a few kilobytes."""
    for cls in (Enwik8, Text8):
        monkeypatch.setattr(cls, "full_size", 12_000)
        monkeypatch.setattr(cls, "split_size", 3_000)
        monkeypatch.setattr(cls, "chunk_size", 1_000)


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- the split ---------------------------------------------------------------------------

def test_last_split_takes_the_last_units():
    assert last_split(b"0123456789", 3, 10) == b"789"
    assert last_split(b"0123456789", 10, 10) == b"0123456789"
    with pytest.raises(AssertionError, match="has 11 units"):
        last_split(b"0123456789", 3, 11)


def test_default_split_is_the_last_5m_bytes_of_a_100m_file(tmp_path, capsys):
    data = bytearray(100_000_000)
    data[94_999_999], data[95_000_000], data[-1] = 1, 2, 3  # last valid byte, first and last test bytes
    write(tmp_path / "enwik8/enwik8", bytes(data))
    task = Enwik8(DataConfig(data_dir=str(tmp_path)))
    split = task.split_data()
    assert len(split) == 5_000_000 == Enwik8.denominator
    assert split[0] == 2 and split[-1] == 3 and split == data[95_000_000:]
    assert task.protocol["source"] == "full file, last 5,000,000 bytes"
    assert task.record.files[0]["checksum"] == "mismatch"
    assert "does not match the published sha256 of enwik8" in capsys.readouterr().err


def test_chunk_bounds_cut_between_characters():
    data = "ab" + "é" + "cd"  # bytes: a b c3 a9 c d
    assert chunk_bounds(data.encode(), 2) == [(0, 2), (2, 4), (4, 6)]
    assert chunk_bounds(data.encode(), 3) == [(0, 4), (4, 6)]  # 3 is inside "é": moved to 4
    assert chunk_bounds(b"", 2) == []
    assert chunk_bounds(b"\x80" * 10, 2) == [(0, 5), (5, 7), (7, 9), (9, 10)]  # invalid: at most 3 steps


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100, 5_000])
def test_chunks_tile_the_data_and_decode_whole(size):
    data = enwik8_like(3_000).decode("utf-8", "ignore").encode()  # drop a character cut at the end
    bounds = chunk_bounds(data, size)
    assert b"".join(data[lo:hi] for lo, hi in bounds) == data
    for lo, hi in bounds:
        data[lo:hi].decode("utf-8")  # strict: raises if a character was cut


# -- bytes -> tokens -----------------------------------------------------------------------

def test_byte_alphabet_is_gpt2s():
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    assert BYTE_TO_CHAR == bytes_to_unicode()


def test_valid_text_is_tokenized_as_usual(tok_lm):
    text = enwik8_like(2_000).decode("utf-8", "ignore")
    ids, starts = encode_bytes(tok_lm, text.encode())
    assert ids == tok_lm.encode(text)
    assert starts[0] == 0 and all(b > a for a, b in zip(starts, starts[1:]))


def test_cut_characters_become_byte_tokens_and_round_trip(tok_lm):
    data = EURO[1:] + "<title>Zürich — 日本語</title>\n".encode() + EURO[:2]
    ids, starts = encode_bytes(tok_lm, data)
    vocab = tok_lm.tokenizer.get_vocab()
    assert ids[:2] == [vocab[BYTE_TO_CHAR[0x82]], vocab[BYTE_TO_CHAR[0xAC]]]
    assert ids[-2:] == [vocab[BYTE_TO_CHAR[0xE2]], vocab[BYTE_TO_CHAR[0x82]]]
    assert list(starts[:3]) == [0, 1, 2] and starts[-1] == len(data) - 1


def test_any_bytes_round_trip(tok_lm):
    data = os.urandom(4_000)
    ids, starts = encode_bytes(tok_lm, data)  # raises if the tokens do not give `data` back
    assert len(ids) == len(starts) and starts[-1] < len(data)


def test_a_tokenizer_that_changes_the_bytes_is_refused(tok_lm, monkeypatch):
    monkeypatch.setattr(tok_lm, "encode", lambda text: LM.encode(tok_lm, text.upper()), raising=False)
    with pytest.raises(UsageError, match="exact bytes"):
        encode_bytes(tok_lm, b"lower case")


def test_a_token_belongs_to_the_chunk_holding_its_first_byte(tok_lm, monkeypatch):
    from gpt2eval.engine.scoring import SpanScore
    from gpt2eval.engine.task import Document

    # tokens: "hello" @0, " world" @5, "," @11, " again" @12; chunks start at bytes 0, 4, 12
    docs = [Document("a", "hell", 4), Document("b", "o world,", 8), Document("c", " again", 6)]
    monkeypatch.setattr(tok_lm, "eos_prefix", True, raising=False)  # every token is scored
    fake_scores = lambda ids: SpanScore(np.arange(len(ids), dtype=float), np.zeros(len(ids), bool))  # nll = position
    monkeypatch.setattr(tok_lm, "score_stream", fake_scores, raising=False)
    sums = Enwik8(DataConfig()).evaluate(docs, tok_lm)
    assert [s["n_tokens"] for s in sums] == [1, 2, 1]
    assert [s["nll_nats"] for s in sums] == [0, 1 + 2, 3]
    assert [s["n_units"] for s in sums] == [s["n_bytes"] for s in sums] == [4, 8, 6]


# -- documents and sources -------------------------------------------------------------------

def test_documents_tile_the_split_exactly(small, tmp_path):
    full = cut_at_split(12_000, 3_000)
    write(tmp_path / "enwik8/enwik8", full)
    task = Enwik8(DataConfig(data_dir=str(tmp_path)))
    docs = task.documents()
    assert sum(d.n_units for d in docs) == 3_000 and len(docs) == 3
    assert b"".join(d.text.encode("utf-8", "surrogateescape") for d in docs) == full[-3_000:]
    assert docs[0].text.startswith("\udc82\udcac")  # the cut character's 2 bytes, kept as bytes
    assert task.protocol == {
        "detokenizer": "none",
        "source": "full file, last 3,000 bytes",
        "split_sha256": hashlib.sha256(full[-3_000:]).hexdigest(),
        "document_size": 1_000,
    }


def test_pre_split_and_whole_data_files(small, tmp_path):
    full = cut_at_split(12_000, 3_000)
    pre = Enwik8(DataConfig(data_file=str(write(tmp_path / "test.bin", full[-3_000:]))))
    whole = Enwik8(DataConfig(data_file=str(write(tmp_path / "whole.bin", full))))
    assert pre.split_data() == whole.split_data() == full[-3_000:]
    assert pre.protocol["source"] == "pre-split file (3,000 bytes)"
    assert whole.protocol["source"] == "full file, last 3,000 bytes"
    assert pre.protocol["split_sha256"] == whole.protocol["split_sha256"]
    with pytest.raises(UsageError, match=r"has 2,999 bytes.*mattmahoney.net/dc/enwik8.zip"):
        Enwik8(DataConfig(data_file=str(write(tmp_path / "short.bin", full[:2_999])))).split_data()


def test_zipped_file_with_the_published_checksum(small, tmp_path, monkeypatch):
    full = cut_at_split(12_000, 3_000)
    monkeypatch.setattr(Enwik8, "full_sha256", hashlib.sha256(full).hexdigest())
    (tmp_path / "enwik8").mkdir()
    with zipfile.ZipFile(tmp_path / "enwik8/enwik8.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("enwik8", full)
    task = Enwik8(DataConfig(data_dir=str(tmp_path)))
    assert task.split_data() == full[-3_000:]
    assert task.record.files[0]["checksum"] == "ok"


def parquet(path, rows):
    pq.write_table(pa.table({"text": rows}), path)
    return str(path)


def test_text8_hub_splits_rebuild_the_whole_file(small, tmp_path, monkeypatch):
    full = text8_like(12_000)
    parts = {"train": full[:6_000], "validation": full[6_000:9_000], "test": full[9_000:]}
    files = {k: parquet(tmp_path / f"{k}.parquet", [v.decode()]) for k, v in parts.items()}
    monkeypatch.setattr(Text8, "hub", HubDataset("parquet", None, "test", "text", data_files=files))
    monkeypatch.setattr(Text8, "full_sha256", hashlib.sha256(full).hexdigest())
    task = Text8(DataConfig())
    assert task.split_data() == full[-3_000:]
    assert task.record.hub["checksum"] == "ok"
    assert task.protocol["source"] == "hub afmck/text8, whole file rebuilt (sha256 ok), last 3,000 chars"


def test_a_hub_copy_that_is_not_byte_exact_is_refused(small, tmp_path, monkeypatch):
    full = enwik8_like(12_000).decode("utf-8", "ignore")
    files = {"train": parquet(tmp_path / "train.parquet", [full])}
    monkeypatch.setattr(Enwik8, "hub", HubDataset("parquet", None, "train", "text", data_files=files))
    with pytest.raises(UsageError, match=r"not byte-exact.*mattmahoney.net/dc/enwik8.zip"):
        Enwik8(DataConfig()).split_data()


def test_an_unreachable_hub_says_where_to_get_the_file(small, tmp_path, monkeypatch):
    missing = {"train": str(tmp_path / "missing.parquet")}
    monkeypatch.setattr(Text8, "hub", HubDataset("parquet", None, "test", "text", data_files=missing))
    with pytest.raises(UsageError, match=r"cannot load .*mattmahoney.net/dc/text8.zip"):
        Text8(DataConfig()).documents()

def test_text8_refuses_other_characters(small, tmp_path):
    with pytest.raises(UsageError, match="not text8"):
        Text8(DataConfig(data_file=str(write(tmp_path / "t", b"Capital" + text8_like(2_993))))).documents()


def test_registered_with_the_papers_metrics():
    for cls, metric, unit in [(Enwik8, "bits_per_byte", "byte"), (Text8, "bits_per_char", "char")]:
        assert (cls.metric, cls.counts, cls.denominator, cls.split_size) == (metric, unit, 5_000_000, 5_000_000)


# -- end to end ------------------------------------------------------------------------------

def run_cli(tiny_model_dir, tmp_path, *args):
    out = tmp_path / "result.json"
    common = ["--model", str(tiny_model_dir), "--device", "cpu", "--batch-size", "8", "--quiet", "--output", str(out)]
    result = CliRunner().invoke(main, ["run", *common, *args])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def check_bits(result, n_units, unit):
    totals = result["totals"]
    assert totals["n_units"] == n_units
    assert result["metrics"][f"bits_per_{unit}"] == pytest.approx(totals["nll_nats"] / (n_units * math.log(2)))
    assert sum(result["per_document"]["n_units"]) == n_units


def test_enwik8_cli_pre_split_file(small, tiny_model_dir, tmp_path):
    path = write(tmp_path / "enwik8.test", cut_at_split(12_000, 3_000)[-3_000:])
    result = run_cli(tiny_model_dir, tmp_path, "--task", "enwik8", "--data-file", str(path))
    assert result["headline"] == "bits_per_byte"
    check_bits(result, 3_000, "byte")
    assert result["config"]["protocol"]["source"] == "pre-split file (3,000 bytes)"
    assert result["totals"]["n_tokens"] == sum(result["per_document"]["n_tokens"]) > 0


def test_enwik8_cli_whole_file(small, tiny_model_dir, tmp_path):
    write(tmp_path / "data/enwik8/enwik8", cut_at_split(12_000, 3_000))
    result = run_cli(tiny_model_dir, tmp_path, "--task", "enwik8", "--data-dir", str(tmp_path / "data"))
    check_bits(result, 3_000, "byte")
    assert result["config"]["protocol"]["source"] == "full file, last 3,000 bytes"


def test_text8_cli_whole_file(small, tiny_model_dir, tmp_path):
    write(tmp_path / "data/text8/text8", text8_like(12_000))
    result = run_cli(tiny_model_dir, tmp_path, "--task", "text8", "--data-dir", str(tmp_path / "data"))
    assert result["headline"] == "bits_per_char"
    check_bits(result, 3_000, "char")

