"""The hub path of every task, through each task's real ``hub`` attribute: rows in the hub's
schema (made here from the real files in ../shared/data) must rebuild the original file
byte for byte, and a rebuild that does not is refused unless --allow-data-mismatch.

The hub itself is not reachable here: ``huggingface_hub.hf_hub_download`` is replaced by a
stand-in that serves local parquet files for exactly the (repo, file, revision) a task names.
"""
import dataclasses
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gpt2eval.config import DataConfig
from gpt2eval.data.files import KNOWN_SHA256, _parse_hf
from gpt2eval.errors import UsageError
from gpt2eval.registry import get_task_class, task_names


def lines(data_dir, relative):
    text = (data_dir / relative).read_text(encoding="utf-8")
    assert text.endswith("\n")
    return text[:-1].split("\n")


def wikitext_rows(data_dir, relative):
    # Salesforce/wikitext parquet: each line with its "\n"; the blank lines (" ") are "".
    return {"text": ["" if line == " " else line + "\n" for line in lines(data_dir, relative)]}


def lm1b_test_rows(data_dir, seed=0):
    """A stand-in for lm1b's test split: all 50 heldout shards in tar order, shard 00000
    somewhere in the middle, the other shards synthetic (with a decoy copy of its first line)."""
    shard = lines(data_dir, "1bw/news.en.heldout-00000-of-00050")
    rng = random.Random(seed)
    others = [[f"Sentence {i} of heldout shard {k:05d} ." for i in range(rng.randrange(50, 120))] for k in range(1, 50)]
    others[3][7] = shard[0]  # the same sentence may recur in another shard: the run must be located whole
    rng.shuffle(others)
    at = rng.randrange(1, 49)
    return {"text": [row for part in others[:at] + [shard] + others[at:] for row in part]}


# Each task with a file in ../shared/data: its hub rows as the hub has them.
HUB_ROWS = {
    "ptb": lambda d: {"sentence": [line.strip() for line in lines(d, "ptb/ptb.test.txt")]},
    "wikitext2": lambda d: wikitext_rows(d, "wikitext-2/wiki.test.tokens"),
    "wikitext2-raw": lambda d: wikitext_rows(d, "wikitext-2/wiki.test.raw"),
    "wikitext103": lambda d: wikitext_rows(d, "wikitext-103/wiki.test.tokens"),
    "lambada": lambda d: {"text": [json.loads(line)["text"] for line in lines(d, "lambada/lambada_test.jsonl")]},
    "lambada-standard": lambda d: {"text": lines(d, "lambada/lambada_test_plain_text.txt"),
                                   "domain": [None] * 5_153},
    "1bw": lm1b_test_rows,
}


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """``serve(task, columns)``: the task's hub file, as named in its ``hub``, holds these rows."""
    import huggingface_hub

    served = {}

    def hf_hub_download(repo_id, filename, repo_type=None, revision=None):
        assert repo_type == "dataset"
        if (repo_id, filename, revision) not in served:
            raise huggingface_hub.errors.LocalEntryNotFoundError(f"{repo_id}/{filename}@{revision} is not served here")
        return served[repo_id, filename, revision]

    def serve(name, columns):
        cls = get_task_class(name)
        repo, revision, filename = _parse_hf(cls.hub.data_files[cls.hub.split])
        path = tmp_path / f"{name}-{cls.hub.split}.parquet"
        pq.write_table(pa.table(columns), path)
        served[repo, filename, revision] = str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    return serve


@pytest.mark.parametrize("name", sorted(HUB_ROWS))
def test_hub_rows_rebuild_the_original_byte_for_byte(name, hub, data_dir):
    hub(name, HUB_ROWS[name](data_dir))
    task = get_task_class(name)(DataConfig())
    original = (data_dir / task.file).read_bytes()
    assert task.original_text().encode("utf-8") == original
    assert task.record.hub["checksum"] == ("ok" if task.file in KNOWN_SHA256 else "unknown")
    assert task.record.hub["bytes_rebuilt"] == len(original)


def test_every_hub_source_is_parquet_files_no_loading_script():
    """datasets>=4 refuses script repositories: each source names parquet files on the hub."""
    for name in task_names():
        hub = get_task_class(name).hub
        if hub is None:
            continue
        assert hub.path == "parquet" and hub.split in hub.data_files, name
        for url in hub.data_files.values():
            repo, revision, path = _parse_hf(url)
            assert path.endswith(".parquet") and revision in ("main", "refs/convert/parquet"), (name, url)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_1bw_finds_shard_00000_wherever_the_archive_put_it(seed, hub, data_dir):
    rows = lm1b_test_rows(data_dir, seed)
    assert rows["text"][:6_075] != lines(data_dir, "1bw/news.en.heldout-00000-of-00050")  # not simply the first rows
    hub("1bw", rows)
    task = get_task_class("1bw")(DataConfig())
    assert sum(d.n_units for d in task.documents()) == 159_658
    assert task.record.hub["checksum"] == "ok" and task.record.hub["rows"]["test"] == len(rows["text"])


def test_1bw_without_shard_00000_is_refused(hub, data_dir):
    rows = lm1b_test_rows(data_dir)["text"]
    rows.remove("If the Irish vote Yes , there will be no surge of popular enthusiasm across Europe .")
    hub("1bw", {"text": rows})
    with pytest.raises(UsageError, match="hold 0 runs of 6,075 sentences that start and end as heldout shard 00000"):
        get_task_class("1bw")(DataConfig(allow_data_mismatch=True)).documents()


@pytest.mark.parametrize("name, damage", [
    ("ptb", lambda cols: {"sentence": cols["sentence"][: len(cols["sentence"]) // 2]}),  # half the split
    ("wikitext2", lambda cols: {"text": [r.replace("<unk>", "unknown") for r in cols["text"]]}),  # another cleaning
    ("lambada", lambda cols: {"text": cols["text"][1:] + cols["text"][:1]}),  # another order
])
def test_a_rebuild_that_is_not_the_original_refuses_to_score(name, damage, hub, data_dir):
    hub(name, damage(HUB_ROWS[name](data_dir)))
    cls = get_task_class(name)
    with pytest.raises(UsageError, match=rf"^{name}: .* rebuilt as {cls.file} is not the original .*--allow-data-mismatch"):
        cls(DataConfig()).documents()
    task = cls(DataConfig(allow_data_mismatch=True))
    assert task.documents() and task.record.hub["checksum"] == "mismatch"


def test_text8_hub_copy_of_the_right_size_but_other_bytes(hub, monkeypatch):
    import hashlib

    cls = get_task_class("text8")
    full = b" anarchism originated as a term of abuse" * 300  # 12,000 characters
    monkeypatch.setattr(cls, "full_size", len(full))
    monkeypatch.setattr(cls, "split_size", 3_000)
    monkeypatch.setattr(cls, "full_sha256", hashlib.sha256(full.upper()).hexdigest())  # the published file differs
    for split, part in (("train", full[:6_000]), ("validation", full[6_000:9_000]), ("test", full[9_000:])):
        monkeypatch.setattr(cls, "hub", dataclasses.replace(cls.hub, split=split))
        hub("text8", {"text": [part.decode()]})
    with pytest.raises(UsageError, match=r"not byte-exact with the original .*--allow-data-mismatch"):
        cls(DataConfig()).documents()
    task = cls(DataConfig(allow_data_mismatch=True))
    assert task.documents() and task.record.hub["checksum"] == "mismatch"
    assert "sha256 MISMATCH" in task.protocol["source"]
