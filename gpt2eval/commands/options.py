"""Click options mirroring the config dataclasses one-to-one, shared by every command.

The task options are not written here: each task declares its own
(``gpt2eval.engine.options``), and a command built with ``cls=TaskCommand`` gets one flag
per declared option of the registered tasks (``task_option_params``).
"""
from __future__ import annotations

from dataclasses import fields

import click

from gpt2eval.commands.task_options import given_task_options
from gpt2eval.config import PRESETS, DataConfig, ModelConfig
from gpt2eval.errors import UsageError

# lm-eval's and torch's short names for the dtypes.
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


LIMIT_HELP = ("Only the first N documents (quick looks; marked † as not comparable). A document is a LAMBADA "
              "passage, a CBT question, a WikiText article, a PTB or 1BW sentence, a 100,000-byte enwik8 or "
              "100,000-character text8 chunk; so --limit 10 is 250 tokens of PTB but 50,701 of WikiText-2. "
              "The run prints the tokens it kept.")


def _dtype(ctx, param, value):
    return DTYPE_ALIASES.get(value, value)


class BatchSize(click.ParamType):
    """A positive int, or ``auto``: the largest batch that fits (gpt2eval.engine.autobatch)."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            self.fail(f"{value!r} is not a positive integer or 'auto'", param, ctx)
        return size


def task_list(task_names, tasks) -> list[str]:
    """The tasks of repeated ``--task`` and comma-separated ``--tasks``, aliases resolved,
    each once, in the order given."""
    from gpt2eval.registry import canonical_name

    given = [*task_names, *(t for t in (tasks or "").split(","))]
    names = [canonical_name(t.strip()) for t in given if t.strip()]
    if not names:
        raise UsageError("no task given: pass --task NAME or --tasks a,b (`gpt2eval tasks` lists them)")
    return list(dict.fromkeys(names))


def model_options(f):
    for option in reversed(
        [
            click.option("--model", default=ModelConfig.model, show_default=True, help="Hub id or local directory."),
            click.option("--revision", default=None, help="Hub revision (branch, tag or commit)."),
            click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"),
            click.option(
                "--dtype",
                type=click.Choice(["auto", "float32", "bfloat16", "float16", *DTYPE_ALIASES]),
                default="auto",
                show_default=True,
                callback=_dtype,
                help="auto: float32 on CPU, bfloat16 on a GPU that supports it (fp32, bf16, fp16 also accepted).",
            ),
            click.option("--trust-remote-code", is_flag=True, help="Allow code from the model repo to run."),
        ]
    ):
        f = option(f)
    return f


def window_options(f):
    for option in reversed(
        [
            click.option("--max-length", type=int, default=None, help="Window length L [default: model context]."),
            click.option("--stride", type=int, default=None, help="Stride S <= L [default: L, disjoint windows]."),
            click.option("--eos-prefix/--no-eos-prefix", default=None, help="Start streams with <|endoftext|> [default: the preset's; paper: yes]."),
            click.option("--batch-size", type=BatchSize(), default=1, show_default=True,
                         help="Windows per forward pass, or auto: the largest that fits, halving from 64 (GPU) or 8 (CPU) on out-of-memory."),
        ]
    ):
        f = option(f)
    return f


def data_options(f):
    for option in reversed(
        [
            click.option("--preset", type=click.Choice(PRESETS), default=None, help="Fill the options not given as this peer does [default: paper]."),
            click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Original files, laid out like shared/data [default: the hub]."),
            click.option("--data-file", type=click.Path(dir_okay=False), default=None, help="One file (task text; pre-split enwik8/text8)."),
            click.option("--limit", type=int, default=None, help=LIMIT_HELP),
            click.option("--detokenizer", type=click.Choice(["default", "none", "megatron"]), default=None, help="none: score the original tokenized text; megatron: Megatron-LM's (not invertible) [default: the preset's; paper: default]."),
            click.option("--allow-data-mismatch", is_flag=True, help="Score data whose sha256 differs from the published one (marked † everywhere)."),
            click.option("--exclude-overlap", type=click.Path(dir_okay=False), default=None, help="An overlap JSON (gpt2eval overlap): score only documents that do not overlap."),
        ]
    ):
        f = option(f)
    return f


def run_options(f):
    for option in reversed(
        [
            click.option("--cache/--no-cache", default=True, show_default=True, help="Keep finished work units: a killed run resumes where it stopped."),
            click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Where the work-unit cache lives [default: beside the output]."),
            click.option("--unit-tokens", type=click.IntRange(min=1), default=8192, show_default=True, help="Input tokens per work unit (what a kill can lose)."),
        ]
    ):
        f = option(f)
    return f


def build(cls, opts: dict):
    """A config dataclass from the click options that share its field names (and, for the
    data config, the task options given)."""
    values = {f.name: opts[f.name] for f in fields(cls) if f.name in opts}
    if cls is DataConfig:
        values["options"] = given_task_options(opts)
    return cls(**values)
