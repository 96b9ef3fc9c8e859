"""Run configuration: one frozen dataclass per concern, mirrored one-to-one by CLI options.

Every field lands in every result file (``dataclasses.asdict``; the data config as
``DataConfig.record``), so a number can always be traced back to the exact protocol that
produced it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Optional, Union

# The peers whose reading of the protocol a --preset applies (gpt2eval.pipeline.presets).
PRESETS = ("paper", "lm-eval", "megatron", "bflm")


@dataclass(frozen=True)
class ModelConfig:
    model: str = "gpt2-large"  # hub id or local directory
    revision: Optional[str] = None
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    trust_remote_code: bool = False


@dataclass(frozen=True)
class WindowConfig:
    max_length: Optional[int] = None  # None: the model's context length (n_positions)
    stride: Optional[int] = None  # None: equal to max_length, i.e. disjoint windows
    # Start every stream with <|endoftext|>. The CLI passes None (not given) and the preset
    # fills it, so a result always records the bool that ran.
    eos_prefix: Optional[bool] = True
    # The final window: right-aligned to the end (paper, lm-eval) or at its multiple of the
    # stride, shorter (Megatron-LM). None from the CLI: the preset's.
    last_window: Optional[str] = "right"
    batch_size: Union[int, str] = 1  # or "auto": the largest that fits (gpt2eval.engine.autobatch)


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from, and the task options given (by the user or the preset).

    Task options are declared by the tasks that read them (``Task.options``, see
    ``gpt2eval.engine.options``); this config only carries their values, by name. A task
    refuses an option it does not declare rather than ignoring it.
    """

    preset: Optional[str] = None  # paper | lm-eval | megatron | bflm: fills the options not given (None: paper)
    data_dir: Optional[str] = None  # original files; None: the hub through `datasets`
    data_file: Optional[str] = None  # one file (task `text`, or a pre-split enwik8/text8)
    limit: Optional[int] = None  # first N documents / lines
    detokenizer: Optional[str] = "default"  # default | none | megatron (where the task has a peer's); None: the preset's
    allow_data_mismatch: bool = False  # score data whose sha256 differs from the published one
    exclude_overlap: Optional[str] = None  # an overlap JSON: score only the clean documents
    # Task options given, as sorted (name, value) pairs (a dict is accepted); None is "not
    # given", so it is left out and the task's default (or the preset's value) applies.
    options: tuple = ()

    def __post_init__(self):
        given = {k: v for k, v in dict(self.options).items() if v is not None}
        object.__setattr__(self, "options", tuple(sorted(given.items(), key=lambda kv: kv[0])))

    def option(self, name: str) -> Any:
        """The value given for task option ``name``, or None."""
        return dict(self.options).get(name)

    def with_options(self, values: Mapping[str, Any]) -> "DataConfig":
        """This config with ``values`` given too (a None removes one)."""
        return replace(self, options={**dict(self.options), **values})

    def record(self) -> dict:
        """What a result file holds as ``config.data``: the fields, then each given option by name."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"}
        return {**out, **dict(self.options)}

    @classmethod
    def from_record(cls, record: Mapping, option_names) -> "DataConfig":
        """The config a result's ``config.data`` was run with: its fields, and its values of the
        options in ``option_names`` (other keys are options this version does not know)."""
        known = {f.name for f in fields(cls)} - {"options"}
        return cls(**{k: v for k, v in record.items() if k in known},
                   options={k: v for k, v in record.items() if k in option_names})


@dataclass(frozen=True)
class RunConfig:
    """How a run is carried out: never what it computes (a cached unit is bit-identical)."""

    resume: bool = True  # keep finished work units in the work-unit store, so a killed run resumes
    store_dir: Optional[str] = None  # the work-unit store's folder; None: beside the output
    work_unit_tokens: int = 8192  # input tokens per work unit: at most this much work is lost to a kill
