"""WikiText-2/103 and PTB: exact denominators, documents, the hub path, checksums."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gpt2eval.config import DataConfig
from gpt2eval.data.files import HubDataset
from gpt2eval.errors import UsageError
from gpt2eval.registry import get_task_class



def docs_of(name, **data):
    task = get_task_class(name)(DataConfig(**data))
    return task, task.documents()


@pytest.mark.parametrize(
    "name,n_units,n_docs",
    [("wikitext2", 245_569, 62), ("wikitext103", 245_569, 62), ("wikitext2-raw", 245_569, 62), ("ptb", 82_430, 3_761)],
)
def test_exact_denominators_on_the_real_files(data_dir, name, n_units, n_docs):
    task, docs = docs_of(name, data_dir=str(data_dir))
    assert sum(d.n_units for d in docs) == n_units
    assert len(docs) == n_docs
    if task.denominator:
        assert task.denominator == n_units
    assert task.record.files[0]["checksum"] == "ok"


def test_documents_rebuild_the_original_file(data_dir):
    for name, path in [("wikitext2", "wikitext-2/wiki.test.tokens"), ("ptb", "ptb/ptb.test.txt")]:
        _, docs = docs_of(name, data_dir=str(data_dir))
        assert "".join(d.original for d in docs) == (data_dir / path).read_text(encoding="utf-8")


def test_detokenized_stream_keeps_the_line_layout(data_dir):
    _, docs = docs_of("wikitext2", data_dir=str(data_dir))
    assert docs[0].text.startswith("\n= Robert <unk> =\n\nRobert <unk> is an English film, television")
    assert sum(d.text.count("\n") for d in docs) == 4_358
    _, raw = docs_of("wikitext2", data_dir=str(data_dir), detokenizer="none")
    assert raw[0].text == raw[0].original


def test_ptb_documents_are_sentences(data_dir):
    task, docs = docs_of("ptb", data_dir=str(data_dir), limit=3)
    assert [d.text for d in docs][0] == "no it wasn't black monday\n"
    assert [d.n_units for d in docs] == [7, 38, 27]
    assert task.protocol == {"detokenizer": "ptb", "word_count": "paper", "word_divisor": "words"}


def hub_parquet(tmp_path, column, rows):
    path = tmp_path / "test.parquet"
    pq.write_table(pa.table({column: rows}), path)
    return str(path)


def test_wikitext_hub_schema_gives_the_same_text(data_dir, tmp_path, monkeypatch):
    original = (data_dir / "wikitext-2/wiki.test.tokens").read_text(encoding="utf-8")
    # The hub's rows: each line with its "\n", blank lines (" ") as "".
    rows = ["" if line == " " else line + "\n" for line in original[:-1].split("\n")]
    cls = get_task_class("wikitext2")
    monkeypatch.setattr(cls, "hub", HubDataset("parquet", None, "train", "text", data_files=hub_parquet(tmp_path, "text", rows)))
    task = cls(DataConfig())
    docs = task.documents()
    assert "".join(d.original for d in docs) == original
    assert sum(d.n_units for d in docs) == 245_569
    assert task.record.hub["checksum"] == "ok"


def test_ptb_hub_schema_gives_the_same_text(data_dir, tmp_path, monkeypatch):
    original = (data_dir / "ptb/ptb.test.txt").read_text(encoding="utf-8")
    rows = [line.strip() for line in original[:-1].split("\n")]
    cls = get_task_class("ptb")
    monkeypatch.setattr(cls, "hub", HubDataset("parquet", None, "train", "sentence", data_files=hub_parquet(tmp_path, "sentence", rows)))
    task = cls(DataConfig())
    assert sum(d.n_units for d in task.documents()) == 82_430
    assert task.record.hub["checksum"] == "ok"


def test_gzipped_file_is_read_and_checked(data_dir, tmp_path):
    import gzip

    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb/ptb.test.txt.gz").write_bytes(gzip.compress((data_dir / "ptb/ptb.test.txt").read_bytes()))
    task, docs = docs_of("ptb", data_dir=str(tmp_path))
    assert sum(d.n_units for d in docs) == 82_430
    assert task.record.files[0]["checksum"] == "ok"


def test_changed_file_warns_with_its_name(data_dir, tmp_path, capsys):
    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb/ptb.test.txt").write_text(" a changed file \n", encoding="utf-8")
    task, _ = docs_of("ptb", data_dir=str(tmp_path))
    assert task.record.files[0]["checksum"] == "mismatch"
    assert "ptb.test.txt does not match the published sha256" in capsys.readouterr().err


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        docs_of("wikitext103", data_dir=str(tmp_path))


def test_options_that_do_not_apply_are_refused():
    with pytest.raises(UsageError, match="--text-denominator does not apply to task ptb"):
        get_task_class("ptb")(DataConfig(options={"text_denominator": "char"}))
    with pytest.raises(UsageError, match="--data-file does not apply to task ptb"):
        get_task_class("ptb")(DataConfig(data_file="x.txt"))
