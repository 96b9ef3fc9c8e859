"""One contract test over every registered task: documents, requests, sums and metrics.

Each task runs on data available offline: the real files in ../shared/data, the CBT
fixture, and small format-exact stand-ins for enwik8 / text8 / WikiText-103 raw / `text`.
"""
import math
import shutil
from importlib.metadata import entry_points

import pytest

from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import load_model
from gpt2eval.report.paper import table3
from gpt2eval.registry import GROUP, get_task_class, task_names
from gpt2eval.engine.task import Task

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def lm(tiny_model_dir):
    return LM(load_model(ModelConfig(model=str(tiny_model_dir), device="cpu")), WindowConfig(max_length=64, batch_size=4))


@pytest.fixture(scope="module")
def data(data_dir, tmp_path_factory):
    """Per task: the DataConfig fields to load it offline."""
    tmp = tmp_path_factory.mktemp("contract")
    (tmp / "wikitext-103").mkdir()
    shutil.copy(data_dir / "wikitext-2" / "wiki.test.raw", tmp / "wikitext-103" / "wiki.test.raw")
    (tmp / "enwik8.test").write_bytes(("<page><title>Zürich</title> [[link]] €5 </page>\n" * 60).encode()[:3000])
    (tmp / "text8.test").write_bytes((b"anarchism originated as a term of abuse " * 80)[:3000])
    (tmp / "own.txt").write_text("My own corpus.\nTwo lines.\n", encoding="utf-8")
    shared = {"data_dir": str(data_dir)}
    return {
        "wikitext103-raw": {"data_dir": str(tmp)},
        "cbt-cn": {"data_dir": str(FIXTURES / "cbt")},
        "cbt-ne": {"data_dir": str(FIXTURES / "cbt")},
        "enwik8": {"data_file": str(tmp / "enwik8.test")},
        "text8": {"data_file": str(tmp / "text8.test")},
        "text": {"data_file": str(tmp / "own.txt")},
        **{name: shared for name in task_names() if name not in ("wikitext103-raw", "cbt-cn", "cbt-ne", "enwik8", "text8", "text")},
    }


@pytest.fixture
def small_character_splits(monkeypatch):
    for name in ("enwik8", "text8"):
        cls = get_task_class(name)
        monkeypatch.setattr(cls, "split_size", 3_000)
        monkeypatch.setattr(cls, "chunk_size", 1_000)


def test_every_entry_point_is_a_task_named_as_registered():
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        assert issubclass(cls, Task) and cls.name == ep.name, ep
        assert cls.description and cls.metric and cls.counts


def test_every_declared_option_has_one_declaration_and_a_name_of_its_own():
    """The flag of an option is the same whichever task declares it, and no option takes
    the name of a generic config field (the flags would collide)."""
    from dataclasses import fields

    from gpt2eval.config import ModelConfig, RunConfig
    from gpt2eval.engine.options import Option

    generic = {f.name for cfg in (ModelConfig, WindowConfig, DataConfig, RunConfig) for f in fields(cfg)}
    seen = {}
    for name in task_names():
        for opt in get_task_class(name).options:
            assert isinstance(opt, Option) and opt.name not in generic, (name, opt)
            assert seen.setdefault(opt.name, opt) == opt, f"{name} declares {opt.flag} unlike another task"
            assert not set(opt.old_names) & (generic | set(seen) - {opt.name}), (name, opt.old_names)


def test_every_table3_column_has_a_registered_task():
    assert {row["task"] for row in table3()} <= set(task_names())


@pytest.mark.parametrize("name", task_names())
def test_task_contract(name, data, lm, small_character_splits):
    cls = get_task_class(name)
    first, again = cls(DataConfig(**data[name], limit=2)), cls(DataConfig(**data[name], limit=2))
    docs = first.documents()
    assert 1 <= len(docs) <= 2
    assert [(d.id, d.text, d.n_units) for d in docs] == [(d.id, d.text, d.n_units) for d in again.documents()], "documents are deterministic"
    assert len({d.id for d in docs}) == len(docs), "document ids are unique"
    assert all(d.text and d.n_units >= 0 for d in docs)
    assert first.record.files or first.record.hub, "the data read is recorded"

    sums = first.evaluate(docs, lm)
    assert len(sums) == len(docs)
    assert all(s.keys() == sums[0].keys() for s in sums), "every document has the same sums"
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for s in sums for v in s.values())
    totals = {k: sum(s[k] for s in sums) for k in sums[0]}
    metrics = first.metrics(totals)
    assert first.metric in metrics
    expected = {row["metric"] for row in table3() if row["task"] == name}
    assert expected <= metrics.keys(), f"{name} lacks the paper's metric(s) {expected - metrics.keys()}"
    assert "detokenizer" in first.protocol
