"""The task contract: documents -> requests -> per-document sums -> metrics.

A task loads its documents (original text, unit counts), asks an ``LM`` for scores, and
returns one dict of *sums* per document (``nll_nats``, ``n_units``, ``n_correct``...).
Metrics are computed once from the summed totals, never by averaging per-document
ratios; the per-document sums are kept so a bootstrap needs no model reruns.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import ClassVar

from gpt2eval.config import DataConfig
from gpt2eval.data.files import DataRecord, HubDataset, check_rebuilt, find_file, hub_label, load_hub_column, read_text
from gpt2eval.errors import UsageError
from gpt2eval.engine.lm import LM
from gpt2eval.engine.options import Option, check_applies, check_values, current_names, resolved_values


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
    counts: ClassVar[str]  # what the metric's denominator counts, e.g. "word", "passage", "byte"
    document_name: ClassVar[str] = "document"  # what one document is (what --limit N counts)
    denominator: ClassVar[int | None] = None  # the protocol's exact count on the full split
    scores_stream: ClassVar[bool] = False  # one stream scored by rolling windows (stride applies)
    options: ClassVar[tuple[Option, ...]] = ()  # the task options it reads (gpt2eval.engine.options)
    reads_data_file: ClassVar[bool] = False  # --data-file: one file to score instead of the original
    # The detokenizer: a module with detokenize(line) and its inverse tokenize(line), or None.
    detokenizer: ClassVar[ModuleType | None] = None
    megatron: ClassVar[str | None] = None  # Megatron-LM's peer (gpt2eval.detokenizers.megatron), or None
    file: ClassVar[str | None] = None  # original file, relative to --data-dir
    hub: ClassVar[HubDataset | None] = None  # the same split on the hub
    # preset -> detokenizer, where this task departs from the presets' table (pipeline/presets.py)
    detokenizer_presets: ClassVar[dict] = {}
    save_tokens: bool = False  # set by `run --save-tokens`: evaluate keeps ``token_rows``
    token_rows = None  # a gpt2eval.engine.tokens.TokenRows after evaluate, when asked

    def __init__(self, data: DataConfig):
        self.data = data
        self.record = DataRecord()
        given = current_names(self.options, dict(data.options))
        self._check_options(given)
        self.values = resolved_values(self.options, given)
        check_applies(self.options, given, self.values)

    def _check_options(self, given: dict) -> None:
        if self.data.data_file is not None and not self.reads_data_file:
            raise UsageError(f"--data-file does not apply to task {self.name}: drop it")
        check_values(self.name, self.options, given)
        if self.data.detokenizer == "megatron" and not self.megatron:
            raise UsageError(f"--detokenizer megatron: Megatron-LM has no detokenizer for task {self.name}: use default or none")
        if self.data.limit is not None and self.data.limit < 1:
            raise UsageError(f"--limit {self.data.limit} must be >= 1")

    def option(self, name: str):
        """A task option's value as run: the user's (or the preset's), else its default."""
        return self.values[name]

    @classmethod
    def reads_eos_prefix(cls, values: Mapping) -> bool:
        """Whether --eos-prefix changes what this task scores, under these option values."""
        return cls.scores_stream

    @property
    def protocol(self) -> dict:
        """The task-level protocol choices as run, for the result file."""
        return {"detokenizer": self.detokenizer_name, **self.values}

    @property
    def detokenizer_name(self) -> str:
        if self.data.detokenizer == "megatron":
            return f"megatron.{self.megatron}"
        if self.detokenizer and self.data.detokenizer in ("default", None):
            return self.detokenizer.__name__.rpartition(".")[2]
        return "none"

    def detokenize(self, line: str) -> str:
        """This task's detokenizer (or Megatron's), or the identity under ``--detokenizer none``."""
        if self.detokenizer_name == "none":
            return line
        if self.data.detokenizer == "megatron":
            from gpt2eval.detokenizers.megatron import DETOKENIZERS

            return DETOKENIZERS[self.megatron](line)
        return self.detokenizer.detokenize(line)

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
