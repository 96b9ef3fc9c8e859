"""Click options mirroring the config dataclasses one-to-one, shared by every command.

The task options are not written here: each task declares its own
(``gpt2eval.engine.options``), and a command built with ``cls=TaskCommand`` gets one flag
per declared option of the registered tasks (``task_option_params``).
"""
from __future__ import annotations

import functools
from dataclasses import fields

import click
from click.core import ParameterSource

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

    return list(dict.fromkeys(canonical_name(t) for t in given_names(task_names, tasks)))


def given_names(task_names, tasks) -> list[str]:
    """The task names as typed (lm-eval's aliases kept: they may imply a preset)."""
    given = [*task_names, *(t for t in (tasks or "").split(","))]
    names = [t.strip() for t in given if t.strip()]
    if not names:
        raise UsageError("no task given: pass --task NAME or --tasks a,b (`gpt2eval tasks` lists them)")
    return names


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
            click.option("--last-window", type=click.Choice(["right", "stride"]), default=None,
                         help="Streams: the final window right-aligned to the end (lm-eval) or at its multiple of the stride, shorter (Megatron-LM) [default: the preset's; paper: right]."),
            click.option("--batch-size", type=BatchSize(), default=1, show_default=True,
                         help="Windows per forward pass, or auto: the largest that fits, halving from 64 (GPU) or 8 (CPU) on out-of-memory."),
        ]
    ):
        f = option(f)
    return f


def data_options(f):
    for option in reversed(
        [
            click.option("--preset", type=click.Choice(PRESETS), default=None, help="Fill the options not given as this peer does (bflm: LAMBADA only) [default: paper]."),
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


# Run options renamed so that "unit" is only the metric's denominator (--unit) and "cache"
# never reads as the hub's download cache: (new flag, old flag, dataclass field).
RENAMED = (
    ("--resume", "--cache", "resume"),
    ("--no-resume", "--no-cache", "resume"),
    ("--store-dir", "--cache-dir", "store_dir"),
    ("--work-unit-tokens", "--unit-tokens", "work_unit_tokens"),
)


def run_options(f):
    """How the work is carried out (``RunConfig``), plus the old spellings as hidden aliases."""
    @functools.wraps(f)
    def command(*args, **kwargs):
        for field in {field for _, _, field in RENAMED}:
            old = kwargs.pop(f"deprecated_{field}")
            if old is None:
                continue
            new = next(n for n, o, fld in RENAMED if fld == field and o == old[0])
            if click.get_current_context().get_parameter_source(field) is not ParameterSource.DEFAULT:
                raise UsageError(f"{old[0]} is the old name of {new}: pass only {new}")
            kwargs[field] = old[1]
        return f(*args, **kwargs)

    for option in reversed(
        [
            click.option("--resume/--no-resume", default=True, show_default=True,
                         help="Keep each finished work unit in the work-unit store (gpt2eval-cache.sqlite), so that a "
                              "killed run, rerun the same way, resumes where it stopped; --no-resume keeps nothing."),
            click.option("--store-dir", type=click.Path(file_okay=False), default=None,
                         help="Folder of the work-unit store [default: beside the output]."),
            click.option("--work-unit-tokens", type=click.IntRange(min=1), default=8192, show_default=True,
                         help="Input tokens per work unit: the most a kill can lose."),
            _deprecated("--cache/--no-cache", "resume", lambda v: "--resume" if v else "--no-resume"),
            _deprecated("--cache-dir", "store_dir", "--store-dir", type=click.Path(file_okay=False)),
            _deprecated("--unit-tokens", "work_unit_tokens", "--work-unit-tokens", type=click.IntRange(min=1)),
        ]
    ):
        command = option(command)
    return command


def _deprecated(flags: str, field: str, new, **kwargs):
    """A hidden old spelling: still works, with one line on stderr naming the new one.

    Its value reaches the command as ``deprecated_<field>``: ``(old flag as given, value)``.
    """
    def warn(ctx, param, value):
        if value is None:
            return None
        old = flags.split("/")[0] if value is not False else flags.split("/")[1]
        click.echo(f"warning: {old} is deprecated: use {new(value) if callable(new) else new}", err=True)
        return (old, value)

    return click.option(flags, f"deprecated_{field}", default=None, hidden=True, callback=warn, **kwargs)


def build(cls, opts: dict):
    """A config dataclass from the click options that share its field names (and, for the
    data config, the task options given)."""
    values = {f.name: opts[f.name] for f in fields(cls) if f.name in opts}
    if cls is DataConfig:
        values["options"] = given_task_options(opts)
    return cls(**values)
