"""The task contract: documents -> requests -> per-document sums -> metrics.

A task loads its documents (original text, unit counts), asks an ``LM`` for scores, and
returns one dict of *sums* per document (``nll_nats``, ``n_units``, ``n_correct``...).
Metrics are computed once from the summed totals, never by averaging per-document
ratios; the per-document sums are kept so a bootstrap needs no model reruns.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import ClassVar

from gpt2eval.config import DataConfig
from gpt2eval.data.files import DataRecord, HubDataset, check_rebuilt, find_file, hub_label, load_hub_column, read_text
from gpt2eval.errors import UsageError
from gpt2eval.engine.lm import LM


# DataConfig fields that only some tasks read: a task refuses those it does not declare.
PROTOCOL_FIELDS = (
    "data_file", "unit", "split", "join", "stopword_topk", "lambada_format", "stopword_filter", "stopwords", "cbt_join",
    "word_count", "stopword_steps", "lambada_match", "word_divisor",
)


@dataclass
class Document:
    id: str
    text: str  # what the model sees (detokenized unless --detokenizer none)
    n_units: int  # the denominator share, counted on the ORIGINAL text
    original: str = ""
    extra: dict = field(default_factory=dict)  # task-specific fields (target, candidates, ...)


class Task:
    """Subclass per task; register it under the ``gpt2eval.tasks`` entry-point group."""

    name: ClassVar[str]
    description: ClassVar[str]
    metric: ClassVar[str]  # headline metric, the one compared with the paper's Table 3
    unit: ClassVar[str]  # what the denominator counts, e.g. "word", "passage", "byte"
    document_name: ClassVar[str] = "document"  # what one document is (what --limit N counts)
    denominator: ClassVar[int | None] = None  # the protocol's exact count on the full split
    scores_stream: ClassVar[bool] = False  # one stream scored by rolling windows (stride applies)
    options: ClassVar[tuple[str, ...]] = ()  # DataConfig protocol fields this task reads
    detokenizer: ClassVar[str | None] = None  # module in gpt2eval.detokenizers, or None
    megatron: ClassVar[str | None] = None  # Megatron-LM's peer (gpt2eval.detokenizers.megatron), or None
    file: ClassVar[str | None] = None  # original file, relative to --data-dir
    hub: ClassVar[HubDataset | None] = None  # the same split on the hub
    defaults: ClassVar[dict] = {}  # this task's defaults for those fields
    choices: ClassVar[dict] = {}  # option -> the values this task allows, where it restricts them
    peer_options: ClassVar[dict] = {}  # preset -> {option: value}, where this task departs from the preset's table

    def __init__(self, data: DataConfig):
        self.data = data
        self.record = DataRecord()
        self._check_options()

    def _check_options(self) -> None:
        for name in PROTOCOL_FIELDS:
            if name not in self.options and getattr(self.data, name) is not None:
                raise UsageError(f"--{name.replace('_', '-')} does not apply to task {self.name}: drop it")
        if self.data.detokenizer == "megatron" and not self.megatron:
            raise UsageError(f"--detokenizer megatron: Megatron-LM has no detokenizer for task {self.name}: use default or none")
        if self.data.limit is not None and self.data.limit < 1:
            raise UsageError(f"--limit {self.data.limit} must be >= 1")

    def option(self, name: str):
        """A protocol option's value: the user's, else this task's documented default."""
        value = getattr(self.data, name)
        return self.defaults.get(name) if value is None else value

    @property
    def protocol(self) -> dict:
        """The task-level protocol choices as run, for the result file."""
        chosen = {name: self.option(name) for name in self.options if name != "data_file"}
        return {"detokenizer": self.detokenizer_name, **chosen}

    @property
    def detokenizer_name(self) -> str:
        if self.data.detokenizer == "megatron":
            return f"megatron.{self.megatron}"
        return self.detokenizer if self.detokenizer and self.data.detokenizer in ("default", None) else "none"

    def detokenize(self, line: str) -> str:
        """This task's detokenizer (or Megatron's), or the identity under ``--detokenizer none``."""
        if self.detokenizer_name == "none":
            return line
        if self.data.detokenizer == "megatron":
            from gpt2eval.detokenizers.megatron import DETOKENIZERS

            return DETOKENIZERS[self.megatron](line)
        module = importlib.import_module(f"gpt2eval.detokenizers.{self.detokenizer}")
        return module.detokenize(line)

    def detokenizer_lines(self) -> list[str]:
        """The original lines this task detokenizes, for the round-trip check."""
        text = self.original_text()
        return (text[:-1] if text.endswith("\n") else text).split("\n")

    def original_text(self) -> str:
        """The original file's text, from ``--data-dir`` or rebuilt from the hub rows."""
        if self.data.data_dir:
            path = find_file(self.data.data_dir, self.file, self.name)
            return not_empty(read_text(path, self.record), f"{self.name}: {path}")
        text = not_empty(self.text_from_rows(load_hub_column(self.hub, self.record)), f"{self.name}: {self.hub.path}")
        # The rebuilt text must be the original file, byte for byte, or the denominators drift.
        what = f"{self.name}: {hub_label(self.hub)} rebuilt as {self.file}"
        check_rebuilt(self.record, self.file, text.encode("utf-8"), what, self.data.allow_data_mismatch)
        return text

    def text_from_rows(self, rows: list) -> str:
        """Rebuild the original file from hub rows (task-specific)."""
        raise NotImplementedError

    def documents(self) -> list[Document]:
        raise NotImplementedError

    def overlap_text(self, doc: Document) -> str:
        """The text whose n-grams `gpt2eval overlap` looks up: the test set as distributed."""
        return doc.original or doc.text

    def evaluate(self, docs: list[Document], lm: LM) -> list[dict]:
        """One dict of sums per document, same keys for all."""
        raise NotImplementedError

    def metrics(self, totals: dict) -> dict:
        """Metrics from summed totals (also used on bootstrap resamples)."""
        raise NotImplementedError

    def limited(self, docs: list) -> list:
        """The first ``--limit`` documents; ``n_available`` keeps how many there were."""
        self.n_available = len(docs)
        return docs[: self.data.limit] if self.data.limit else docs


def not_empty(text: str, where: str) -> str:
    """Empty data is an error, not one phantom document with a made-up perplexity."""
    if not text.strip():
        raise UsageError(f"{where} is empty (or only whitespace): nothing to score; check the file")
    return text
