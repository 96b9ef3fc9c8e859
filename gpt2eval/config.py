"""Run configuration: one frozen dataclass per concern, mirrored one-to-one by CLI options.

Every field lands in every result file (``dataclasses.asdict``), so a number can always be
traced back to the exact protocol that produced it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union


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
    """Where the data comes from and which protocol choices a task makes with it.

    Tasks declare which of the protocol fields they read (``Task.options``); setting one a
    task does not read is an error rather than a silent no-op.
    """

    preset: Optional[str] = None  # paper | lm-eval | megatron | bflm: fills the options not given (None: paper)
    data_dir: Optional[str] = None  # original files; None: the hub through `datasets`
    data_file: Optional[str] = None  # one file (task `text`, or a pre-split enwik8/text8)
    limit: Optional[int] = None  # first N documents / lines
    detokenizer: Optional[str] = "default"  # default | none | megatron (where the task has a peer's); None: the preset's
    allow_data_mismatch: bool = False  # score data whose sha256 differs from the published one
    exclude_overlap: Optional[str] = None  # an overlap JSON: score only the clean documents
    # Protocol options below: None means "the task's documented default".
    unit: Optional[str] = None  # text: word | token | char | byte
    split: Optional[str] = None  # cbt: valid | test
    join: Optional[str] = None  # 1bw: how sentences form the stream
    stopword_topk: Optional[int] = None  # lambada: first tokens tried by the stop-word filter
    lambada_format: Optional[str] = None  # lambada: openai | as-is | lm-eval | bflm
    stopword_filter: Optional[str] = None  # lambada: word | token (bflm)
    stopwords: Optional[str] = None  # lambada: nltk179 | nltk127
    stopword_steps: Optional[int] = None  # lambada, token filter: tokens generated (bflm: 6)
    lambada_match: Optional[str] = None  # lambada: bare | bert (how a predicted word is compared)
    cbt_join: Optional[str] = None  # cbt: space | newline
    word_count: Optional[str] = None  # ptb, wikitext: paper | megatron (the denominator's words)
    word_divisor: Optional[str] = None  # ptb, wikitext: words | words-1 (Megatron: the first word is not predicted)


@dataclass(frozen=True)
class RunConfig:
    """How a run is carried out: never what it computes (a cached unit is bit-identical)."""

    cache: bool = True  # keep finished work units, so a killed run resumes where it stopped
    cache_dir: Optional[str] = None  # None: beside the output
    unit_tokens: int = 8192  # input tokens per work unit: at most this much work is lost to a kill
